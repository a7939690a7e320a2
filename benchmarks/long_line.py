"""Peak memory of `curate poems clean` on a JSONL file with one huge line, against the same file
without it: `--max-chars` rejects the line `too_long` while reading it in pieces, so the peak
stays that of a normal run.

    python benchmarks/long_line.py [--rows 3000] [--line-mb 50] [--without-limit]

Each run is `/usr/bin/time -v python -m curate poems clean FILE --out DIR --json` in a fresh
process; the table gives its maximum resident set size, CPU seconds and the manifest's counts.
`--without-limit` adds a run with a limit above the line's length (what happened before the limit).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "poems"
FILLER = "the quiet river bends beneath the morning light and carries every song away "


def sample_texts() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted(SAMPLES.glob("**/*.txt"))]


def write_corpus(path: Path, rows: int, line_bytes: int = 0) -> Path:
    """`rows` poems from samples/poems (numbered, so they are not all duplicates), and with
    `line_bytes`, one line of about that many bytes in the middle."""
    texts = sample_texts()
    with path.open("w", encoding="utf-8") as handle:
        for number in range(rows):
            if line_bytes and number == rows // 2:
                huge = (FILLER * (line_bytes // len(FILLER) + 1))[:line_bytes]
                handle.write(json.dumps({"id": "huge", "text": huge}) + "\n")
            text = f"{texts[number % len(texts)]}\n{number}"
            handle.write(json.dumps({"id": f"poem-{number}", "text": text}, ensure_ascii=False) + "\n")
    return path


def measure(corpus: Path, out: Path, extra: list[str]) -> dict:
    """One `curate poems clean` run under `/usr/bin/time -v`."""
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "curate", "poems", "clean", str(corpus),
               "--out", str(out), "--json", "--no-resume", *extra]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    timing = dict(re.findall(r"^\s*(.+?): (.+)$", done.stderr, re.MULTILINE))
    manifest = json.loads((out / "manifest.json").read_text())
    read = next(stage for stage in manifest["stages"] if stage["name"] == "read")
    return {"peak_mib": int(timing["Maximum resident set size (kbytes)"]) / 1024,
            "cpu_s": float(timing["User time (seconds)"]) + float(timing["System time (seconds)"]),
            "rows_in": manifest["rows_in"], "kept": manifest["rows_kept"],
            "too_long": read["reasons"].get("too_long", 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000, help="Normal poems in each file")
    parser.add_argument("--line-mb", type=float, default=50.0, help="Size of the huge line in MB")
    parser.add_argument("--without-limit", action="store_true",
                        help="Also run with --max-chars above the line's length")
    args = parser.parse_args()
    line_bytes = int(args.line_mb * 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        normal = write_corpus(folder / "normal.jsonl", args.rows)
        huge = write_corpus(folder / "huge.jsonl", args.rows, line_bytes)
        runs = [("normal", normal, []), (f"+ one {args.line_mb:g} MB line", huge, [])]
        if args.without_limit:
            runs.append((f"+ one {args.line_mb:g} MB line, --max-chars {line_bytes + 1}", huge,
                         ["--max-chars", str(line_bytes + 1)]))
        results = [(name, measure(corpus, folder / f"out{i}", extra))
                   for i, (name, corpus, extra) in enumerate(runs)]
    base = results[0][1]["peak_mib"]
    print(f"{'input':<48} {'rows in':>8} {'kept':>6} {'too_long':>8} {'peak RSS MiB':>12} {'x normal':>8} "
          f"{'CPU s':>6}")
    for name, row in results:
        print(f"{name:<48} {row['rows_in']:>8,} {row['kept']:>6,} {row['too_long']:>8} "
              f"{row['peak_mib']:>12.0f} {row['peak_mib'] / base:>8.2f} {row['cpu_s']:>6.1f}")


if __name__ == "__main__":
    main()
