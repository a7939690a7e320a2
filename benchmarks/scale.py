"""Throughput of the poem clean stage (footer, English, form, duplicates) by engine and workers.

    python benchmarks/scale.py [--corpus ../shared/data/kaggle-poems-forms] [--copies 8]

The corpus is replicated `--copies` times into a temporary forms folder (links with distinct file
names). Each configuration runs in a fresh process; peak memory is the largest resident set of
that process plus all of its children (workers, Ray processes), sampled with psutil. Scaling
efficiency = rate with 2 local workers / (2 x rate with 1).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DATA", REPO.parent / "shared" / "data"))
CONFIGS = [("local", 1), ("local", 2), ("ray", 2)]


def replicate(corpus: Path, copies: int, root: Path) -> Path:
    for path in sorted((corpus / "forms").glob("*/*.txt")):
        folder = root / "forms" / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        for copy in range(copies):
            (folder / path.name.replace("Poemby", f"Copy{copy}Poemby")).symlink_to(path)
    return root


def measure(corpus: Path, engine: str, workers: int, out: Path) -> dict:
    """One run of `curate poems clean` in a fresh process, with peak memory of the whole tree."""
    command = [sys.executable, "-c", "from curation.cli import main; main()", "poems", "clean", str(corpus),
               "--out", str(out), "--engine", engine, "--workers", str(workers), "--no-resume", "--json"]
    started = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak, stop = [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                tree = [process, *process.children(recursive=True)]
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    stop.set()
    seconds = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"{engine} x{workers} failed with exit code {process.returncode}")
    manifest = json.loads(output[output.index("{"):])
    return {"engine": engine, "workers": workers, "poems": manifest["rows_in"], "seconds": seconds,
            "rate": manifest["rows_in"] / seconds, "peak_gib": peak[0] / 2**30, "kept": manifest["rows_kept"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "kaggle-poems-forms")
    parser.add_argument("--copies", type=int, default=8)
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}, cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = replicate(args.corpus, args.copies, Path(tmp) / "corpus")
        results = [measure(corpus, engine, workers, Path(tmp) / f"{engine}{workers}")
                   for engine, workers in CONFIGS]
    print(f"{'engine':<8}{'workers':>8}{'poems':>9}{'seconds':>9}{'poems/s':>10}{'peak GiB':>10}{'kept':>8}")
    for r in results:
        print(f"{r['engine']:<8}{r['workers']:>8}{r['poems']:>9,}{r['seconds']:>9.1f}{r['rate']:>10,.0f}"
              f"{r['peak_gib']:>10.2f}{r['kept']:>8,}")
    rate = {(r["engine"], r["workers"]): r["rate"] for r in results}
    print(f"scaling efficiency (local): {rate['local', 2] / (2 * rate['local', 1]):.2f} (target >= 0.8)")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
