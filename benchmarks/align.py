"""Time and peak memory of mutual k-NN: the blocked search vs a straightforward N x N implementation.

Needs only torch and numpy. On one H100, the whole default run takes a few minutes:

    python benchmarks/align.py --device cuda,cpu

Features are random unit vectors generated on the device in chunks; model B is model A plus noise,
so the score is far from both 0 and 1. The straightforward implementation is the reference's
(full similarity, diagonal filled, argsort, N x N masks) and is tried at growing N until it runs out
of memory (on CPU it is skipped where it would need more than the available memory); it runs in
float32 like the reference, while the blocked search runs in bf16 on CUDA (float32 similarities).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.alignment.knn import auto_block_size, nearest_neighbors  # noqa: E402
from curation.alignment.metrics import overlap_counts  # noqa: E402

GIB = 2**30
DEFAULT_SIZES = {"cuda": [10_000, 20_000, 100_000, 1_000_000], "cpu": [10_000, 20_000, 50_000]}
DEFAULT_NAIVE = {"cuda": [10_000, 20_000, 50_000, 100_000], "cpu": [10_000, 20_000, 50_000]}


class PeakMemory:
    """Peak memory above the level at entry: CUDA allocator stats, or resident set size sampled on CPU."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.peak = device, 0

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            self.base, self.running = _rss(), True
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, _rss() - self.base)
            time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated() - self.base
        else:
            self.running = False
            self.thread.join()
            self.peak = max(self.peak, _rss() - self.base)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _available_bytes() -> int:
    with open("/proc/meminfo") as f:
        info = dict(line.split(":", 1) for line in f)
    return int(info["MemAvailable"].split()[0]) * 1024


