"""Assemble the held-out multilingual sentence corpus for the English filter.

Reads the sources fetched by `install_sources.sh` (GNOME Help, Firefox language packs, Debian fortune
files, the UDHR) and the project's English data under SHARED_DATA, then writes
`<cache>/sentences.parquet` with columns lang, text, source, split and prints a per-language table.

Rules, in order:
1. Passages are split into sentences after . ! ? … (followed by space) and after 。！？।॥؟۔.
2. A sentence is dropped if it looks like code or markup (URL, e-mail, path, option flag, braces,
   `= < > _ \\ | # $ %`, `()`, dotted identifiers, file extensions), or if fewer than half of
   its letters are in the language's script.
3. Length: 3..60 words (word = whitespace token with a letter); for zh/ja/th, which do not separate
   words with spaces, 6..150 letters.
4. Untranslated English is removed from non-English languages: a sentence equal (case- and
   space-insensitive) to any English sentence of any source is dropped, and a Firefox string that is
   80 %-similar to the en-GB string with the same id is dropped before splitting.
5. Deduplication: one copy per (lang, text); a text found under two languages is dropped from both.
6. split = "test" if the first byte of sha1(lang + text) is even, else "dev" (deterministic).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sources import (  # noqa: E402
    FIREFOX_LANGS,
    FORTUNE_PACKAGES,
    Passage,
    read_firefox_l10n,
    read_fortunes,
    read_gnome_help,
    read_poem_descriptions,
    read_tweets,
    read_udhr,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_HINT = "run: bash benchmarks/multilingual/install_sources.sh"
NO_SPACE_LANGS = {"zh", "ja", "th"}
SCRIPTS = {
    "ar": {"ARABIC"}, "fa": {"ARABIC"}, "ur": {"ARABIC"}, "he": {"HEBREW"},
    "hi": {"DEVANAGARI"}, "mr": {"DEVANAGARI"}, "bn": {"BENGALI"}, "ta": {"TAMIL"}, "te": {"TELUGU"},
    "el": {"GREEK"}, "ru": {"CYRILLIC"}, "uk": {"CYRILLIC"}, "sr": {"CYRILLIC"},
    "zh": {"CJK"}, "ja": {"CJK", "HIRAGANA", "KATAKANA"}, "ko": {"HANGUL"}, "th": {"THAI"},
}
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)|(?<=[。！？।॥؟۔])\s*")
CODE_LIKE = re.compile(
    r"https?://|www\.|\S@\S+\.\w|[{}<>=_\\|#$%]|\(\)|(^|\s)--?[A-Za-z]|\w/\w+/|~/|"
    r"\.(py|sh|conf|txt|html|xml|png|jpg|desktop|js|json)\b|[a-z]\.[a-z]+\.[a-z]"
)


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def split_sentences(text: str) -> Iterator[str]:
    text = " ".join(unicodedata.normalize("NFC", text).split())
    for sentence in SENTENCE_END.split(text):
        sentence = sentence.strip(" \t-–—•*\"'“”„«»")
        if sentence:
            yield sentence


def script_share(text: str, lang: str) -> float:
    """Share of letters in the language's script (Latin for languages not in SCRIPTS)."""
    scripts = SCRIPTS.get(lang.split("-")[0], {"LATIN"}) if not lang.endswith("-Latn") else {"LATIN"}
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    hits = sum(1 for c in letters if unicodedata.name(c, "?").split(" ")[0] in scripts)
    return hits / len(letters)


def length_ok(text: str, lang: str) -> bool:
    if lang in NO_SPACE_LANGS:
        return 6 <= sum(c.isalpha() for c in text) <= 150
    words = [token for token in text.split() if any(c.isalpha() for c in token)]
    return 3 <= len(words) <= 60


def keep_sentence(text: str, lang: str) -> bool:
    return not CODE_LIKE.search(text) and length_ok(text, lang) and script_share(text, lang) >= 0.5


