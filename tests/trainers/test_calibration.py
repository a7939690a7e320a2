"""Tail calibration: fitted on held-out predictions, attached to the model, stored in the export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import tiny_backbone_config

from curation.errors import CurationError
from curation.transforms import get_transform
from trainers.calibration import (
    TailStretch,
    attach_calibration,
    band_signed_error,
    fit_tail_stretch,
    load_calibration,
    model_calibration,
    save_calibration,
)
from trainers.export import export_regressor, load_regressor
from trainers.model import LikeRegressor, RegressorConfig


def shrunk_predictions(seed: int = 0, n: int = 4_000) -> tuple[np.ndarray, np.ndarray]:
    """Targets in cbrt*log space and predictions that are pulled towards the mean (R^2 about 0.5)."""
    rng = np.random.default_rng(seed)
    log_likes = 4.4 + 1.9 * rng.standard_normal(n)
    target = get_transform("cbrt*log").forward(np.round(np.expm1(log_likes)).clip(0))
    pred = target.mean() + 0.5 * (target - target.mean()) + rng.normal(0, 0.5 * target.std(), n)
    return pred, target


def test_a_known_stretch_is_recovered_from_held_out_data():
    rng = np.random.default_rng(1)
    pred = rng.gamma(2.0, 15.0, 5_000)
    knot = float(np.quantile(pred, 0.9))
    target = TailStretch(knot, slope=3.0).apply(pred)
    fitted = fit_tail_stretch(pred, target, "cbrt*log", cut=1.0, band=(200.0, 1e9))
    assert fitted.knot == pytest.approx(knot)
    assert fitted.slope == pytest.approx(3.0, rel=1e-4)


def test_the_fitted_stretch_halves_the_band_underprediction_on_the_data_it_saw():
    pred, target = shrunk_predictions()
    before = band_signed_error(pred, target, "cbrt*log", (2_000, 20_000))
    stretch = fit_tail_stretch(pred, target, "cbrt*log", cut=0.5)
    after = band_signed_error(stretch.apply(pred), target, "cbrt*log", (2_000, 20_000))
    assert before < 0 and after == pytest.approx(0.5 * before, rel=1e-3)
    assert stretch.slope > 1 and np.array_equal(stretch.apply(pred[pred < stretch.knot]),
                                                pred[pred < stretch.knot])


def test_cut_zero_or_no_underprediction_leaves_predictions_alone():
    pred, target = shrunk_predictions()
    assert fit_tail_stretch(pred, target, "cbrt*log", cut=0.0).slope == 1.0
    assert fit_tail_stretch(target + 5.0, target, "cbrt*log").slope == 1.0
    with pytest.raises(CurationError, match="within 0..1"):
        fit_tail_stretch(pred, target, "cbrt*log", cut=1.5)
    with pytest.raises(CurationError, match="no held-out posts"):
        fit_tail_stretch(pred, target, "cbrt*log", band=(1e8, 1e9))


def test_the_stretch_stops_at_the_highest_held_out_target():
    stretch = TailStretch(knot=10.0, slope=3.0, top=20.0)
    assert stretch.apply(np.array([5.0, 15.0, 20.0, 500.0])).tolist() == [5.0, 25.0, 40.0, 520.0]


def test_attached_stretch_is_part_of_forward_export_and_reload(tmp_path):
    torch.manual_seed(0)
    config = RegressorConfig(backbone="tiny-siglip", image_size=32, head="mlp", head_hidden=(8,),
                             backbone_config=tiny_backbone_config("siglip"), head_bias=40.0)
    model = LikeRegressor(config).eval()
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    plain = model(images).detach()
    stretch = TailStretch(knot=float(plain.min()) - 1.0, slope=2.0)
    attach_calibration(model, stretch)
    assert torch.allclose(model(images), torch.tensor(stretch.apply(plain.numpy()), dtype=torch.float32))
    folder = export_regressor(model, tmp_path / "calibrated")
    assert json.loads((folder / "config.json").read_text())["calibration"]["tail_stretch"]["slope"] == 2.0
    reloaded = load_regressor(folder)
    assert model_calibration(reloaded) == stretch and torch.equal(reloaded(images), model(images))
    attach_calibration(model, None)
    assert model_calibration(model) is None and torch.equal(model(images), plain)


def test_calibration_json_round_trip(tmp_path):
    assert load_calibration(tmp_path) is None
    save_calibration(TailStretch(50.0, 4.0, 180.0), tmp_path)
    assert load_calibration(tmp_path) == TailStretch(50.0, 4.0, 180.0)
