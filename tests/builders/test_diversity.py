import numpy as np
import pytest

from builders.diversity import diversity, quality_weighted_vendi, vendi_score


def test_n_identical_items_count_as_one():
    row = np.random.default_rng(0).normal(size=16)
    for form in ("dual", "direct"):
        assert vendi_score(np.tile(row, (50, 1)), form=form) == pytest.approx(1.0)


def test_n_orthogonal_items_count_as_n():
    scales = np.random.default_rng(1).uniform(0.5, 3.0, size=12)
    items = np.diag(scales)  # orthogonal, of different lengths: cosine similarity ignores length
    for form in ("dual", "direct"):
        assert vendi_score(items, form=form) == pytest.approx(12.0)


def test_two_clusters_count_as_about_two():
    rng = np.random.default_rng(2)
    centres = np.eye(64)[:2] * 10
    items = np.repeat(centres, 100, axis=0) + rng.normal(scale=0.01, size=(200, 64))
    assert vendi_score(items) == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize("n, d", [(300, 24), (40, 64), (257, 256)])
def test_the_dual_form_equals_the_direct_form(n, d):
    items = np.random.default_rng(n).normal(size=(n, d)) + 0.3
    assert vendi_score(items, form="dual") == pytest.approx(vendi_score(items, form="direct"), rel=1e-9)


def test_the_dual_form_is_chunked_without_changing_the_answer():
    from builders import diversity as module

    items = np.random.default_rng(3).normal(size=(1000, 16))
    whole = module.entropy_exp(np.linalg.eigvalsh(module.dual_covariance(items, chunk_rows=10_000)))
    chunked = module.entropy_exp(np.linalg.eigvalsh(module.dual_covariance(items, chunk_rows=7)))
    assert chunked == pytest.approx(whole, rel=1e-12)


def test_quality_weighting_is_mean_quality_times_vendi():
    items = np.random.default_rng(4).normal(size=(30, 8))
    quality = np.linspace(1, 5, 30)
    assert quality_weighted_vendi(items, quality) == pytest.approx(3.0 * vendi_score(items))


def test_the_revision_figures_weight_only_scored_rows():
    items = np.vstack([np.eye(4), np.eye(4)[:1]])
    quality = np.array([5.0, 3.0, 1.0, 3.0, np.nan])
    figures = diversity(items, quality, embedder="test")
    assert figures.rows == 5 and figures.scored_rows == 4
    assert figures.mean_quality == pytest.approx(3.0)
    assert figures.quality_weighted_vendi == pytest.approx(3.0 * 4.0)
    assert 1.0 < figures.vendi < 4.0
    assert diversity(items, None, embedder="test").quality_weighted_vendi is None


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="2-D"):
        vendi_score(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="form must be"):
        vendi_score(np.eye(3), form="fast")
    with pytest.raises(ValueError, match="quality scores"):
        quality_weighted_vendi(np.eye(3), np.ones(2))


def test_each_revision_is_compared_with_large_and_weighted_by_its_scores():
    import polars as pl

    from builders.diversity import revision_diversity

    vectors = {"a": [1.0, 0.0, 0.0], "b": [0.0, 1.0, 0.0], "c": [0.0, 0.0, 1.0]}
    large = pl.DataFrame({"text": ["a", "b", "c"], "aesthetic_score": [4.0, 2.0, None]})
    frames = {"large": large, "aligned_5": pl.DataFrame({"text": ["a", "a", "b"],
                                                         "aesthetic_score": [4.0, 4.0, 2.0]})}
    embedded = []

    def embed(texts):
        embedded.append(list(texts))
        return np.array([vectors[t] for t in texts])

    figures = revision_diversity(frames, embed, embedder="test")
    assert embedded == [["a", "b", "c"]]  # every distinct text embedded once
    assert figures["large"]["vendi"] == pytest.approx(3.0)
    assert figures["large"]["quality_weighted_vendi"] == pytest.approx(3.0 * 2.0)  # scored rows a, b
    aligned = figures["aligned_5"]
    assert aligned["vendi_vs_large"] == pytest.approx(aligned["vendi"] / 3.0, abs=1e-4)
    assert 1.0 < figures["aligned_5"]["vendi"] < 2.0  # a drawn twice, b once
