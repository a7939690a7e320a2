"""Every GPU check in one command, for the few minutes a lent GPU machine gives (issue 16).

    python3 benchmarks/gpu_suite.py            # on the GPU machine: all five steps, at most 7.5 minutes
    python benchmarks/gpu_suite.py --smoke     # on CPU at toy sizes, in about a minute (run by the tests)

Steps, in order, each in its own process with its own time limit, so one failure never stops the rest:
  1. `pytest -m gpu tests/gpu`: resume bit-identity under bf16 + fused AdamW + torch.compile, DDP 2
     ranks vs 1, the open_clip post stages and mutual k-NN on CUDA against the CPU;
  2. benchmarks/train.py: SigLIP2-base at 224 px, images/s and MFU of the plain, bf16, compiled and
     end-to-end (JPEG decode) loops;
  3. benchmarks/posts.py: the post stages end to end against the forward pass alone;
  4. benchmarks/align.py: mutual k-NN at N = 20k, 100k, 1M (D = 4096, k = 10, bf16) and the
     straightforward float32 version at 20k;
  5. benchmarks/train.py --loader: the training loader's images/s per CPU core on social-media-sized
     originals and on prepared 256-px copies.
It writes `<out>/<date>-<device>.json` (every key always present: a figure, or null and the reason)
and a Markdown table beside it, and exits 1 if a step failed. With --smoke the steps run at toy sizes
on the CPU, and what needs CUDA is skipped with the reason written down.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {  # name: (target, "min" if the value must reach it, "max" if it must stay under it)
    "train_mfu": (0.40, "min"),
    "train_loop_ratio": (0.80, "min"),
    "posts_e2e_vs_forward": (0.80, "min"),
    "align_1m_seconds": (30.0, "max"),
    "align_20k_speedup": (5.0, "min"),
    "loader_copies_per_core": (300.0, "min"),
}
SMOKE_NOTE = "smoke run: CPU at toy sizes, no GPU target applies"
TINY_CLIP = {  # a 2-layer 64-px open_clip ViT for --smoke (random weights, built from this config)
    "embed_dim": 128,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def commands(smoke: bool, python: str, scratch: Path) -> dict[str, tuple[list[str], int]]:
    """Each step's command line and time limit (seconds)."""
    pytest = [python, "-m", "pytest", "-m", "gpu", "tests/gpu", "-q", "-p", "no:cacheprovider",
              "--timeout", "240", f"--junitxml={scratch / 'pytest.xml'}"]
    train, posts, align = ([python, f"benchmarks/{name}.py", "--json", str(scratch / f"{name}.json")]
                           for name in ("train", "posts", "align"))
    loader = [python, "benchmarks/train.py", "--json", str(scratch / "loader.json"), "--loader"]
    if smoke:
        tiny_clip = scratch / "tiny-clip-smoke.json"
        tiny_clip.write_text(json.dumps(TINY_CLIP))
        return {
            "pytest_gpu": (pytest, 120),
            "train": ([*train, "--device", "cpu", "--steps", "1", "--warmup", "0", "--batch-size", "2",
                       "--modes", "plain,bf16"], 120),
            "posts": ([*posts, "--devices", "cpu", "--images", "8", "--batch-size", "4",
                       "--engine-batch", "8", "--size", "96x64", "--clip-model", str(tiny_clip)], 180),
            "align": ([*align, "--device", "cpu", "--sizes", "2000", "--naive-sizes", "2000",
                       "--dim", "64"], 60),
            "loader": ([*loader, "4"], 60),
        }
    return {
        "pytest_gpu": (pytest, 110),
        "train": ([*train, "--device", "cuda", "--steps", "15", "--warmup", "5"], 160),
        "posts": ([*posts, "--devices", "cuda"], 60),
        "align": ([*align, "--device", "cuda", "--sizes", "20000,100000,1000000",
                   "--naive-sizes", "20000"], 80),
        "loader": ([*loader, "60"], 40),  # at most 450 s in all
    }


def run_step(command: list[str], limit: int) -> dict:
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=limit)
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as expired:
        code, output = None, f"timed out after {limit} s\n" + _text(expired.stdout) + _text(expired.stderr)
    status = "passed" if code == 0 else "failed"
    return {"status": status, "returncode": code, "seconds": round(time.perf_counter() - started, 1),
            "command": " ".join(command), "output_tail": output[-3000:]}


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else (value or "")


