"""The retransformation fix: a like-space correction of a head trained in transformed space.

A head trained with MSE on f(likes) predicts E[f(likes) | image]. Mapping that back with f^-1 gives
f^-1(E[f(likes) | image]), which is below E[likes | image] because f^-1 is convex (Jensen): every
prediction is too low by about the same factor, in every bin of predicted value, and the sum of
predicted likes falls short of the sum of true likes (the seed's 258 -> 242 check). That part of the
underprediction is fixable; the rest of the error measured by true-like band is regression to the
mean, which no predictor removes (see `benchmarks/likes_oracle.py`).

The fix is fitted on held-out posts, never the training data: posts are sorted by prediction and cut
into equal-count bins; in each bin the ratio of mean true likes to mean predicted likes is measured
(a binned, heteroscedastic form of Duan's smearing estimator: one global residual distribution
mis-corrects the low bins badly). The log ratio is smoothed by a quadratic in the prediction (least
squares over the bins; each bin's ratio on a few hundred heavy-tailed posts is noisy by several
per cent, the quadratic averages that out) and held constant beyond the first and last bin centres;
posts predicted above the highest held-out target (wild extrapolations) are left out of the fit.

`aim` is what the corrected score aims at: aim * E[likes | prediction]. Full calibration (aim 1.0)
is not free in transformed space: on the synthetic benchmark's test posts it costs x1.031-1.034 RMSE
over the MSE head (the oracle's own f(E[likes | quality]) costs x1.031 over the oracle), because
raising a prediction by a like ratio r costs about (pred * log(r) / 3)^2 and the highest predictions
carry most of that. So by default the aim is not fixed but chosen on the held-out posts: the highest
aim (at most 1.0, in steps of 0.001) whose corrected RMSE there stays within `rmse_budget` times the
uncorrected head's. DEFAULT_RMSE_BUDGET = 1.027 was chosen on 20 benchmark seeds (10-29) that are
not the reported ones, with 192,000 held-out posts: every budget from 1.0255 to 1.028 met the goals
(sum ratio within 1.00 +- 0.03, every decile within 10%, RMSE within +3%) on all 20, and 1.027 leaves
its worst sum (0.976) and its worst RMSE (x1.0286) about equally far from the goals' edges. Like
counts are heavy-tailed, so the held-out set's size matters: a held-out sum of likes moves by about
0.6% (sd) between draws of 48,000 posts and 0.3% at 192,000, and the chosen aim inherits that. Pass
an explicit aim (1.0: an unbiased E[likes | image]) to fix it instead.

The corrected score is f(aim * f^-1(pred) * ratio(pred)), tabulated on knots at the held-out
prediction quantiles and stored as a monotone piecewise-linear map in transformed
units, so it runs as the head's last layer (scores, `likes evaluate` and `reward()` include it, and
it stays differentiable) and f^-1 of the score estimates aim * E[likes | image].
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from curation.errors import CurationError
from curation.transforms import get_transform

DEFAULT_BINS = 20
DEFAULT_RMSE_BUDGET = 1.027
AIM_STEP = 0.001
LOWEST_AIM = 0.5
KNOTS = 65


@dataclass(frozen=True)
class Retransform:
    """A monotone piecewise-linear map of transformed predictions (knots -> values); beyond the end
    knots it shifts by the end knots' offsets."""

    knots: tuple[float, ...]
    values: tuple[float, ...]
    transform: str = "cbrt*log"
    aim: float = 1.0  # the fraction of the expected likes the map aims at (provenance only)
    rmse_budget: float | None = None  # the held-out RMSE budget that chose the aim, if one did

    def apply(self, pred: np.ndarray) -> np.ndarray:
        pred = np.asarray(pred, dtype=np.float64)
        knots, values = np.array(self.knots), np.array(self.values)
        inside = np.interp(pred, knots, values)
        below = pred + (values[0] - knots[0])
        above = pred + (values[-1] - knots[-1])
        return np.where(pred < knots[0], below, np.where(pred > knots[-1], above, inside))

    def to_dict(self) -> dict[str, Any]:
        return {"knots": list(self.knots), "values": list(self.values), "transform": self.transform,
                "aim": self.aim, "rmse_budget": self.rmse_budget}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Retransform:
        return cls(tuple(map(float, data["knots"])), tuple(map(float, data["values"])),
                   str(data.get("transform", "cbrt*log")), float(data.get("aim", 1.0)),
                   None if data.get("rmse_budget") is None else float(data["rmse_budget"]))


class RetransformLayer(nn.Module):
    """The map as the head's last layer; non-persistent buffers, so weights files are unchanged."""

    def __init__(self, retransform: Retransform) -> None:
        super().__init__()
        self.retransform = retransform
        self.register_buffer("knots", torch.tensor(retransform.knots, dtype=torch.float32), persistent=False)
        self.register_buffer("values", torch.tensor(retransform.values, dtype=torch.float32),
                             persistent=False)

    def forward(self, pred: torch.Tensor) -> torch.Tensor:
        knots, values = self.knots, self.values.to(pred.dtype)
        index = torch.searchsorted(knots, pred.detach().float().contiguous()).clamp(1, len(knots) - 1)
        left, right = knots[index - 1].to(pred.dtype), knots[index].to(pred.dtype)
        weight = ((pred - left) / (right - left)).clamp(0.0, 1.0)
        inside = values[index - 1] + weight * (values[index] - values[index - 1])
        below = pred + (values[0] - knots[0])
        above = pred + (values[-1] - knots[-1])
        return torch.where(pred < knots[0], below, torch.where(pred > knots[-1], above, inside))


