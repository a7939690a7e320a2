"""Throughput of the poem clean stage (footer, English, form, duplicates) by engine and workers.

    python benchmarks/scale.py [--corpus ../shared/data/kaggle-poems-forms] [--copies 8] [--repeats 3]

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
# (engine, workers, threads per worker): 0 = the engine's default (a lone worker's polars uses every
# core); the 1-thread single worker is the per-core rate the 2 workers (1 thread each) are held to.
CONFIGS = [("local", 1, 0), ("local", 1, 1), ("local", 2, 0), ("ray", 2, 0)]


def replicate(corpus: Path, copies: int, root: Path) -> Path:
    for path in sorted((corpus / "forms").glob("*/*.txt")):
        folder = root / "forms" / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        for copy in range(copies):
            (folder / path.name.replace("Poemby", f"Copy{copy}Poemby")).symlink_to(path)
    return root


def measure(corpus: Path, engine: str, workers: int, threads: int, out: Path) -> dict:
    """One run of `curate poems clean` in a fresh process, with peak memory of the whole tree."""
    command = [sys.executable, "-c", "from curate import main; main()", "poems", "clean", str(corpus),
               "--out", str(out), "--engine", engine, "--workers", str(workers), "--no-resume", "--json"]
    started = time.perf_counter()
    env = {**os.environ, **({"POLARS_MAX_THREADS": str(threads)} if threads else {})}
    process = psutil.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
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
    return {"config": (engine, workers, threads), "engine": engine, "workers": workers,
            "threads": threads or "all", "poems": manifest["rows_in"], "seconds": seconds,
            "rate": manifest["rows_in"] / seconds, "peak_gib": peak[0] / 2**30, "kept": manifest["rows_kept"]}


def median_run(runs: list[dict]) -> dict:
    """The run with the median time, plus the spread of all of them."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    spread = f"{ordered[0]['seconds']:.1f}-{ordered[-1]['seconds']:.1f}"
    return {**ordered[len(ordered) // 2], "spread": spread}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "kaggle-poems-forms")
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="Runs per configuration, interleaved; "
                        "the median is reported (a shared or virtual machine's speed drifts)")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}, cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = replicate(args.corpus.resolve(), args.copies, Path(tmp) / "corpus")
        runs = [measure(corpus, engine, workers, threads, Path(tmp) / f"{engine}{workers}")
                for _ in range(args.repeats) for engine, workers, threads in CONFIGS]
    results = [median_run([r for r in runs if r["config"] == config]) for config in CONFIGS]
    print(f"{'engine':<8}{'workers':>8}{'threads':>8}{'poems':>9}{'seconds':>9}{'poems/s':>10}"
          f"{'peak GiB':>10}{'kept':>8}  runs (s)")
    for r in results:
        print(f"{r['engine']:<8}{r['workers']:>8}{r['threads']:>8}{r['poems']:>9,}{r['seconds']:>9.1f}"
              f"{r['rate']:>10,.0f}{r['peak_gib']:>10.2f}{r['kept']:>8,}  {r['spread']}")
    rate = {r["config"]: r["rate"] for r in results}
    two = rate["local", 2, 0]
    print(f"scaling efficiency (local, medians of {args.repeats}), target >= 0.8: "
          f"{two / (2 * rate['local', 1, 0]):.2f} against one worker using every core, "
          f"{two / (2 * rate['local', 1, 1]):.2f} against one single-threaded worker")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
