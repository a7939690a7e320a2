"""The GPU suite's summary from what its steps write on a GPU machine: every figure beside its target,
met or not, and a step that failed named instead of a figure (the steps' JSON shapes as written)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from gpu_suite import TARGETS, collect, markdown  # noqa: E402

GPU_OUTPUTS = {
    "train": {"device": "NVIDIA H100 80GB HBM3", "images_per_s": {"plain": 900.0, "compiled": 2900.0,
                                                                  "end-to-end": 2465.0},
              "mfu": {"plain": 0.12, "bf16": 0.30, "compiled": 0.35, "end-to-end": 0.30}, "loop_ratio": 0.85},
    "posts": [{"device": "cuda", "e2e": 7000.0, "forward": 10400.0, "ratio": 7000.0 / 10400.0}],
    "align": {"cuda": {"blocked_seconds": {"20000": 0.2, "100000": 1.1, "1000000": 28.5},
                       "straightforward_seconds": {"20000": 1.3}, "speedup": {"20000": 6.5}}},
    "loader": {"loader": {"originals_per_core": 41.0, "copies_per_core": 430.0}},
}


def write(folder: Path, skip: str = "") -> dict:
    for name, data in GPU_OUTPUTS.items():
        if name != skip:
            (folder / f"{name}.json").write_text(json.dumps(data))
    return {name: {"status": "failed" if name == skip else "passed", "seconds": 1.0}
            for name in ("pytest_gpu", *GPU_OUTPUTS)}


def test_every_figure_is_judged_against_its_target(tmp_path):
    summary = collect(write(tmp_path), tmp_path, smoke=False, cuda=True)["summary"]
    assert set(summary) == set(TARGETS)
    values = {name: row["value"] for name, row in summary.items()}
    assert values == {"train_mfu": 0.35, "train_loop_ratio": 0.85, "posts_e2e_vs_forward": 7000.0 / 10400.0,
                      "align_1m_seconds": 28.5, "align_20k_speedup": 6.5, "loader_copies_per_core": 430.0}
    met = {name: row["met"] for name, row in summary.items()}
    assert met == {"train_mfu": False, "train_loop_ratio": True, "posts_e2e_vs_forward": False,
                   "align_1m_seconds": True, "align_20k_speedup": True, "loader_copies_per_core": True}


def test_a_failed_step_leaves_its_figures_null_with_the_reason(tmp_path):
    steps = write(tmp_path, skip="align")
    results = {"date": "2026-12-07 18:00 UTC", "device": "NVIDIA H100", "smoke": False,
               **collect(steps, tmp_path, smoke=False, cuda=True), "steps": steps}
    row = results["summary"]["align_1m_seconds"]
    assert row["value"] is None and row["met"] is None and row["note"] == "not measured: failed"
    table = markdown(results)
    assert "| train_mfu | 0.35 | >= 0.4 | NO |" in table
    assert "| align_1m_seconds | - | <= 30 | - | not measured: failed |" in table
