"""Like-space evaluation on known predictions, and `curate likes evaluate` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import tiny_backbone_config
from typer.testing import CliRunner

from curate.likes import app
from curation.transforms import get_transform
from trainers.evaluate import calibration_by_prediction, like_space_metrics, precision_at_k
from trainers.export import export_regressor
from trainers.model import LikeRegressor, RegressorConfig


def test_per_band_errors_are_measured_in_likes():
    t = get_transform("log1p")
    true = np.array([100.0, 1_000.0, 5_000.0, 50_000.0])
    pred = np.array([150.0, 900.0, 2_500.0, 50_000.0])
    metrics = like_space_metrics(t.forward(pred), t.forward(true), "log1p", ks=(1, 2))
    bands = metrics["bands"]
    assert bands["0-200"]["mean_signed_error"] == pytest.approx(50.0)
    assert bands["200-2,000"]["mean_abs_error"] == pytest.approx(100.0)
    assert bands["2,000-20,000"]["mean_signed_error"] == pytest.approx(-2_500.0)
    assert bands["20,000+"]["n"] == 1
    assert metrics["sum_pred_likes"] == pytest.approx(pred.sum())
    assert metrics["spearman"] == pytest.approx(1.0)
    assert metrics["precision_at_k"] == {"1": 1.0, "2": 1.0}


def test_calibration_bins_posts_by_predicted_likes_not_true_likes():
    pred = np.array([10.0, 20.0, 30.0, 40.0, 100.0, 300.0])
    true = np.array([20.0, 20.0, 60.0, 20.0, 200.0, 0.0])
    rows = calibration_by_prediction(pred, true, bins=3)
    assert [row["n"] for row in rows] == [2, 2, 2]
    assert [(row["pred_low"], row["pred_high"]) for row in rows] == [(10, 20), (30, 40), (100, 300)]
    assert [row["ratio"] for row in rows] == pytest.approx([15 / 20, 35 / 40, 200 / 100])
    t = get_transform("log1p")
    metrics = like_space_metrics(t.forward(pred), t.forward(true), "log1p", calibration_bins=3)
    assert metrics["sum_ratio"] == pytest.approx(500 / 320)
    assert [row["mean_true_likes"] for row in metrics["calibration"]] == pytest.approx([20, 40, 100])


def test_predictions_below_f0_count_as_zero_likes():
    metrics = like_space_metrics(np.array([0.5, 3.0]), np.array([2.5, 3.0]), "cbrt*log")
    assert metrics["bands"]["0-200"]["n"] == 2 and metrics["sum_pred_likes"] >= 0


def test_precision_at_k_counts_top_k_overlap():
    assert precision_at_k(np.array([4, 3, 2, 1]), np.array([1, 2, 3, 4]), 2) == 0.0
    assert precision_at_k(np.array([4, 1, 3, 2]), np.array([4, 3, 2, 1]), 2) == 0.5


def test_evaluate_cli_writes_metrics_plots_and_an_export(image_parquet, tmp_path):
    torch.manual_seed(0)
    model = LikeRegressor(RegressorConfig(backbone="tiny", backbone_config=tiny_backbone_config("siglip"),
                                          image_size=32, transform="log1p", head_bias=6.0))
    folder = export_regressor(model, tmp_path / "model")
    result = CliRunner().invoke(app, ["evaluate", str(image_parquet), "--model", str(folder), "--out",
                                      str(tmp_path / "eval"), "--export-to", str(tmp_path / "card"),
                                      "--num-workers", "0", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["n"] == 32 and sum(b["n"] for b in metrics["bands"].values()) == 32
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["rmse"] == metrics["rmse"]
    assert (tmp_path / "eval" / "residual_by_band.png").stat().st_size > 1000
    assert (tmp_path / "eval" / "calibration.png").stat().st_size > 1000
    table = (tmp_path / "eval" / "calibration.csv").read_text().splitlines()
    assert table[0].startswith("bin,n,pred_low,pred_high,mean_pred_likes,mean_true_likes,ratio")
    assert len(table) == 11 and sum(int(line.split(",")[1]) for line in table[1:]) == 32
    assert metrics["sum_ratio"] == pytest.approx(metrics["sum_pred_likes"] / metrics["sum_true_likes"])
    card = (tmp_path / "card" / "README.md").read_text()
    assert "| like band |" in card and "| bin | n | predicted likes |" in card


def test_evaluate_without_out_writes_beside_the_model_and_prints_the_calibration(image_parquet, tmp_path,
                                                                                 monkeypatch):
    torch.manual_seed(0)
    model = LikeRegressor(RegressorConfig(backbone="tiny", backbone_config=tiny_backbone_config("siglip"),
                                          image_size=32, transform="log1p", head_bias=6.0))
    folder = export_regressor(model, tmp_path / "models" / "m1")
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    result = CliRunner().invoke(app, ["evaluate", str(image_parquet), "--model", "../models/m1",
                                      "--num-workers", "0"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "calibration by predicted likes" in result.output
    assert "sum of predicted / true likes" in result.output
    assert list(workdir.iterdir()) == []
    assert (folder.parent / "m1-eval" / "calibration.csv").exists()


def test_constant_predictions_have_no_spearman_and_raise_no_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = like_space_metrics(np.full(6, 10.0), np.arange(6.0) + 5, "cbrt*log")
    assert np.isnan(metrics["spearman"]) and metrics["rmse"] > 0
