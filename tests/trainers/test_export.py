"""Export and reload: identical predictions, safetensors only, a model card, reward and score CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import tiny_backbone_config
from PIL import Image
from typer.testing import CliRunner

from curate.likes import app
from curation.errors import CurationError
from trainers.evaluate import like_space_metrics, to_likes
from trainers.export import Reward, export_regressor, load_regressor
from trainers.model import LikeRegressor, RegressorConfig


@pytest.fixture(params=["siglip", "siglip2", "dinov2"])
def exported(request, tmp_path):
    torch.manual_seed(0)
    config = RegressorConfig(backbone=f"tiny-{request.param}", image_size=32, head="mlp", head_hidden=(8,),
                             backbone_config=tiny_backbone_config(request.param), head_bias=40.0)
    model = LikeRegressor(config).eval()
    metrics = like_space_metrics(np.array([10.0, 30.0, 60.0]), np.array([12.0, 25.0, 70.0]), "cbrt*log")
    return model, export_regressor(model, tmp_path / "aes-tiny", metrics)


def test_reloaded_model_predicts_exactly_the_same(exported):
    model, folder = exported
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    reloaded = load_regressor(folder)
    assert torch.equal(model(images), reloaded(images))
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "eval_metrics.json",
                                                         "model.safetensors"]
    card = (folder / "README.md").read_text()
    assert "| 200-2,000 |" in card and "cbrt*log" in card


def test_reward_is_differentiable_for_tensors_and_accepts_pil_images(exported):
    _, folder = exported
    reward = Reward(folder)
    pixels = torch.rand(2, 3, 48, 48, requires_grad=True)
    scores = reward(pixels)
    scores.sum().backward()
    assert scores.shape == (2,) and pixels.grad.abs().sum() > 0
    likes = Reward(folder, space="likes")([Image.new("RGB", (64, 40), (200, 10, 10))])
    assert likes.shape == (1,) and likes.item() >= 0


def test_loading_refuses_folders_without_safetensors(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"format": "aesthetic-curation/like-regressor"}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(CurationError, match="model.safetensors"):
        load_regressor(tmp_path)


def test_score_cli_prints_scores_and_likes_per_image(exported, tmp_path):
    model, folder = exported
    images = tmp_path / "images"
    images.mkdir()
    for i in range(3):
        Image.new("RGB", (40, 32), (80 * i, 60, 30)).save(images / f"{i}.png")
    result = CliRunner().invoke(app, ["score", str(images), "--model", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["image"].rsplit("/", 1)[1] for r in rows] == ["0.png", "1.png", "2.png"]
    assert all(r["likes"] == pytest.approx(to_likes(np.array([r["score"]]), "cbrt*log")[0]) for r in rows)
