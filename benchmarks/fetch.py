"""Image downloads with validation: ours (`curate posts clean --no-models`) against img2dataset.

Both tools fetch the same local URLs from one image server process on 127.0.0.1 (JPEGs of
320-900 px; 2% faults: missing (404), truncated, not an image), decode every image to validate it,
and drop images under 64 px or with an aspect ratio over 4. Configurations alternate, round after
round, so that load from other work on the machine falls on both alike. Each run is timed from start
to exit; CPU seconds and peak memory (the sum of PSS over the tool's processes, sampled every
50 ms) cover the tool's process tree, not the server.

img2dataset is installed for the benchmark only, in its own virtual environment (never the
project's); this script installs nothing:

    python3 -m venv /work/venvs/downloader && /work/venvs/downloader/bin/pip install img2dataset

    python benchmarks/fetch.py                                  # 3,000 URLs, 3 rounds
    python benchmarks/fetch.py --images 600 --rounds 1 --img2dataset /path/to/venv/bin/img2dataset

Ours runs every consent check it runs by default (robots.txt and /.well-known/tdmrep.json are
requested once for the host; the server answers 404, which allows everything).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_IMG2DATASET = "/work/venvs/downloader/bin/img2dataset"
FAULTS = {"missing": 0.007, "truncated": 0.007, "not_an_image": 0.006}
OURS = {
    "ours, defaults": [],
    "ours --workers 2": ["--workers", "2"],
    "ours --download-workers 32": ["--download-workers", "32"],
}
THEIRS = {  # 3,000 URLs are one shard at its default of 10,000 a shard: a second process needs smaller ones
    "img2dataset, defaults": [],
    "img2dataset 2 processes x 32 threads": ["--processes_count", "2", "--thread_count", "32",
                                             "--number_sample_per_shard", "500"],
    "img2dataset 2 x 64, no EXIF": ["--processes_count", "2", "--thread_count", "64",
                                    "--number_sample_per_shard", "500", "--extract_exif", "False"],
}


def write_corpus(folder: Path, count: int, seed: int = 0) -> list[str]:
    """`count` JPEG files under folder/media (a share of them faulty); returns the served names."""
    from curation.testing.image_server import synthetic_image

    rng = random.Random(seed)
    order = list(range(count))
    rng.shuffle(order)
    faults, start = {}, 0
    for fault, share in FAULTS.items():
        take = round(share * count)
        faults |= dict.fromkeys(order[start:start + take], fault)
        start += take
    (folder / "media").mkdir(parents=True)
    names = []
    for index in range(count):
        name = f"{index:06d}.jpg"
        names.append(name)
        fault = faults.get(index)
        if fault == "missing":
            continue
        body = synthetic_image(rng.randrange(320, 900), rng.randrange(240, 900), index, "JPEG", quality=85)
        if fault == "truncated":
            body = body[: len(body) // 2]
        elif fault == "not_an_image":
            body = b"<html><body>gone</body></html>"
        (folder / "media" / name).write_bytes(body)
    return names


def start_server(root: Path) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen([sys.executable, "-m", "curation.testing.image_server", "--root", str(root),
                               "--port", "0"], stdout=subprocess.PIPE, text=True, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    line = server.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if match is None:
        server.kill()
        raise SystemExit(f"the image server did not start: {line!r}")
    return server, match.group(1)


@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    peak_mb: float
    kept: int


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak PSS (MB) of a command and every process it starts."""
    started = time.perf_counter()
    process = psutil.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cpu: dict[int, float] = {}
    peak = 0
    while process.poll() is None:
        total = 0
        try:
            tree = [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for member in tree:
            try:
                with member.oneshot():
                    times = member.cpu_times()
                    cpu[member.pid] = times.user + times.system
                    total += member.memory_full_info().pss
            except psutil.Error:
                continue
        peak = max(peak, total)
        time.sleep(0.05)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        error = process.stderr.read().decode()[-2000:]
        raise SystemExit(f"{command[0]} failed ({process.returncode}): {error}")
    return wall, sum(cpu.values()), peak / 1e6


def run_ours(posts: Path, out: Path, options: list[str]) -> Measured:
    command = [sys.executable, "-m", "curate", "posts", "clean", str(posts), "--out", str(out), "--no-models",
               "--json", "--allow-private-hosts", "127.0.0.1/32", *options]
    wall, cpu, peak = measure(command, {**os.environ, "PYTHONPATH": str(REPO)})
    manifest = json.loads((out / "manifest.json").read_text())
    return Measured(wall, cpu, peak, manifest["stages"][3]["kept"])  # read, duplicates, fetch, decode


def run_img2dataset(binary: str, urls: Path, out: Path, options: list[str]) -> Measured:
    command = [binary, "--url_list", str(urls), "--input_format", "txt", "--output_folder", str(out),
               "--output_format", "files", "--resize_mode", "no", "--skip_reencode", "True",
               "--min_image_size", "64", "--max_aspect_ratio", "4", "--timeout", "10", *options]
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    wall, cpu, peak = measure(command, env)
    stats = [json.loads(p.read_text()) for p in out.glob("*_stats.json")]
    return Measured(wall, cpu, peak, sum(s["successes"] for s in stats))


def write_inputs(folder: Path, base_url: str, names: list[str]) -> tuple[Path, Path]:
    urls = [f"{base_url}/media/{name}" for name in names]
    (folder / "urls.txt").write_text("\n".join(urls) + "\n")
    with open(folder / "posts.jsonl", "w") as handle:
        for index, url in enumerate(urls):
            handle.write(json.dumps({"post_id": str(10**18 + index), "author": f"a{index % 97}",
                                     "text": "art", "like_count": 10 + index, "image_url": url}) + "\n")
    return folder / "urls.txt", folder / "posts.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--img2dataset", default=DEFAULT_IMG2DATASET, help="img2dataset in its own venv")
    args = parser.parse_args()
    if not Path(args.img2dataset).is_file():
        raise SystemExit(f"img2dataset not found at {args.img2dataset}; see the set-up line in this script")

    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    results: dict[str, list[Measured]] = {name: [] for name in [*OURS, *THEIRS]}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        names = write_corpus(folder / "served", args.images)
        server, base_url = start_server(folder / "served")
        try:
            urls, posts = write_inputs(folder, base_url, names)
            for round_number in range(args.rounds):
                order = [*OURS, *THEIRS] if round_number % 2 == 0 else [*THEIRS, *OURS]
                for name in order:
                    out = folder / "out"
                    shutil.rmtree(out, ignore_errors=True)
                    if name in OURS:
                        measured = run_ours(posts, out, OURS[name])
                    else:
                        measured = run_img2dataset(args.img2dataset, urls, out, THEIRS[name])
                    results[name].append(measured)
                    console.print(f"round {round_number + 1} {name}: {args.images / measured.wall_s:,.0f} "
                                  f"img/s, {measured.cpu_s:.1f} CPU s, {measured.peak_mb:,.0f} MB, "
                                  f"kept {measured.kept}")
        finally:
            server.kill()
    print_table(results, args.images, Table, Console)