def _read(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def pytest_counts(junit: Path) -> dict:
    """Passed, failed, skipped (with their reasons) from pytest's JUnit XML."""
    if not junit.exists():
        return {}
    counts, reasons = {"passed": 0, "failed": 0, "skipped": 0}, set()
    for case in ET.parse(junit).getroot().iter("testcase"):
        skipped = case.find("skipped")
        if skipped is not None:
            counts["skipped"] += 1
            reasons.add(re.sub(r"^.*?Skipped: ", "", skipped.get("message", "")))
        elif case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
        else:
            counts["passed"] += 1
    return {**counts, "skip_reasons": sorted(reasons)}


def collect(steps: dict, scratch: Path, smoke: bool, cuda: bool) -> dict:
    """The headline figures, each {value, target, met, note}; null with a reason where not measured."""
    train, posts, align, loader = (_read(scratch / f"{name}.json")
                                   for name in ("train", "posts", "align", "loader"))
    mfu = train and (train["mfu"].get("compiled") or max(train["mfu"].values(), default=None))
    loop_ratio = train.get("loop_ratio") if train else None
    posts_ratio = posts[0]["ratio"] if posts else None
    figures = align and next(iter(align.values()), None)
    align_1m = figures and figures["blocked_seconds"].get("1000000")
    speedup = figures and (figures["speedup"].get("20000") or next(iter(figures["speedup"].values()), None))
    values = {"train_mfu": mfu, "train_loop_ratio": loop_ratio, "posts_e2e_vs_forward": posts_ratio,
              "align_1m_seconds": align_1m, "align_20k_speedup": speedup,
              "loader_copies_per_core": loader and loader["loader"]["copies_per_core"]}
    notes = {"train_loop_ratio": "needs the compiled and end-to-end loops (CUDA only in --smoke)",
             "align_1m_seconds": "N = 1M runs on CUDA only"}
    summary = {}
    for name, value in values.items():
        target, sense = TARGETS[name]
        met = None if value is None or smoke else (value >= target if sense == "min" else value <= target)
        note = SMOKE_NOTE if smoke else ("" if cuda else "no CUDA device")
        step = name.split("_")[0]
        if value is None:
            status = steps[step]["status"] if step in steps else "not run yet"
            note = notes.get(name) if smoke and step in steps else f"not measured: {status}"
        summary[name] = {"value": value, "target": target, "sense": sense, "met": met, "note": note}
    return {"summary": summary, "details": {"train": train, "posts": posts, "align": align, "loader": loader}}


def markdown(results: dict) -> str:
    lines = [f"# GPU suite, {results['date']}, {results['device']}{' (smoke)' if results['smoke'] else ''}",
             "", "| figure | value | target | met | note |", "|---|---|---|---|---|"]
    for name, row in results["summary"].items():
        value = "-" if row["value"] is None else f"{row['value']:.4g}"
        sense = ">=" if row["sense"] == "min" else "<="
        met = {True: "yes", False: "NO", None: "-"}[row["met"]]
        lines.append(f"| {name} | {value} | {sense} {row['target']:g} | {met} | {row['note'] or ''} |")
    lines += ["", "| step | status | seconds | note |", "|---|---|---|---|"]
    for name, step in results["steps"].items():
        lines.append(f"| {name} | {step['status']} | {step['seconds']} | {step.get('reason', '')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="CPU, toy sizes (what `make test` runs)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--python", default=sys.executable, help="the interpreter for every step")
    args = parser.parse_args()
    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke:
        print("no CUDA device: run with --smoke on a CPU machine", file=sys.stderr)
        return 2
    device = torch.cuda.get_device_name() if cuda and not args.smoke else "cpu"
    results = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "device": device,
               "smoke": args.smoke, "torch": torch.__version__, "python": sys.version.split()[0]}
    stem = f"{results['date'][:10]}-{re.sub(r'[^A-Za-z0-9]+', '-', device).strip('-').lower()}"
    stem += "-smoke" if args.smoke else ""
    args.out.mkdir(parents=True, exist_ok=True)
    steps: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        plan = commands(args.smoke, args.python, scratch)
        for name, (command, limit) in plan.items():
            print(f"[gpu_suite] {name}: {' '.join(command[1:])}", flush=True)
            steps[name] = run_step(command, limit)
            print(f"[gpu_suite] {name}: {steps[name]['status']} in {steps[name]['seconds']} s", flush=True)
            if name == "pytest_gpu":
                steps[name].update(pytest_counts(scratch / "pytest.xml"))
            _explain(steps, args.smoke)
            # written after every step, so a run cut short still leaves what it measured
            results.update(collect(steps, scratch, args.smoke, cuda), steps=steps)
            (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2))
            (args.out / f"{stem}.md").write_text(markdown(results))
    print(markdown(results))
    print(f"[gpu_suite] wrote {args.out / stem}.json and .md")
    return 1 if any(step["status"] == "failed" for step in steps.values()) else 0


def _explain(steps: dict, smoke: bool) -> None:
    """Say why a part did not run: GPU tests without CUDA, the CUDA-only parts in --smoke."""
    tests = steps["pytest_gpu"]
    if tests.get("skipped") and not tests.get("passed") and not tests.get("failed"):
        tests["status"], tests["reason"] = "skipped", "; ".join(tests["skip_reasons"])
    reasons = {"train": "CPU: plain and bf16 loops only; torch.compile, JPEG loop: CUDA only",
               "posts": "CPU: 8 JPEGs, a tiny ViT; nvjpeg, bf16 and ViT-B-16: CUDA only",
               "align": "CPU: N = 2,000, D = 64; N = 20k to 1M: CUDA only",
               "loader": "CPU: 4 images (60 on the GPU machine's CPU)"}
    for name, reason in reasons.items():
        if smoke and name in steps:
            steps[name]["reason"] = reason


if __name__ == "__main__":
    sys.exit(main())