def make_features(n: int, dim: int, device: torch.device, dtype: torch.dtype, noise: float = 1.0,
                  chunk: int = 65_536, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two (n, dim) unit-row feature sets, B = normalise(A + noise * G), made chunk by chunk on `device`."""
    generator = torch.Generator(device=device).manual_seed(seed)
    feats_a = torch.empty(n, dim, device=device, dtype=dtype)
    feats_b = torch.empty(n, dim, device=device, dtype=dtype)
    for start in range(0, n, chunk):
        rows = min(chunk, n - start)
        base = torch.randn(rows, dim, device=device, generator=generator)
        other = base + noise * torch.randn(rows, dim, device=device, generator=generator)
        feats_a[start:start + rows] = torch.nn.functional.normalize(base, dim=1).to(dtype)
        feats_b[start:start + rows] = torch.nn.functional.normalize(other, dim=1).to(dtype)
    return feats_a, feats_b


def blocked_mutual_knn(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int, block_size: int | None) -> float:
    nn_a = nearest_neighbors(feats_a, k, block_size=block_size)
    nn_b = nearest_neighbors(feats_b, k, block_size=block_size)
    return (overlap_counts(nn_a.indices, nn_b.indices).sum().item()) / (feats_a.shape[0] * k)


def naive_mutual_knn(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int) -> float:
    """The reference implementation: full similarity matrices, argsort, N x N masks."""
    n = feats_a.shape[0]
    masks = []
    for feats in (feats_a, feats_b):
        knn = (feats @ feats.T).fill_diagonal_(-1e8).argsort(dim=1, descending=True)[:, :k]
        mask = torch.zeros(n, n, device=feats.device)
        mask[torch.arange(n, device=feats.device).unsqueeze(1), knn] = 1.0
        masks.append(mask)
        del knn
    return ((masks[0] * masks[1]).sum(dim=1) / k).mean().item()


def timed(device: torch.device, fn, *args) -> tuple[float, float, float]:
    with PeakMemory(device) as memory:
        start = time.perf_counter()
        score = fn(*args)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return score, seconds, memory.peak / GIB


def _is_oom(error: BaseException) -> bool:
    return isinstance(error, (torch.cuda.OutOfMemoryError, MemoryError)) or "out of memory" in str(error)


def run_device(device: torch.device, sizes: list[int], naive_sizes: list[int], args) -> dict[tuple, float]:
    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32}[args.dtype or ("bf16" if device.type == "cuda"
                                                                           else "fp32")]
    card = f", {torch.cuda.get_device_name()}" if device.type == "cuda" else ""
    print(f"\n== {device.type}: D={args.dim}, k={args.k}, dtype={dtype}, "
          f"{torch.get_num_threads()} CPU threads{card}")
    print(f"{'method':<16}{'N':>10}{'block':>8}{'seconds':>10}{'peak GiB':>10}{'score':>9}")
    timings = {}
    for n in sorted(set(sizes) | set(naive_sizes)):
        feats_a, feats_b = make_features(n, args.dim, device, dtype)
        blocked_mutual_knn(feats_a[:2048], feats_b[:2048], args.k, None)  # warm-up: kernels, cuBLAS, threads
        if n in sizes:
            block = args.block_size or auto_block_size(n, 1, device)
            score, seconds, peak = timed(device, blocked_mutual_knn, feats_a, feats_b, args.k,
                                         args.block_size)
            timings[("blocked", n)] = seconds
            print(f"{'blocked':<16}{n:>10}{block:>8}{seconds:>10.3f}{peak:>10.2f}{score:>9.5f}", flush=True)
        if n in naive_sizes and not args.naive_stopped.get(device.type):
            timings.update(_run_naive(device, n, feats_a, feats_b, args))
        del feats_a, feats_b
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return timings


def _run_naive(device, n, feats_a, feats_b, args) -> dict[tuple, float]:
    needed = n * n * 40
    if device.type == "cpu" and needed > 0.7 * _available_bytes():
        print(f"{'straightforward':<16}{n:>10}{'':>8}  skipped: needs ~{needed / GIB:.0f} GiB, "
              f"{_available_bytes() / GIB:.0f} GiB available (out of memory)")
        args.naive_stopped[device.type] = True
        return {}
    try:  # in float32, as the reference computes it, whatever dtype the blocked search runs in
        score, seconds, peak = timed(device, naive_mutual_knn, feats_a.float(), feats_b.float(), args.k)
    except (RuntimeError, MemoryError) as error:
        if not _is_oom(error):
            raise
        print(f"{'straightforward':<16}{n:>10}{'':>8}  out of memory: {str(error).splitlines()[0][:70]}")
        args.naive_stopped[device.type] = True
        return {}
    print(f"{'straightforward':<16}{n:>10}{'':>8}{seconds:>10.3f}{peak:>10.2f}{score:>9.5f}", flush=True)
    return {("straightforward", n): seconds}


def _ints(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda,cpu" if torch.cuda.is_available() else "cpu",
                        help="comma-separated: cuda, cpu")
    parser.add_argument("--sizes", type=_ints, help="N for the blocked search (default per device)")
    parser.add_argument("--naive-sizes", type=_ints,
                        help="N for the straightforward one (default per device; stops at the first OOM)")
    parser.add_argument("--dim", type=int, default=4096)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--block-size", type=int, default=None, help="rows per block (default: automatic)")
    parser.add_argument("--dtype", choices=["bf16", "fp32"], help="default bf16 on cuda, fp32 on cpu")
    parser.add_argument("--json", type=Path, help="Also write the timings to this JSON file.")
    args = parser.parse_args()
    args.naive_stopped = {}
    results = {}
    for name in args.device.split(","):
        if name == "cuda" and not torch.cuda.is_available():
            print("\n== cuda: no CUDA device, skipped")
            continue
        device = torch.device(name)
        sizes, naive_sizes = args.sizes or DEFAULT_SIZES[name], args.naive_sizes or DEFAULT_NAIVE[name]
        timings = run_device(device, sizes, naive_sizes, args)
        results[name] = {"dim": args.dim, "k": args.k, "blocked_seconds": {}, "straightforward_seconds": {},
                         "speedup": {}}
        for (method, n), seconds in timings.items():
            results[name][f"{method}_seconds"][str(n)] = seconds
        for n in sorted({n for _, n in timings}):
            if ("blocked", n) in timings and ("straightforward", n) in timings:
                ratio = timings[("straightforward", n)] / timings[("blocked", n)]
                results[name]["speedup"][str(n)] = ratio
                print(f"speed-up at N={n}: {ratio:.1f}x (straightforward / blocked)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
