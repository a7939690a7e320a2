"""The oracle behind the synthetic like benchmark's frontier: its claims hold on fresh posts."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from likes_oracle import fit_oracle  # noqa: E402
from synthetic_likes import LikeModel, draw_likes  # noqa: E402

from curation.transforms import get_transform  # noqa: E402

BAND = (2_000.0, 20_000.0)


def synthetic_posts(signal: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, LikeModel]:
    rng = np.random.default_rng(seed)
    quality = rng.standard_normal(n)
    likes, model = draw_likes(quality, rng, signal, "lognormal")
    return quality, likes, model


def band_error(pred: np.ndarray, likes: np.ndarray) -> float:
    in_band = (likes >= BAND[0]) & (likes < BAND[1])
    return float(np.mean(get_transform("cbrt*log").inverse(pred[in_band]) - likes[in_band]))


@pytest.fixture(scope="module")
def oracle_and_fresh_posts():
    quality, _, model = synthetic_posts(0.7, 20_000, seed=0)
    oracle = fit_oracle(quality, lambda q: model.draw(q, np.random.default_rng(1)), "cbrt*log",
                        bins=100, repeats=4)
    fresh_quality = np.repeat(quality, 4)
    return oracle, fresh_quality, model.draw(fresh_quality, np.random.default_rng(2))


def test_the_lift_costs_what_the_frontier_says_on_fresh_likes(oracle_and_fresh_posts):
    oracle, quality, likes = oracle_and_fresh_posts
    target = get_transform("cbrt*log").forward(likes)
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


def test_at_the_seeds_noise_level_no_predictor_halves_the_band_error_within_five_percent(
        oracle_and_fresh_posts):
    assert oracle_and_fresh_posts[0].frontier()[1.05] > 0.7


def test_more_signal_in_the_images_moves_the_frontier():
    quality, _, model = synthetic_posts(0.97, 20_000, seed=3)
    sharp = fit_oracle(quality, lambda q: model.draw(q, np.random.default_rng(4)), "cbrt*log",
                       bins=100, repeats=4)
    assert sharp.frontier()[1.05] < 0.5
