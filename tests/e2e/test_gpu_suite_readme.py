"""README "GPU checks": the suite's --smoke run on the CPU writes every figure the GPU run fills, and
says why each part it could not run was skipped."""

from __future__ import annotations

import json

from tests.e2e.conftest import UserShell

FIGURES = {"train_mfu", "train_loop_ratio", "posts_e2e_vs_forward", "align_1m_seconds", "align_20k_speedup",
           "loader_copies_per_core"}


def test_the_smoke_suite_fills_every_key_and_states_its_skips(user: UserShell) -> None:
    result = user.run("gpu-suite-smoke", timeout=300)
    assert "[gpu_suite] wrote" in result.stdout
    (path,) = (user.clone / "out" / "gpu-smoke").glob("*-cpu-smoke.json")
    results = json.loads(path.read_text())
    assert results["smoke"] is True and results["device"] == "cpu"
    assert set(results["summary"]) == FIGURES
    for name, row in results["summary"].items():
        assert {"value", "target", "sense", "met", "note"} <= row.keys(), name
        assert row["met"] is None and row["note"], name  # no GPU target is judged on a CPU
    steps = results["steps"]
    assert list(steps) == ["pytest_gpu", "train", "posts", "align", "loader"]
    assert steps["pytest_gpu"]["status"] == "skipped" and "no CUDA device" in steps["pytest_gpu"]["reason"]
    assert steps["pytest_gpu"]["skipped"] == 4
    for name in ("train", "posts", "align"):
        assert steps[name]["status"] == "passed", steps[name]["output_tail"]
        assert "CUDA only" in steps[name]["reason"]
    assert set(results["details"]["train"]["images_per_s"]) == {"plain", "bf16"}
    assert results["summary"]["align_20k_speedup"]["value"] > 0
    loader = results["details"]["loader"]["loader"]
    assert loader["copies_per_core"] > loader["originals_per_core"] > 0
    assert results["summary"]["align_1m_seconds"]["note"] == "N = 1M runs on CUDA only"
    assert path.with_suffix(".md").read_text().startswith("# GPU suite")


def test_the_gpu_path_imports_nothing_it_does_not_need(user: UserShell, tmp_path) -> None:
    # the GPU machine has no spacy, wordfreq, ray or datasets: nothing a GPU step imports may need them
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys\n"
        "import trainers.train, trainers.data, trainers.checkpoint\n"
        "import filters.posts.model_stages, filters.posts.embedding, filters.posts.probe\n"
        "import curation.engine, curation.alignment.analyses, curation.alignment.layers\n"
        "print(sorted(m for m in ('spacy', 'wordfreq', 'ray', 'datasets') if m in sys.modules))\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, env=user.env(),
                          cwd=user.clone, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