def print_table(results: dict[str, list[Measured]], images: int, table_class, console_class) -> None:
    def speed(name: str) -> float:
        return statistics.median(images / m.wall_s for m in results[name])

    table = table_class(title=f"{images:,} local URLs, 2% faults, validation on; median of "
                              f"{len(next(iter(results.values())))} alternating rounds, "
                              f"{os.cpu_count()} CPUs")
    for column in ("configuration", "img/s", "CPU s", "peak MB", "kept"):
        table.add_column(column, justify="left" if column == "configuration" else "right")
    for name, runs in results.items():
        table.add_row(name, f"{speed(name):,.0f}", f"{statistics.median(m.cpu_s for m in runs):.1f}",
                      f"{max(m.peak_mb for m in runs):,.0f}", f"{runs[0].kept:,}")
    best_ours, best_theirs = max(OURS, key=speed), max(THEIRS, key=speed)
    console = console_class(width=120)
    console.print(table)
    console.print(f"best of ours ({best_ours}) / best of img2dataset ({best_theirs}): "
                  f"{speed(best_ours) / speed(best_theirs):.2f}x images/s, peak memory "
                  f"{max(m.peak_mb for m in results[best_ours]):,.0f} vs "
                  f"{max(m.peak_mb for m in results[best_theirs]):,.0f} MB")


if __name__ == "__main__":
    main()
