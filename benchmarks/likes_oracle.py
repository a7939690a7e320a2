"""The best any predictor can do on the synthetic like benchmark: an oracle that knows each post's
latent quality (everything the image says about its likes) but not the like noise.

Its MSE-optimal prediction is m(q) = E[target | q]. Raising the prediction by d(q) costs
E[d(q)^2] of MSE and lifts the mean predicted likes of the 2k-20k band by
E[P(band | q) * (f^-1(m + d) - f^-1(m))] / P(band). For each Lagrange multiplier the per-bin
maximiser of lift - cost / multiplier is found on a grid of d (capped, so a few absurd predictions
cannot buy the mean), which traces the frontier: the largest cut of the band's mean underprediction
reachable at a given RMSE increase: points some predictor reaches ("achieved").

Per bin the problem is not concave, so the sweep can leave gaps. The true upper bound comes from
weak duality: for any multiplier mu, every post's lift - mu * cost is at most its own maximum over
d (taken on the grid, rounded up so it is a bound), so no predictor of the quality, deterministic
or randomised, lifts the band by more than min over mu of that sum + mu * budget. Predictions are
capped at `top`, the highest target of the pool: without a cap a few absurd predictions buy any
band mean and the bound is infinite. A loss option that beats the upper bound on test posts is
measuring sampling noise, not skill.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from curation.transforms import get_transform

LIFT_GRID = np.linspace(0.0, 400.0, 1601)
LIFT_CAPS = (400.0, 200.0, 100.0, 60.0, 40.0, 25.0)
MULTIPLIERS = np.geomspace(1e-4, 1e3, 240)
DUALS = np.geomspace(1e-7, 1e2, 64)
BUDGETS = (1.01, 1.02, 1.05, 1.10)


@dataclass
class Oracle:
    """Per quality bin: the MSE-optimal prediction, what a lift there buys, and the chosen lift."""

    edges: np.ndarray
    mean: np.ndarray
    mean_likes: np.ndarray
    weight: np.ndarray
    p_band: np.ndarray
    lift: np.ndarray
    mse: float
    band_error: float
    points: np.ndarray
    transform: str
    top: float

    def bins(self, quality: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.edges, quality) - 1, 0, len(self.mean) - 1)

    def predict(self, quality: np.ndarray, lifted: bool = False) -> np.ndarray:
        index = self.bins(quality)
        return self.mean[index] + (self.lift[index] if lifted else 0.0)

    def retransformed(self) -> np.ndarray:
        """Per bin f(E[likes | quality]): the independent, like-space calibrated predictor."""
        return get_transform(self.transform).forward(self.mean_likes)

    def evaluate(self, per_bin: np.ndarray) -> tuple[float, float]:
        """Population MSE and 2k-20k mean signed error of a predictor that is a function of the bin."""
        t = get_transform(self.transform)
        lift = t.inverse(np.maximum(per_bin, t.floor)) - t.inverse(self.mean)
        mse = self.mse + float(np.sum(self.weight * (per_bin - self.mean) ** 2))
        return mse, self.band_error + float(np.sum(self.weight * self.p_band * lift) / self.p_in_band)

    @property
    def p_in_band(self) -> float:
        return float(np.sum(self.weight * self.p_band))

    def best_band_error(self, mse_limit: float) -> float:
        """Achieved: the least negative 2k-20k mean signed error the sweep reaches within `mse_limit`."""
        affordable = self.points[self.points[:, 0] <= mse_limit]
        return float(affordable[:, 1].max()) if len(affordable) else float("nan")

    def upper_bound(self, mse_limit: float) -> float:
        """No predictor of the quality with predictions up to `top` and MSE within `mse_limit` has a
        less negative 2k-20k mean signed error (the dual bound)."""
        gain, lower, usable = self._dual_terms
        budget = max(mse_limit - self.mse, 0.0)

        def dual_value(dual: float) -> float:  # convex in the multiplier; every value bounds the lift
            return float(np.sum(self.weight * np.max(np.where(usable, gain - dual * lower**2, 0.0), 1))
                         + dual * budget)

        values = [dual_value(dual) for dual in DUALS]
        best = int(np.argmin(values))
        around = np.geomspace(DUALS[max(best - 1, 0)], DUALS[min(best + 1, len(DUALS) - 1)], 24)
        return self.band_error + min(values[best], *[dual_value(dual) for dual in around])

    @cached_property
    def _dual_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per bin and grid interval [d_i, d_i+1]: band lift at d_i+1 (capped at `top`), an upper
        bound on any lift within; d_i, whose square bounds its cost below; whether it is allowed."""
        t = get_transform(self.transform)
        room = np.clip(self.top - self.mean, 0.0, None)
        lower = LIFT_GRID[None, :-1]
        upper = np.minimum(LIFT_GRID[None, 1:], room[:, None])
        gain = (t.inverse(self.mean[:, None] + upper) - t.inverse(self.mean)[:, None])
        return gain * (self.p_band / self.p_in_band)[:, None], lower, lower <= room[:, None]

    def frontier(self, rmse_ratios: tuple[float, ...] = BUDGETS, bound: bool = False) -> dict[float, float]:
        """Band error cut (x of the oracle's own) achieved (or, with `bound`, at best possible) at each
        RMSE ratio to the oracle's own."""
        best = self.upper_bound if bound else self.best_band_error
        return {ratio: best(ratio**2 * self.mse) / self.band_error for ratio in rmse_ratios}


