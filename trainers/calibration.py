"""Post-hoc tail calibration of the regressor, fitted on held-out posts.

An MSE regressor predicts E[target | image], which shrinks towards the mean: posts that really got
many likes are predicted too low (regression to the mean). A tail stretch,
pred' = pred + (slope - 1) * clip(pred - knot, 0, top - knot), raises only the highest predictions
(up to `top`, the highest held-out target, so a wild extrapolation is not stretched further). It is fitted
on held-out predictions (on training data the head overfits and the shrinkage is hidden): for each
candidate knot, the slope that cuts the held-out mean underprediction in a like band by `cut` is
found by bisection, and the knot whose stretch costs the least held-out MSE wins (over posts predicted
within the held-out target range: a wild extrapolation would otherwise decide).

The stretch targets the error by *true* likes, most of which is regression to the mean that no
predictor removes; it buys it with RMSE and leaves predictions miscalibrated. The retransformation
fix (`trainers.retransform`) targets the part a model can fix. Either one is a model's calibration:
stored in calibration.json / an export's config.json under its key, and attached as the head's last
layer by `attach_calibration`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from curation.errors import CurationError
from trainers.retransform import Retransform, RetransformLayer

KNOT_QUANTILES = (0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995)
MAX_SLOPE = 64.0
CALIBRATION_FILE = "calibration.json"
METHODS = ("retransform", "tail-stretch")


@dataclass(frozen=True)
class TailStretch:
    """pred' = pred + (slope - 1) * clip(pred - knot, 0, top - knot), in transformed-target units."""

    knot: float
    slope: float = 1.0
    top: float = float("inf")

    def apply(self, pred: np.ndarray) -> np.ndarray:
        pred = np.asarray(pred, dtype=np.float64)
        return pred + (self.slope - 1.0) * np.clip(pred - self.knot, 0.0, self.top - self.knot)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TailStretch:
        return cls(**{key: float(data[key]) for key in ("knot", "slope", "top") if key in data})


class TailStretchLayer(nn.Module):
    """The stretch as the head's last layer; buffers are not persistent, so weights files are unchanged."""

    def __init__(self, stretch: TailStretch) -> None:
        super().__init__()
        self.stretch = stretch
        self.register_buffer("knot", torch.tensor(stretch.knot), persistent=False)
        self.register_buffer("slope", torch.tensor(stretch.slope), persistent=False)
        self.register_buffer("top", torch.tensor(stretch.top), persistent=False)

    def forward(self, pred: torch.Tensor) -> torch.Tensor:
        return pred + (self.slope - 1.0) * torch.minimum(torch.relu(pred - self.knot), self.top - self.knot)


Calibration = TailStretch | Retransform
_LAYERS = (TailStretchLayer, RetransformLayer)


def attach_calibration(model: nn.Module, calibration: Calibration | None) -> nn.Module:
    """Append (or replace) the calibration at the end of `model.head`, so forward, score and reward
    apply it."""
    head = model.head
    if isinstance(head[-1], _LAYERS):
        del head[-1]
    if calibration is not None:
        layer = (TailStretchLayer(calibration) if isinstance(calibration, TailStretch)
                 else RetransformLayer(calibration))
        head.append(layer.to(next(model.parameters()).device))
    return model


def model_calibration(model: nn.Module) -> Calibration | None:
    """The calibration attached to `model`, if any."""
    last = model.head[-1]
    if isinstance(last, TailStretchLayer):
        return last.stretch
    return last.retransform if isinstance(last, RetransformLayer) else None


def calibration_to_dict(calibration: Calibration) -> dict[str, Any]:
    """{"tail_stretch": {...}} or {"retransform": {...}}: what calibration.json and config.json hold."""
    key = "tail_stretch" if isinstance(calibration, TailStretch) else "retransform"
    return {key: calibration.to_dict()}


def calibration_from_dict(data: dict[str, Any]) -> Calibration:
    if "retransform" in data:
        return Retransform.from_dict(data["retransform"])
    if "tail_stretch" in data:
        return TailStretch.from_dict(data["tail_stretch"])
    raise CurationError(f"unknown calibration {sorted(data)} (expected tail_stretch or retransform)")


