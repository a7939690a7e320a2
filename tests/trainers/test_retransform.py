"""The retransformation fix: fitted on held-out posts, calibrated in like space on fresh posts,
monotone, and carried by the model into evaluate, score and reward()."""

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
from curation.transforms import get_transform
from trainers.calibration import (
    TailStretch,
    attach_calibration,
    load_calibration,
    model_calibration,
    save_calibration,
)
from trainers.evaluate import like_space_metrics, max_calibration_error, to_likes
from trainers.export import Reward, export_regressor, images_to_tensor, load_regressor
from trainers.model import LikeRegressor, RegressorConfig
from trainers.retransform import (
    DEFAULT_RMSE_BUDGET,
    Retransform,
    RetransformLayer,
    fit_retransform,
    held_out_sum_noise,
)

T = get_transform("cbrt*log")


def transformed_space_predictions(seed: int, n: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Log-normal likes around a known quality; the prediction is E[f(likes) | quality] (what an
    MSE head on f(likes) converges to), by Gauss-Hermite quadrature over the noise."""
    rng = np.random.default_rng(seed)
    quality = rng.standard_normal(n)
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    likes_at = np.expm1(4.4 + 0.8 * quality[:, None] + 0.8 * nodes[None]).clip(0)
    mean_target = T.forward(likes_at) @ (weights / weights.sum())
    likes = np.round(np.expm1(4.4 + 0.8 * quality + 0.8 * rng.standard_normal(n))).clip(0)
    return mean_target, T.forward(likes)


def test_the_fix_calibrates_like_space_on_fresh_posts_at_a_small_rmse_cost():
    pred, target = transformed_space_predictions(0)
    fresh_pred, fresh_target = transformed_space_predictions(1)
    plain = like_space_metrics(fresh_pred, fresh_target, "cbrt*log")
    fixed = like_space_metrics(fit_retransform(pred, target, "cbrt*log", aim=1.0).apply(fresh_pred),
                               fresh_target, "cbrt*log")
    assert plain["sum_ratio"] < 0.9 and max_calibration_error(plain["calibration"]) > 0.15
    assert fixed["sum_ratio"] == pytest.approx(1.0, abs=0.03)
    assert max_calibration_error(fixed["calibration"]) < 0.10
    assert fixed["rmse"] < 1.04 * plain["rmse"] and fixed["spearman"] == pytest.approx(plain["spearman"])


def test_the_stated_noise_of_a_held_out_sum_matches_its_spread_over_draws_and_halves_at_4x_posts():
    fix = fit_retransform(*transformed_space_predictions(0), "cbrt*log", aim=1.0)
    draws = [transformed_space_predictions(seed, n=2_000) for seed in range(1, 31)]
    spread = np.std([like_space_metrics(fix.apply(p), y, "cbrt*log")["sum_ratio"] for p, y in draws], ddof=1)
    stated = held_out_sum_noise(*draws[0], fix)
    assert 0.6 * spread < stated < 1.6 * spread  # about 3% on 2,000 posts
    larger = held_out_sum_noise(*transformed_space_predictions(1, n=8_000), fix)
    assert 0.35 < larger / stated < 0.7


def test_a_lower_aim_trades_a_stated_like_shortfall_for_rmse():
    pred, target = transformed_space_predictions(0)
    fresh_pred, fresh_target = transformed_space_predictions(1)
    fits = {aim: fit_retransform(pred, target, "cbrt*log", aim=aim) for aim in (1.0, 0.985, 0.95)}
    metrics = {aim: like_space_metrics(fit.apply(fresh_pred), fresh_target, "cbrt*log")
               for aim, fit in fits.items()}
    for aim, m in metrics.items():
        ratios = [row["ratio"] / aim for row in m["calibration"]]
        assert m["sum_ratio"] / metrics[1.0]["sum_ratio"] == pytest.approx(aim, abs=0.002)
        assert ratios == pytest.approx([row["ratio"] for row in metrics[1.0]["calibration"]], abs=0.01)
    assert metrics[0.95]["rmse"] < metrics[0.985]["rmse"] < metrics[1.0]["rmse"]
    assert Retransform.from_dict(fits[0.985].to_dict()) == fits[0.985]
    with pytest.raises(CurationError, match="fraction of the expected likes"):
        fit_retransform(pred, target, "cbrt*log", aim=0.0)


def test_without_an_aim_the_fix_aims_as_high_as_the_rmse_budget_allows():
    pred, target = transformed_space_predictions(0)

    def cost(fix: Retransform) -> float:
        return float(np.sqrt(np.mean((fix.apply(pred) - target) ** 2) / np.mean((pred - target) ** 2)))

    fix = fit_retransform(pred, target, "cbrt*log", rmse_budget=1.02)
    assert 0.5 < fix.aim < 1.0 and fix.rmse_budget == 1.02
    assert cost(fix) <= 1.02 < cost(fit_retransform(pred, target, "cbrt*log", aim=fix.aim + 0.001))
    assert fit_retransform(pred, target, "cbrt*log").rmse_budget == DEFAULT_RMSE_BUDGET
    assert fit_retransform(pred, target, "cbrt*log", rmse_budget=1.5).aim == 1.0
    assert fit_retransform(pred, target, "cbrt*log", aim=0.9, rmse_budget=1.0).aim == 0.9
    constant = np.full_like(pred, target.mean())  # the RMSE-best constant: every map costs more
    cheapest = fit_retransform(constant, target, "cbrt*log", rmse_budget=1.0)
    assert cheapest.rmse_budget is None and 0.5 <= cheapest.aim < 1.0
    assert Retransform.from_dict(fix.to_dict()) == fix
    with pytest.raises(CurationError, match="RMSE budget"):
        fit_retransform(pred, target, "cbrt*log", rmse_budget=0.99)


def test_the_map_is_monotone_and_shifts_beyond_its_end_knots():
    pred, target = transformed_space_predictions(2, n=4_000)
    fix = fit_retransform(pred, target, "cbrt*log", bins=10)
    grid = np.linspace(min(fix.knots) - 20, max(fix.knots) + 50, 2_000)
    assert np.all(np.diff(fix.apply(grid)) >= 0) and np.all(fix.apply(grid) > grid - 1e-9)
    above = np.array([fix.knots[-1] + 10.0])
    assert fix.apply(above)[0] == pytest.approx(above[0] + fix.values[-1] - fix.knots[-1])
    with pytest.raises(CurationError, match="at least 40 held-out posts"):
        fit_retransform(pred[:30], target[:30], "cbrt*log")


def test_the_layer_matches_numpy_and_passes_gradients():
    fix = Retransform((5.0, 10.0, 30.0), (6.0, 13.0, 40.0))
    pred = torch.tensor([2.0, 5.0, 7.5, 30.0, 31.0], requires_grad=True)
    out = RetransformLayer(fix)(pred)
    assert out.tolist() == pytest.approx(fix.apply(pred.detach().numpy()).tolist())
    assert out.tolist() == pytest.approx([3.0, 6.0, 9.5, 40.0, 41.0])
    out.sum().backward()
    assert pred.grad.tolist() == pytest.approx([1.0, 1.4, 1.4, 1.35, 1.0], abs=0.01)


@pytest.fixture
def fixed_model_export(tmp_path):
    torch.manual_seed(0)
    config = RegressorConfig(backbone="tiny-siglip", image_size=32, head="mlp", head_hidden=(8,),
                             backbone_config=tiny_backbone_config("siglip"), head_bias=30.0)
    model = LikeRegressor(config).eval()
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    plain = model(images).detach().numpy()
    fix = Retransform((float(plain.min()) - 1, float(plain.max()) + 1),
                      (float(plain.min()) + 2, float(plain.max()) + 6))
    attach_calibration(model, TailStretch(knot=0.0, slope=2.0))
    attach_calibration(model, fix)  # replaces the stretch
    return model, export_regressor(model, tmp_path / "fixed"), images, plain, fix


def test_the_fix_is_stored_in_the_export_and_applied_by_forward_and_reward(fixed_model_export, tmp_path):
    model, folder, images, plain, fix = fixed_model_export
    assert torch.allclose(model(images), torch.tensor(fix.apply(plain), dtype=torch.float32), atol=1e-4)
    assert json.loads((folder / "config.json").read_text())["calibration"]["retransform"]["knots"] == list(
        fix.knots)
    assert "retransformation" in (folder / "README.md").read_text()
    reloaded = load_regressor(folder)
    assert model_calibration(reloaded) == fix and torch.equal(reloaded(images), model(images))
    likes = Reward(folder, space="likes")(images).numpy()
    assert likes == pytest.approx(to_likes(fix.apply(plain), "cbrt*log"), rel=1e-3)
    save_calibration(fix, tmp_path)
    assert load_calibration(tmp_path) == fix


def test_score_cli_prints_the_fixed_scores(fixed_model_export, tmp_path):
    _, folder, images, _, fix = fixed_model_export
    paths = []
    for i, pixels in enumerate(images):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(pixels.permute(1, 2, 0).numpy()).save(paths[-1])
    result = CliRunner().invoke(app, ["score", *map(str, paths), "--model", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    scores = np.array([json.loads(line)["score"] for line in result.stdout.splitlines()])
    reloaded = load_regressor(folder)
    pixels = images_to_tensor(paths, 32)
    with torch.no_grad():
        fixed = reloaded(pixels).numpy()
        raw = reloaded.head[:-1](reloaded.embed(pixels)).squeeze(-1).numpy()
    assert scores == pytest.approx(fixed, abs=1e-4)
    assert fixed == pytest.approx(fix.apply(raw), abs=1e-3) and np.all(fixed > raw)