def fit_oracle(quality: np.ndarray, draw_likes: Callable[[np.ndarray], np.ndarray], transform: str,
               band: tuple[float, float] = (2_000.0, 20_000.0), *, bins: int = 400, repeats: int = 8,
               budget: float = 1.05, lift_caps: tuple[float, ...] | None = None) -> Oracle:
    """Oracle over `repeats` fresh like draws per quality; its lift is the achieved point at `budget` RMSE."""
    t = get_transform(transform)
    pool = np.repeat(quality, repeats)
    likes = draw_likes(pool)
    target = t.forward(likes)
    edges = np.quantile(pool, np.linspace(0, 1, bins + 1))
    index = np.clip(np.searchsorted(edges, pool) - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins).astype(np.float64)
    mean = np.bincount(index, target, bins) / count
    in_band = (likes >= band[0]) & (likes < band[1])
    oracle = Oracle(edges, mean, np.bincount(index, likes, bins) / count, count / count.sum(),
                    np.bincount(index, in_band, bins) / count, np.zeros(bins),
                    float(np.mean((target - mean[index]) ** 2)),
                    float(np.mean(t.inverse(mean[index][in_band]) - likes[in_band])), np.empty((0, 2)),
                    transform, float(target.max()))
    oracle.points, lifts = sweep(oracle, LIFT_CAPS if lift_caps is None else lift_caps)
    affordable = np.flatnonzero(oracle.points[:, 0] <= budget**2 * oracle.mse)
    oracle.lift = lifts[affordable[np.argmax(oracle.points[affordable, 1])]]
    return oracle


def sweep(oracle: Oracle, lift_caps: tuple[float, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """For each cap and Lagrange multiplier, the per-bin maximiser of band lift - cost / multiplier:
    the (MSE, band error) points it reaches and the lifts that reach them."""
    room = np.clip(oracle.top - oracle.mean, 0.0, None)
    t = get_transform(oracle.transform)
    gain = t.inverse(oracle.mean[:, None] + LIFT_GRID[None]) - t.inverse(oracle.mean)[:, None]
    points, lifts = [(oracle.mse, oracle.band_error)], [np.zeros(len(oracle.mean))]
    rows = np.arange(len(oracle.mean))
    for cap in lift_caps:
        allowed = (LIFT_GRID[None] <= cap) & (LIFT_GRID[None] <= room[:, None])
        for multiplier in MULTIPLIERS:
            value = multiplier * oracle.p_band[:, None] * gain - LIFT_GRID[None] ** 2
            value = np.where(allowed, value, -np.inf)
            choice = np.argmax(value, 1)
            lifts.append(LIFT_GRID[choice])
            band_lift = np.sum(oracle.weight * oracle.p_band * gain[rows, choice]) / oracle.p_in_band
            cost = np.sum(oracle.weight * lifts[-1] ** 2)
            points.append((oracle.mse + cost, oracle.band_error + band_lift))
    return np.array(points), lifts