def drop_untranslated_firefox(passages: list[Passage]) -> list[Passage]:
    """Drop Firefox strings whose text is 80 %-similar to the en-GB string with the same id."""
    english = {p.key: normalise(p.text) for p in passages if p.source == "firefox-l10n" and p.lang == "en"}
    kept = []
    for passage in passages:
        reference = english.get(passage.key) if passage.source == "firefox-l10n" else None
        if passage.lang != "en" and reference is not None:
            matcher = difflib.SequenceMatcher(None, normalise(passage.text), reference, autojunk=False)
            if matcher.real_quick_ratio() >= 0.8 and matcher.quick_ratio() >= 0.8 and matcher.ratio() >= 0.8:
                continue
        kept.append(passage)
    return kept


def read_all(cache: Path, shared_data: Path) -> list[Passage]:
    sources, udhr = cache / "sources", cache / "udhr"
    needed = ["gnome-user-docs", *FORTUNE_PACKAGES, *(f"firefox-esr-l10n-{code}" for code in FIREFOX_LANGS)]
    missing = [p for p in [udhr / "package", *(sources / name for name in needed)] if not p.exists()]
    if missing:
        raise SystemExit(f"missing source {missing[0]}; {INSTALL_HINT}")
    readers: list[Iterable[Passage]] = [
        read_gnome_help(sources), read_firefox_l10n(sources), read_fortunes(sources), read_udhr(udhr),
    ]
    if (shared_data / "ua-image-text-poem").exists():
        readers += [read_poem_descriptions(shared_data), read_tweets(shared_data)]
    else:
        print(f"warning: {shared_data} not found; English comes from the package sources only")
    return [passage for reader in readers for passage in reader]


def sentence_rows(passages: list[Passage]) -> pl.DataFrame:
    rows = {"lang": [], "text": [], "source": []}
    for passage in drop_untranslated_firefox(passages):
        for sentence in split_sentences(passage.text):
            if keep_sentence(sentence, passage.lang):
                rows["lang"].append(passage.lang)
                rows["text"].append(sentence)
                rows["source"].append(passage.source)
    return pl.DataFrame(rows)


def split_of(lang: str, text: str) -> str:
    return "test" if hashlib.sha1(f"{lang}\t{text}".encode()).digest()[0] % 2 == 0 else "dev"


def clean_and_split(frame: pl.DataFrame) -> pl.DataFrame:
    frame = frame.with_columns(norm=pl.col("text").map_elements(normalise, return_dtype=pl.String))
    english = set(frame.filter(pl.col("lang") == "en")["norm"].to_list())
    frame = frame.filter((pl.col("lang") == "en") | ~pl.col("norm").is_in(list(english)))
    frame = frame.unique(["lang", "norm"], keep="first", maintain_order=True)
    frame = frame.filter(pl.col("lang").n_unique().over("norm") == 1)
    splits = [split_of(lang, text) for lang, text in frame.select("lang", "text").iter_rows()]
    return frame.with_columns(split=pl.Series(splits, dtype=pl.String)).drop("norm")


def print_counts(frame: pl.DataFrame) -> None:
    counts = frame.group_by("lang").agg(
        total=pl.len(),
        dev=(pl.col("split") == "dev").sum(),
        test=(pl.col("split") == "test").sum(),
        sources=pl.col("source").unique().sort().str.join(","),
    ).sort("lang")
    table = Table(title=f"multilingual corpus: {frame.height} sentences, {counts.height} languages")
    for column in ("lang", "total", "dev", "test", "sources"):
        table.add_column(column, justify="left" if column in ("lang", "sources") else "right")
    for row in counts.iter_rows():
        style = "yellow" if row[3] < 1000 else None
        table.add_row(*(str(v) for v in row), style=style)
    Console().print(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "MULTILINGUAL_CACHE", REPO_ROOT / ".cache/multilingual")))
    parser.add_argument("--shared-data", type=Path, default=Path(os.environ.get(
        "SHARED_DATA", REPO_ROOT.parent / "shared/data")))
    args = parser.parse_args(argv)
    frame = clean_and_split(sentence_rows(read_all(args.cache, args.shared_data)))
    out = args.cache / "sentences.parquet"
    frame.write_parquet(out)
    print_counts(frame)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
