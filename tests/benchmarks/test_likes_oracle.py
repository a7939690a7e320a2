"""The oracle behind the synthetic like benchmark's frontier: its claims hold on fresh posts, its
upper bound holds against independent predictors, and the optimiser reaches it (two-sided)."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from likes_oracle import LIFT_CAPS, Oracle, fit_oracle, sweep  # noqa: E402
from synthetic_likes import LikeModel, draw_likes  # noqa: E402

from curation.transforms import get_transform  # noqa: E402
from trainers.calibration import TailStretch  # noqa: E402

BAND = (2_000.0, 20_000.0)
SEED_TAIL = 0.22  # the benchmark's default world: the seed's target std and maximum
T = get_transform("cbrt*log")


def synthetic_posts(signal: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, LikeModel]:
    rng = np.random.default_rng(seed)
    quality = rng.standard_normal(n)
    likes, model = draw_likes(quality, rng, signal, "lognormal", SEED_TAIL)
    return quality, likes, model


def oracle_for(signal: float, seed: int, **options) -> Oracle:
    quality, _, model = synthetic_posts(signal, 20_000, seed)
    return fit_oracle(quality, lambda q: model.draw(q, np.random.default_rng(seed + 1)), "cbrt*log",
                      bins=100, repeats=4, **options)


def band_error(pred: np.ndarray, likes: np.ndarray) -> float:
    in_band = (likes >= BAND[0]) & (likes < BAND[1])
    return float(np.mean(T.inverse(pred[in_band]) - likes[in_band]))


@pytest.fixture(scope="module")
def oracle_and_fresh_posts():
    quality, _, model = synthetic_posts(0.7, 20_000, seed=0)
    oracle = fit_oracle(quality, lambda q: model.draw(q, np.random.default_rng(1)), "cbrt*log",
                        bins=100, repeats=4)
    fresh_quality = np.repeat(quality, 4)
    return oracle, fresh_quality, model.draw(fresh_quality, np.random.default_rng(2))


def test_the_lift_costs_what_the_frontier_says_on_fresh_likes(oracle_and_fresh_posts):
    oracle, quality, likes = oracle_and_fresh_posts
    target = T.forward(likes)
    plain, lifted = oracle.predict(quality), oracle.predict(quality, lifted=True)
    rmse_ratio = np.sqrt(np.mean((lifted - target) ** 2) / np.mean((plain - target) ** 2))
    cut = band_error(lifted, likes) / band_error(plain, likes)
    assert rmse_ratio == pytest.approx(1.05, abs=0.01)
    assert cut == pytest.approx(oracle.frontier()[1.05], abs=0.05)
    assert band_error(plain, likes) < 0


def test_the_frontier_falls_as_the_budget_grows(oracle_and_fresh_posts):
    cuts = list(oracle_and_fresh_posts[0].frontier((1.0, 1.01, 1.05, 1.1, 1.3)).values())
    assert cuts[0] == pytest.approx(1.0)
    assert np.all(np.diff(cuts) <= 0)
    assert cuts[-1] < 0.5


def assert_the_optimiser_reaches_the_bound(oracle: Oracle) -> None:
    """Two-sided: the achieved point never beats the upper bound and is within 3% of the band error
    of it at each budget."""
    achieved, bound = oracle.frontier(), oracle.frontier(bound=True)
    for budget in achieved:
        assert bound[budget] <= achieved[budget] <= bound[budget] + 0.03, f"RMSE x{budget}"


def test_at_the_seeds_noise_level_halving_is_out_of_reach_and_the_optimiser_reaches_the_bound(
        oracle_and_fresh_posts):
    oracle = oracle_and_fresh_posts[0]
    assert oracle.frontier(bound=True)[1.05] > 0.5  # the bound: no predictor halves it within +5% RMSE
    assert_the_optimiser_reaches_the_bound(oracle)


def independent_predictors(oracle: Oracle) -> dict[str, np.ndarray]:
    """Per-bin predictions the optimiser never saw, capped at the bound's `top`."""
    mean = oracle.mean
    candidates = {"f(E[likes | q])": oracle.retransformed(), "achieved lift": mean + oracle.lift}
    candidates |= {f"+{c:g} everywhere": mean + c for c in (0.5, 2.0, 8.0)}
    for knot, slope in ((30.0, 1.5), (45.0, 2.0), (60.0, 3.0)):
        candidates[f"stretch {knot:g} x{slope:g}"] = TailStretch(knot, slope).apply(mean)
    rng = np.random.default_rng(0)
    for draw in range(5):
        lifted = rng.random(len(mean)) < 0.3
        candidates[f"random lift {draw}"] = mean + rng.exponential(3.0, len(mean)) * lifted
    return {name: np.minimum(pred, oracle.top) for name, pred in candidates.items()}


def test_no_independent_predictor_beats_the_upper_bound(oracle_and_fresh_posts):
    oracle = oracle_and_fresh_posts[0]
    points = [oracle.evaluate(pred) for pred in independent_predictors(oracle).values()]
    # a per-post random mix of two predictors reaches every point between them
    points += [tuple(0.5 * np.add(a, b)) for a, b in zip(points, points[1:], strict=False)]
    for mse, error in points:
        assert error <= oracle.upper_bound(mse) + 1e-6 * abs(error)
    assert oracle.evaluate(oracle.retransformed())[1] > oracle.band_error  # it does lift the band


def ignoring_p_band(oracle: Oracle) -> Oracle:
    """The oracle with a crippled optimiser: it chooses each bin's lift as if every bin were equally
    likely to be in the band (P(band | q) ignored); its points are then measured with the true one."""
    flat = dataclasses.replace(oracle, p_band=np.full_like(oracle.p_band, oracle.p_in_band))
    _, lifts = sweep(flat, LIFT_CAPS)
    points = np.array([oracle.evaluate(oracle.mean + lift) for lift in lifts])
    return dataclasses.replace(oracle, points=points)


def test_a_crippled_optimiser_fails_the_two_sided_check(oracle_and_fresh_posts):
    capped = oracle_for(0.7, seed=0, lift_caps=(5.0,))
    blind = ignoring_p_band(oracle_and_fresh_posts[0])
    for crippled in (capped, blind):
        assert crippled.frontier()[1.05] - crippled.frontier(bound=True)[1.05] > 0.1
        with pytest.raises(AssertionError, match=r"RMSE x1.0"):
            assert_the_optimiser_reaches_the_bound(crippled)


def test_more_signal_in_the_images_moves_the_frontier():
    sharp = oracle_for(0.97, seed=3)
    assert sharp.frontier(bound=True)[1.05] < sharp.frontier()[1.05] < 0.5