def bin_ratios(pred: np.ndarray, target: np.ndarray, transform: str,
               bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per equal-count bin of predictions: mean prediction (transformed) and mean true / mean
    predicted likes."""
    t = get_transform(transform)
    pred_likes = t.inverse(np.maximum(pred, t.floor))
    true_likes = t.inverse(np.maximum(target, t.floor))
    centres, ratios = [], []
    for index in np.array_split(np.argsort(pred, kind="stable"), bins):
        predicted = pred_likes[index].mean()
        centres.append(pred[index].mean())
        ratios.append(true_likes[index].mean() / predicted if predicted > 0 else 1.0)
    return np.array(centres), np.array(ratios)


def smoothed_log_ratio(centres: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """Coefficients of a least-squares quadratic (fewer distinct bin centres: lower degree) of the
    bins' log ratios."""
    distinct = len(np.unique(np.round(centres, 6)))
    return np.polyfit(centres, np.log(np.clip(ratios, 1e-3, None)), min(2, distinct - 1))


def check_aim(aim: float | None, rmse_budget: float = DEFAULT_RMSE_BUDGET) -> None:
    if aim is not None and not 0 < aim <= 2:
        raise CurationError(f"the retransformation's aim is a fraction of the expected likes, in (0, 2]: "
                            f"not {aim}")
    if not rmse_budget >= 1:
        raise CurationError(f"the retransformation's RMSE budget is a ratio to the uncorrected head's RMSE, "
                            f"at least 1: not {rmse_budget}")


def fit_retransform(pred: np.ndarray, target: np.ndarray, transform: str, bins: int = DEFAULT_BINS,
                    aim: float | None = None, rmse_budget: float = DEFAULT_RMSE_BUDGET) -> Retransform:
    """Fit the like-space correction on held-out transformed predictions and targets; the corrected
    score aims at `aim` times the expected likes, or, without an aim, at the highest fraction within
    `rmse_budget` times the uncorrected RMSE on these posts."""
    check_aim(aim, rmse_budget)
    pred, target = usable_held_out(pred, target, bins)
    knots, expected = expected_likes_at_knots(pred, target, transform, bins)
    if aim is not None:
        return aimed_map(knots, expected, aim, transform)
    return within_budget(pred, target, knots, expected, transform, rmse_budget)


def usable_held_out(pred: np.ndarray, target: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The held-out predictions and targets the fit uses: those predicted within the targets' range
    (a wild extrapolation would decide its bin's ratio otherwise), at least two per bin."""
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    if len(pred) != len(target) or len(pred) < 2 * bins:
        raise CurationError(f"the retransformation needs at least {2 * bins} held-out posts "
                            f"({bins} bins of 2), got {len(pred)}")
    inside = pred <= target.max()
    if inside.sum() < 2 * bins:
        raise CurationError(f"only {inside.sum()} held-out predictions lie within the held-out target range")
    return pred[inside], target[inside]


def expected_likes_at_knots(pred: np.ndarray, target: np.ndarray, transform: str,
                            bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Knots at the prediction quantiles and E[likes | prediction] there (the smoothed bin ratios)."""
    t = get_transform(transform)
    centres, ratios = bin_ratios(pred, target, transform, bins)
    knots = np.unique(np.quantile(pred, np.linspace(0.0, 1.0, KNOTS)))
    if len(knots) < 2:
        knots = np.array([knots[0] - 1.0, knots[0] + 1.0])
    log_ratio = np.polyval(smoothed_log_ratio(centres, ratios), np.clip(knots, centres[0], centres[-1]))
    return knots, t.inverse(np.maximum(knots, t.floor)) * np.exp(log_ratio)


def aimed_map(knots: np.ndarray, expected: np.ndarray, aim: float, transform: str,
              rmse_budget: float | None = None) -> Retransform:
    t = get_transform(transform)
    values = np.maximum.accumulate(t.forward(np.maximum(aim * expected, 0.0)))
    return Retransform(tuple(knots.tolist()), tuple(values.tolist()), transform, aim, rmse_budget)


def held_out_sum_noise(pred: np.ndarray, target: np.ndarray, fix: Retransform) -> float:
    """One standard error of the held-out posts' sum of likes around the fix's expectation, as a
    fraction of that sum: how far the draw of held-out posts alone can move the fitted aim (like
    counts are heavy-tailed, so it falls only as 1 / sqrt(posts))."""
    t = get_transform(fix.transform)
    expected = t.inverse(np.maximum(fix.apply(pred), t.floor)) / fix.aim
    true = t.inverse(np.maximum(np.asarray(target, np.float64), t.floor))
    if true.sum() <= 0:
        return float("inf")
    return float(np.std(true - expected) * np.sqrt(len(true)) / true.sum())


def within_budget(pred: np.ndarray, target: np.ndarray, knots: np.ndarray, expected: np.ndarray,
                  transform: str, rmse_budget: float) -> Retransform:
    """The map with the highest aim (1.0 down, in AIM_STEP) whose RMSE on these posts is within the
    budget; if none down to LOWEST_AIM is, the cheapest of them, which records no budget."""
    limit = rmse_budget * np.sqrt(np.mean((pred - target) ** 2))
    cheapest, cheapest_rmse = None, np.inf
    for aim in np.round(np.arange(1.0, LOWEST_AIM - AIM_STEP / 2, -AIM_STEP), 3):
        fix = aimed_map(knots, expected, float(aim), transform, rmse_budget)
        rmse = np.sqrt(np.mean((fix.apply(pred) - target) ** 2))
        if rmse <= limit:
            return fix
        if rmse < cheapest_rmse:
            cheapest, cheapest_rmse = fix, rmse
    assert cheapest is not None
    return replace(cheapest, rmse_budget=None)
