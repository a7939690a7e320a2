"""README "Artwork posts" and "Like counts" on the demo sample: cleaned from a local host (allowed
with --allow-private-hosts), the same images from a host whose robots.txt opts out, then the like
regressor's blocks on the cleaned posts (tiny random backbones stand in for downloaded ones)."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.e2e.conftest import UserShell
from trainers.retransform import DEFAULT_RMSE_BUDGET


@pytest.fixture(scope="module")
def demo(module_user: UserShell, shared_data) -> UserShell:
    module_user.run("posts-demo")
    return module_user


def test_the_demo_fetches_from_the_allowed_local_host(demo: UserShell) -> None:
    manifest = json.loads((demo.clone / "out" / "weratedogs-clean" / "manifest.json").read_text())
    assert manifest["balanced"] and manifest["rows_kept"] > 200
    assert manifest["params"]["consent"]["addresses"] == "public only, 127.0.0.1/32"


def test_a_host_that_opts_out_gives_no_image(demo: UserShell) -> None:
    demo.run("posts-opt-out-demo")
    manifest = json.loads((demo.clone / "out" / "weratedogs-optout" / "manifest.json").read_text())
    fetch = next(stage for stage in manifest["stages"] if stage["name"] == "fetch")
    assert fetch["reasons"] == {"opt_out:robots": 300} and manifest["rows_kept"] == 0
    assert manifest["params"]["consent"]["honoured"] == ["robots", "x-robots-tag", "tdmrep", "c2pa"]
    assert not (demo.clone / "out" / "weratedogs-optout" / "images").exists() or not any(
        (demo.clone / "out" / "weratedogs-optout" / "images").rglob("*.jpg"))


def test_likes_describe_prints_the_error_table_and_saves_the_curves(demo: UserShell) -> None:
    result = demo.run("likes-describe")
    assert (demo.clone / "out" / "likes-error.png").stat().st_size > 0
    assert "like_count" in result.output and "20,000" in result.output


@pytest.fixture(scope="module")
def tiny_model(demo: UserShell) -> UserShell:
    """The tiny-backbone block on the demo's cleaned posts: train, evaluate + export, score a photo."""
    shutil.copy(next((demo.clone / "out" / "weratedogs-clean" / "images").rglob("*.jpg")),
                demo.clone / "photo.jpg")
    demo.scored = demo.run("likes-tiny")
    return demo


def test_the_tiny_backbone_trains_exports_and_scores_a_photo(tiny_model: UserShell) -> None:
    assert (tiny_model.clone / "out/models/tiny/model.safetensors").stat().st_size > 0
    metrics = json.loads((tiny_model.clone / "out/tiny-eval/metrics.json").read_text())
    assert metrics["n"] > 200
    assert re.search(r"photo\.jpg\s.*\d", tiny_model.scored.output)


def test_the_reward_is_differentiable_in_the_pixels(tiny_model: UserShell) -> None:
    result = tiny_model.run("likes-reward", replace={'Reward("models/s9600"': 'Reward("out/models/tiny"'})
    scores, has_gradient = result.stdout.strip().splitlines()[-1].rsplit("] ", 1)
    assert len(json.loads(scores + "]")) == 4 and has_gradient == "True"


def test_the_gpu_training_block_runs_with_a_tiny_backbone(demo: UserShell) -> None:
    """The GPU block as written but for the stand-ins: a tiny random backbone for the downloaded one,
    a few steps, no compile, two CPU processes (gloo) for eight GPUs, the demo's posts as data."""
    photos = demo.clone / "photos"
    photos.mkdir(exist_ok=True)
    for image in sorted((demo.clone / "out" / "weratedogs-clean" / "images").rglob("*.jpg"))[:2]:
        shutil.copy(image, photos / image.name)
    steps = "--max-steps 4 --checkpoint-every 2 --keep-steps 2 --num-workers 0 --batch-size 16"
    result = demo.run("likes-train", replace={
        "google/siglip2-base-patch16-224": "tiny-siglip2",
        "facebook/dinov2-large": "tiny-dinov2",
        "--max-steps 22000 --checkpoint-every 800 --keep-steps 9600 --compile": steps,
        "--max-steps 22000": steps,
        "--head mlp": f"--head mlp {steps}",
        "--nproc-per-node 8": "--nproc-per-node 2",
        "out/clean/kept": "out/weratedogs-clean/kept",
        "data/test": "out/weratedogs-clean/kept",
        "step_0009600": "step_0000002",
    })
    for run in ("siglip2", "siglip2-ddp", "probe"):
        assert (demo.clone / "runs" / run / "checkpoints" / "step_0000004").is_dir(), run
    assert (demo.clone / "models/s9600/model.safetensors").is_file()
    assert result.output.count("photos/") >= 2


def test_tail_calibration_is_saved_with_the_run(demo: UserShell) -> None:
    kept = "out/weratedogs-clean/kept"
    demo.run("likes-calibrate", replace={
        "posts/train": kept, "posts/val": f"{kept} --backbone tiny-siglip2 --max-steps 2 --num-workers 0"})
    fix = json.loads((demo.clone / "runs/r1/calibration.json").read_text())["retransform"]
    assert len(fix["knots"]) == len(fix["values"]) >= 2 and fix["values"] == sorted(fix["values"])
    assert fix["rmse_budget"] == DEFAULT_RMSE_BUDGET and 0.5 <= fix["aim"] <= 1.0
    full = json.loads((demo.clone / "runs/r3/calibration.json").read_text())["retransform"]
    assert full["aim"] == 1.0 and full["rmse_budget"] is None
    stretch = json.loads((demo.clone / "runs/r2/calibration.json").read_text())["tail_stretch"]
    assert stretch["slope"] >= 1.0
