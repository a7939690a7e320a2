"""Make the public-domain samples that `make demo` ships (run once by a maintainer; the output is
committed, so the demo needs neither this script nor ../shared).

- samples/poems/forms/: poems from the Kaggle poems-by-form corpus (poemhunter.com) whose authors
  died before 1925, at most --per-author each and at most --max-words words long; any poemhunter
  note after a ` - - - ` line and any `©` line are dropped, then a `©` footer and an author note
  are added to every --footer-every-th poem so the cleaner has something to remove.
- samples/reference/psalms-kjv.jsonl: the 150 Psalms of the King James Version (1611), one text
  each, as the length reference of the aligned revisions. They come from Debian's `bible-kjv`
  package (`apt-get install bible-kjv`).

    python scripts/make_demo_sample.py --corpus ../shared/data/kaggle-poems-forms
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Authors (as the corpus spells them in file names) and their year of death: all before 1925, so
# their poems are in the public domain in the US and in every life+70 country.
DIED = {
    "AdelaideCrapsey": 1914, "AlexanderPope": 1744, "AlfredLordTennyson": 1892,
    "AlgernonCharlesSwinburne": 1909, "AmyLevy": 1889, "AndrewLang": 1912, "AndrewMarvell": 1678,
    "AnnaLaetitiaBarbauld": 1825, "AnneKilligrew": 1685, "AnneKingsmillFinch": 1720,
    "ArchibaldLampman": 1899, "BenJonson": 1637, "ChristinaGeorginaRossetti": 1894,
    "ChristopherMarlowe": 1593, "DanteGabrielRossetti": 1882, "EdgarAllanPoe": 1849,
    "EdmundSpenser": 1599, "EdwardLear": 1888, "ElizabethBarrettBrowning": 1861,
    "EllaWheelerWilcox": 1919, "ErnestChristopherDowson": 1900, "EugeneField": 1895,
    "FeliciaDorotheaHemans": 1835, "GeoffreyChaucer": 1400, "GeorgeGordonByron": 1824,
    "GeorgeWither": 1667, "HenryAustinDobson": 1921, "HenryKing": 1669, "HenryLawson": 1922,
    "HenryWadsworthLongfellow": 1882, "IsaacWatts": 1748, "JamesRussellLowell": 1891, "JohnDonne": 1631,
    "JohnDryden": 1700, "JohnGay": 1732, "JohnGreenleafWhittier": 1892, "JohnKeats": 1821,
    "JohnMilton": 1674, "JonathanSwift": 1745, "LadyMaryWortleyMontagu": 1762, "LewisCarroll": 1898,
    "MarkAkenside": 1770, "MaryBarber": 1755, "MaryDarbyRobinson": 1800, "MatthewPrior": 1721,
    "MildmayFane": 1666, "NicholasBreton": 1626, "OliverGoldsmith": 1774, "OscarWilde": 1900,
    "PaulLaurenceDunbar": 1906, "PercyByssheShelley": 1822, "PhillisWheatley": 1784,
    "RalphWaldoEmerson": 1882, "RobertBrowning": 1889, "RobertBurns": 1796, "RobertHerrick": 1674,
    "RobertLouisStevenson": 1894, "RobertSouthey": 1843, "SamuelTaylorColeridge": 1834,
    "SidneyLanier": 1881, "SirWalterRaleigh": 1618, "SirWalterScott": 1832, "ThomasChatterton": 1770,
    "ThomasGray": 1771, "ThomasHood": 1845, "ThomasMoore": 1852, "ThomasParnell": 1718,
    "WaltWhitman": 1892, "WalterSavageLandor": 1864, "WilfredOwen": 1918, "WilliamCollins": 1759,
    "WilliamCowper": 1800, "WilliamCullenBryant": 1878, "WilliamErnestHenley": 1903,
    "WilliamShakespeare": 1616, "WilliamShenstone": 1763, "WilliamStrode": 1645,
    "WilliamTopazMcGonagall": 1902, "WilliamWordsworth": 1850,
}
AUTHOR = re.compile(r"Poemby(?P<author>[^/]+)\.txt$")
NOTE_LINE = re.compile(r"^\s*-\s+-\s+-\s*$")
DEMO_NOTE = ("- - -\nNote added for the aesthetic-curation demo: this line and everything below it are "
             "an author's note, which `curate poems clean` moves to `removed_text`.")


def public_domain_text(raw: str) -> str:
    """The poem without poemhunter's notes (after a ` - - - ` line) or copyright lines."""
    lines = []
    for line in raw.splitlines():
        if NOTE_LINE.match(line):
            break
        if "©" not in line:
            lines.append(line.rstrip())
    return "\n".join(lines).strip() + "\n"


def author_words(author: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", author)


def select_poems(corpus: Path, per_author: int, max_words: int) -> list[Path]:
    """At most `per_author` poems of each public-domain author, in file-name order."""
    chosen: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(corpus.glob("forms/*/*.txt")):
        match = AUTHOR.search(path.name)
        if not match or match["author"] not in DIED or len(chosen[match["author"]]) >= per_author:
            continue
        if len(path.read_text(encoding="utf-8", errors="replace").split()) <= max_words:
            chosen[match["author"]].append(path)
    return [p for paths in chosen.values() for p in paths]


def write_poems(paths: list[Path], out: Path, footer_every: int) -> int:
    for index, path in enumerate(sorted(paths, key=lambda p: (p.parent.name, p.name))):
        text = public_domain_text(path.read_text(encoding="utf-8", errors="replace"))
        if footer_every and index % footer_every == 0:
            author = author_words(AUTHOR.search(path.name)["author"])
            text += f"© {author}\n" if index % (2 * footer_every) == 0 else f"{DEMO_NOTE}\n"
        target = out / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return len(paths)


def psalms() -> list[dict]:
    """The 150 Psalms (KJV) from Debian's `bible` program, one text per psalm."""
    rows = []
    for number in range(1, 151):
        printed = subprocess.run(["bible", f"Ps{number}:1-176"], capture_output=True, text=True,
                                 check=True).stdout
        lines = [line.strip() for line in printed.splitlines()[1:] if line.strip()]
        text = re.sub(r"(^|\s)\d+\s", r"\1", " ".join(lines[1:] if lines[0].startswith("Psalms") else lines))
        rows.append({"id": f"psalm-{number}", "text": text.strip()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared/data/kaggle-poems-forms")
    parser.add_argument("--per-author", type=int, default=6)
    parser.add_argument("--max-words", type=int, default=1500)
    parser.add_argument("--footer-every", type=int, default=9)
    args = parser.parse_args()
    count = write_poems(select_poems(args.corpus, args.per_author, args.max_words),
                        REPO / "samples/poems/forms", args.footer_every)
    reference = REPO / "samples/reference/psalms-kjv.jsonl"
    reference.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in psalms())
    reference.write_text("".join(lines), encoding="utf-8")
    print(f"{count} poems -> samples/poems/forms; 150 psalms -> {reference.relative_to(REPO)}")


if __name__ == "__main__":
    main()
