"""The training loop on CPU: exact resume from safetensors checkpoints, kept steps, the schedule."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from conftest import tiny_backbone_config, write_image_parquet

from trainers.checkpoint import latest_checkpoint
from trainers.losses import LossConfig
from trainers.model import RegressorConfig
from trainers.train import TrainConfig, lr_at, train


def tiny_run(data: Path, out: Path, max_steps: int, **options) -> TrainConfig:
    model = RegressorConfig(backbone="tiny-siglip", backbone_config=tiny_backbone_config("siglip"),
                            image_size=32, head="mlp", head_hidden=(16,), dropout=0.2)
    defaults = dict(pretrained=False, batch_size=4, grad_accum=2, max_steps=max_steps, lr=1e-3,
                    warmup_steps=2, num_workers=0, shuffle_buffer=8, log_every=1, checkpoint_every=3,
                    loss=LossConfig("huber", huber_delta=5.0, rank_weight=0.1))
    return TrainConfig(data=str(data), out_dir=out, model=model, **{**defaults, **options})


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_resumed_run_matches_an_uninterrupted_one(image_parquet, tmp_path):
    # 7 steps x 8 samples cross the 32-row epoch boundary; dropout exercises the saved RNG state.
    straight = train(tiny_run(image_parquet, tmp_path / "straight", max_steps=7))
    train(tiny_run(image_parquet, tmp_path / "split", max_steps=3))
    resumed = train(tiny_run(image_parquet, tmp_path / "split", max_steps=7))
    assert resumed["step"] == 7
    a, b = weights(straight["model"]), weights(resumed["model"])
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    fresh = train(tiny_run(image_parquet, tmp_path / "other-seed", max_steps=7, seed=1))
    assert not all(torch.equal(a[k], v) for k, v in weights(fresh["model"]).items())


def test_chosen_steps_and_the_final_checkpoint_are_kept(image_parquet, tmp_path):
    train(tiny_run(image_parquet, tmp_path / "run", max_steps=8, checkpoint_every=2, keep_steps=(4,),
                   grad_accum=1))
    kept = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert kept == ["step_0000004", "step_0000008"]
    assert latest_checkpoint(tmp_path / "run" / "checkpoints").name == "step_0000008"
    assert (tmp_path / "run" / "train_log.jsonl").read_text().count("\n") == 8


def test_training_lowers_the_loss_on_a_learnable_signal(image_parquet, tmp_path):
    run = tiny_run(image_parquet, tmp_path / "fit", max_steps=30, grad_accum=1, batch_size=8, lr=3e-3,
                   warmup_steps=3, loss=LossConfig("mse"), checkpoint_every=100)
    result = train(run)
    lines = (tmp_path / "fit" / "train_log.jsonl").read_text().splitlines()
    first, last = (sum(float(line.split('"loss": ')[1].split(",")[0]) for line in chunk) / 5
                   for chunk in (lines[:5], lines[-5:]))
    assert last < first
    assert result["step"] == 30


def test_learning_rate_warms_up_then_decays_to_the_floor():
    config = TrainConfig(data="x", out_dir=Path("x"), lr=1.0, min_lr=0.1, warmup_steps=10, max_steps=110)
    assert lr_at(0, config, 1.0) == pytest.approx(0.1)
    assert lr_at(9, config, 1.0) == pytest.approx(1.0)
    assert lr_at(60, config, 1.0) == pytest.approx(0.55)
    assert lr_at(110, config, 1.0) == pytest.approx(0.1)


@pytest.mark.parametrize("method", ["retransform", "tail-stretch"])
def test_calibration_on_held_out_posts_is_attached_and_saved_with_the_checkpoint(image_parquet, tmp_path,
                                                                                method, capsys):
    from trainers.calibration import TailStretch, load_calibration, model_calibration
    from trainers.export import export_regressor, load_regressor
    from trainers.retransform import DEFAULT_RMSE_BUDGET, Retransform

    held_out = write_image_parquet(tmp_path / "held-out" / "part-0.parquet", rows=24, seed=5)
    summary = train(tiny_run(image_parquet, tmp_path / "run", max_steps=3, calibrate_data=str(held_out),
                             calibrate_band=(20.0, 1e9), calibrate_method=method))
    stretch = model_calibration(summary["model"])
    if method == "tail-stretch":
        assert isinstance(stretch, TailStretch) and stretch.top > stretch.knot
    else:
        assert isinstance(stretch, Retransform) and len(stretch.knots) >= 2
        printed = " ".join(capsys.readouterr().err.split())
        within = f"(the highest aim within RMSE x{DEFAULT_RMSE_BUDGET:g}"
        assert f"f({stretch.aim:g} * E[likes | prediction]) {within}" in printed
        assert re.search(r"the held-out sum of likes is known to \+-\d+\.\d% \(1 sd\)", printed)
    assert load_calibration(tmp_path / "run") == stretch == load_calibration(Path(summary["checkpoint"]))
    exported = export_regressor(summary["model"], tmp_path / "export")
    assert model_calibration(load_regressor(exported)) == stretch


def test_bad_settings_and_data_fail_before_any_model_is_loaded(image_parquet, tmp_path, monkeypatch):
    """A wrong column or aim is reported at once, not after a model download or a whole training."""
    from curation.errors import CurationError, InputError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the default backbone cannot load here: it must not be tried
    with pytest.raises(CurationError, match="aim"):
        TrainConfig(data=str(image_parquet), out_dir=tmp_path, calibrate_aim=0.0)
    config = TrainConfig(data=str(image_parquet), out_dir=tmp_path, like_column="retweets", num_workers=0)
    with pytest.raises(InputError, match="column not found"):
        train(config)
    with pytest.raises(InputError, match="no such file or folder here .* as a Hub dataset id"):
        train(TrainConfig(data=str(image_parquet), out_dir=tmp_path, calibrate_data=str(tmp_path / "gone")))
    favorites = tmp_path / "favorites.parquet"
    pq.write_table(pq.read_table(image_parquet).rename_columns(["image", "favorites"]), favorites)
    with pytest.raises(InputError, match="column not found"):
        train(TrainConfig(data=str(image_parquet), out_dir=tmp_path, calibrate_data=str(favorites)))
    assert not (tmp_path / "checkpoints").exists()
