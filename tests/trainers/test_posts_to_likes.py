"""The hand-off from `curate posts clean` to `curate likes`: training, evaluation and scoring read the
clean output as written, with their default columns, from any working directory; when no image can
be used, training says why in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.likes import app as likes_app
from curate.posts import app as posts_app
from curation.errors import InputError
from curation.testing.image_server import ImageServer, synthetic_image

REPO = Path(__file__).resolve().parents[2]
TINY = ["--backbone", "tiny-siglip2", "--num-workers", "0"]


@pytest.fixture(scope="module")
def clean_posts(tmp_path_factory) -> Path:
    """24 synthetic posts cleaned from their own folder into a sibling one (`--out ../clean`)."""
    root = tmp_path_factory.mktemp("handoff")
    sample = root / "sample"
    with ImageServer(root=sample / "images") as server, pytest.MonkeyPatch.context() as patch:
        subprocess.run([sys.executable, str(REPO / "scripts" / "make_weratedogs_sample.py"), "--synthetic",
                        "--posts", "24", "--out", str(sample), "--base-url", server.base_url],
                       check=True, capture_output=True)
        patch.chdir(sample)
        result = CliRunner().invoke(posts_app, ["clean", "posts.jsonl", "--out", "../clean", "--no-models",
                                                "--json", "--allow-private-hosts", "127.0.0.1/32"])
    assert result.exit_code == 0, result.output
    return root / "clean" / "kept"


def test_train_evaluate_and_score_read_posts_clean_output_as_written(clean_posts, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # neither the folder `posts clean` ran in nor its output folder
    runner = CliRunner()
    train = runner.invoke(likes_app, ["train", str(clean_posts), "--out", "run", "--max-steps", "2",
                                      "--batch-size", "8", *TINY])
    assert train.exit_code == 0, train.output
    checkpoint = tmp_path / "run" / "checkpoints" / "step_0000002"
    assert (checkpoint / "model.safetensors").is_file()

    evaluate = runner.invoke(likes_app, ["evaluate", str(clean_posts), "--model", str(checkpoint), "--out",
                                         "eval", "--export-to", "model", "--num-workers", "0", "--json"])
    assert evaluate.exit_code == 0, evaluate.output
    assert json.loads(evaluate.stdout)["n"] == pl.read_parquet(clean_posts).height  # every image was read

    (tmp_path / "new").mkdir()
    monkeypatch.chdir(tmp_path / "new")
    (tmp_path / "new" / "photo.jpg").write_bytes(synthetic_image(120, 90, seed=7, fmt="JPEG"))
    score = runner.invoke(likes_app, ["score", "photo.jpg", "--model", "../model", "--json"])
    assert score.exit_code == 0, score.output
    scored = json.loads(score.stdout)
    assert scored["image"] == "photo.jpg" and scored["likes"] >= 0


def test_training_without_a_usable_image_says_why_in_one_line(tmp_path):
    kept = tmp_path / "kept"
    kept.mkdir()
    paths = ["clean/images/ab/ab12.jpg", "clean/images/cd/cd34.jpg", "clean/images/ef/ef56.jpg"]
    pl.DataFrame({"image_path": paths, "like_count": [5, 7, 9]}).write_parquet(kept / "part-0.parquet")
    result = CliRunner().invoke(likes_app, ["train", str(kept), "--out", str(tmp_path / "run"),
                                            "--max-steps", "1", *TINY])
    assert isinstance(result.exception, InputError)  # `curate` prints it as one line, exit status 2
    message = str(result.exception)
    assert "\n" not in message
    example = f"e.g. '{paths[0]}' (read as '{kept / paths[0]}')"
    assert f"3 of 3 rows name a missing image file, {example}" in message
