import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from builders.representation_sampling import load_features, sample_by_representation, similarity_weights
from curate.build import app
from curation.errors import CurationError, InputError


def shifted_gaussians(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A large set around 0 and a small set shifted by 1.5 along the first three of 64 dimensions."""
    rng = np.random.default_rng(seed)
    large = rng.normal(size=(3_000, 64))
    small = rng.normal(size=(300, 64))
    small[:, :3] += 1.5
    return large, small


def test_the_weighted_sample_moves_toward_the_small_set():
    large, small = shifted_gaussians()

    sample = sample_by_representation(large, small, components=50, seed=0)

    drawn = large[sample.rows]
    assert len(sample.rows) == len(small) == len(np.unique(sample.rows))
    assert np.all(drawn[:, :3].mean(axis=0) > large[:, :3].mean(axis=0) + 0.4)
    assert np.all(np.abs(drawn[:, 3:].mean(axis=0)).mean() < 0.15)
    assert sample.summary()["mean_weight_sampled"] > sample.summary()["mean_weight_all"]


def test_weights_are_probabilities_that_rank_small_like_rows_first():
    large, small = shifted_gaussians(1)

    weights, fit = similarity_weights(large, small, components=10)

    assert weights.shape == (len(large),) and np.all((weights > 0) & (weights < 1))
    assert fit["components"] == 10 and 0 < fit["explained_variance"] < 1
    toward_small = large[:, :3].sum(axis=1)
    assert np.corrcoef(weights, toward_small)[0, 1] > 0.5


def test_the_same_seed_draws_the_same_rows():
    large, small = shifted_gaussians(2)

    first = sample_by_representation(large, small, 200, seed=5)
    again = sample_by_representation(large, small, 200, seed=5)

    assert np.array_equal(first.rows, again.rows)
    assert not np.array_equal(first.rows, sample_by_representation(large, small, 200, seed=6).rows)


def test_features_load_from_npy_and_from_parquet_list_or_numeric_columns(tmp_path):
    matrix = np.random.default_rng(3).normal(size=(20, 4))
    np.save(tmp_path / "f.npy", matrix)
    pl.DataFrame({"id": range(20), "embedding": matrix.tolist()}).write_parquet(tmp_path / "list.parquet")
    pl.DataFrame({f"x{i}": matrix[:, i] for i in range(4)}).write_parquet(tmp_path / "wide.parquet")

    for name in ("f.npy", "list.parquet", "wide.parquet"):
        assert np.allclose(load_features(tmp_path / name), matrix), name
    with pytest.raises(InputError, match="no such column"):
        load_features(tmp_path / "list.parquet", "vector")


def test_mismatched_widths_are_refused():
    with pytest.raises(CurationError, match="differ in width"):
        similarity_weights(np.zeros((10, 3)), np.ones((5, 4)))


def test_cli_writes_the_drawn_rows_and_a_summary(tmp_path):
    large, small = shifted_gaussians(4)
    np.save(tmp_path / "large.npy", large)
    pl.DataFrame({"embedding": small.tolist()}).write_parquet(tmp_path / "small.parquet")

    result = CliRunner().invoke(app, ["sample-representation", str(tmp_path / "large.npy"),
                                      str(tmp_path / "small.parquet"), "--out", str(tmp_path / "s.parquet"),
                                      "--size", "150", "--seed", "1"])

    assert result.exit_code == 0, result.output
    drawn = pl.read_parquet(tmp_path / "s.parquet")
    expected = sample_by_representation(large, small, 150, seed=1)
    assert drawn["row"].to_list() == expected.rows.tolist()
    assert (tmp_path / "s.json").exists() and "classifier_accuracy" in result.output