def describe_calibration(calibration: Calibration) -> str:
    """One sentence for logs and model cards."""
    if isinstance(calibration, TailStretch):
        return (f"tail stretch: predictions above {calibration.knot:.3f} are stretched "
                f"x{calibration.slope:.3g}, up to {calibration.top:.3f}")
    low, high = calibration.values[0] - calibration.knots[0], calibration.values[-1] - calibration.knots[-1]
    chosen = ("" if calibration.rmse_budget is None else
              f" (the highest aim within RMSE x{calibration.rmse_budget:g} on the held-out posts)")
    return (f"retransformation: a monotone map to f({calibration.aim:g} * E[likes | prediction]){chosen} "
            f"over {len(calibration.knots)} knots, {low:+.2f} at the lowest and {high:+.2f} at the highest "
            "held-out prediction")


def save_calibration(calibration: Calibration, folder: Path) -> Path:
    """Write calibration.json into a run, checkpoint or export folder."""
    path = Path(folder) / CALIBRATION_FILE
    path.write_text(json.dumps(calibration_to_dict(calibration), indent=2))
    return path


def load_calibration(folder: Path) -> Calibration | None:
    """The calibration stored in `folder`'s calibration.json, or None when there is none."""
    path = Path(folder) / CALIBRATION_FILE
    if not path.exists():
        return None
    return calibration_from_dict(json.loads(path.read_text()))


def band_signed_error(pred: np.ndarray, target: np.ndarray, transform: str,
                      band: tuple[float, float]) -> float:
    """Mean (predicted - true) likes over posts whose true like count lies in [low, high)."""
    from trainers.evaluate import to_likes

    true_likes = to_likes(target, transform)
    mask = (true_likes >= band[0]) & (true_likes < band[1])
    if not mask.any():
        raise CurationError(f"no held-out posts with {band[0]:,.0f}-{band[1]:,.0f} likes to calibrate on")
    return float((to_likes(pred[mask], transform) - true_likes[mask]).mean())


def _slope_for(pred: np.ndarray, target: np.ndarray, transform: str, band: tuple[float, float],
               knot: float, goal: float) -> float | None:
    """Smallest slope whose band signed error reaches `goal` (bisection; it rises with the slope)."""
    top = float(target.max())

    def error(slope: float) -> float:
        return band_signed_error(TailStretch(knot, slope, top).apply(pred), target, transform, band)

    low, high = 1.0, MAX_SLOPE
    if error(high) < goal:
        return None
    for _ in range(40):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if error(middle) < goal else (low, middle)
    return high


def fit_tail_stretch(pred: np.ndarray, target: np.ndarray, transform: str, *, cut: float = 0.5,
                     band: tuple[float, float] = (2_000.0, 20_000.0),
                     knot_quantiles: tuple[float, ...] = KNOT_QUANTILES) -> TailStretch:
    """The cheapest (held-out MSE) tail stretch that cuts the band's mean underprediction by `cut`."""
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    if not 0.0 <= cut <= 1.0:
        raise CurationError(f"calibration cut must be within 0..1, got {cut}")
    base = band_signed_error(pred, target, transform, band)
    if base >= 0 or cut == 0.0:
        return TailStretch(knot=float(pred.max()), slope=1.0, top=float(target.max()))
    goal = (1.0 - cut) * base
    inside = pred <= target.max()
    best: tuple[float, TailStretch] | None = None
    for knot in np.quantile(pred, knot_quantiles):
        slope = _slope_for(pred, target, transform, band, float(knot), goal)
        if slope is None:
            continue
        stretch = TailStretch(float(knot), slope, float(target.max()))
        cost = float(np.mean((stretch.apply(pred[inside]) - target[inside]) ** 2))
        if best is None or cost < best[0]:
            best = (cost, stretch)
    if best is None:
        raise CurationError(f"no tail stretch up to slope {MAX_SLOPE:g} cuts the band error by {cut:.0%}")
    return best[1]
