import numpy as np
import pytest
from scipy.stats import spearmanr

from curation.errors import InputError
from curation.rank_axis import RankAxis, axis_from_extremes, axis_from_labels, extreme_rows


def planted(n: int = 400, dim: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features whose first coordinate carries the label, the rest noise."""
    rng = np.random.default_rng(seed)
    labels = rng.normal(size=n)
    features = rng.normal(size=(n, dim))
    features[:, 0] += 3 * labels
    features[:, 1] += 5  # a shared offset the axis must not depend on
    return features, labels


def test_two_extreme_examples_recover_the_planted_order():
    features, labels = planted()
    low, high = extreme_rows(labels, per_end=1)
    axis = axis_from_extremes(features, low, high)
    assert labels[low[0]] == labels.min() and labels[high[0]] == labels.max()
    assert spearmanr(axis.score(features), labels).statistic > 0.6
    assert axis.metadata["per_end"] == [1, 1]


def test_more_examples_per_end_and_ridge_do_better():
    features, labels = planted(seed=1)
    rng = np.random.default_rng(0)

    def rho(axis) -> float:
        return spearmanr(axis.score(features), labels).statistic

    one = np.mean([rho(axis_from_extremes(features, *extreme_rows(labels, 1, rng=rng))) for _ in range(10)])
    many = rho(axis_from_extremes(features, *extreme_rows(labels, None)))
    ridge = rho(axis_from_labels(features, labels))
    assert one < many < ridge


def test_random_draws_come_from_the_ends():
    labels = np.arange(100.0)
    low, high = extreme_rows(labels, 5, end_share=0.2, rng=np.random.default_rng(3))
    assert set(low) <= set(range(20)) and set(high) <= set(range(80, 100))
    with pytest.raises(InputError, match="holds only 20"):
        extreme_rows(labels, 25, end_share=0.2)


def test_an_axis_round_trips_through_safetensors_and_json(tmp_path):
    features, labels = planted()
    axis = axis_from_labels(features, labels, metadata={"embedder": "column"})
    path = axis.save(tmp_path / "axis.safetensors")
    loaded = RankAxis.load(path)
    np.testing.assert_allclose(loaded.score(features), axis.score(features), rtol=1e-5)
    assert loaded.metadata == axis.metadata
    assert (tmp_path / "axis.json").exists()


def test_bad_axes_and_features_are_clear_errors(tmp_path):
    features, labels = planted()
    axis = axis_from_labels(features, labels)
    with pytest.raises(InputError, match="32 dimensions"):
        axis.score(features[:, :8])
    (tmp_path / "bad.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(InputError, match="cannot read the rank axis"):
        RankAxis.load(tmp_path / "bad.safetensors")
    with pytest.raises(InputError, match="same mean"):
        axis_from_extremes(np.ones((4, 3)), np.array([0]), np.array([1]))
