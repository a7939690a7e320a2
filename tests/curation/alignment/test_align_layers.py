"""Best layer pair over all layer pairs of two models, computed in one batched pass."""

import pytest
import torch

from curation.alignment.layers import METRICS, align_layers, to_layers
from curation.alignment.metrics import cknna, mutual_knn, mutual_knn_per_sample


def gaussian(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def planted():
    """Model A has 4 layers, model B 5; B's layers 3 and 4 are the same linear view of A's layer 2."""
    n = 240
    feats_a = gaussian(n, 4, 16, seed=0)
    feats_b = gaussian(n, 5, 20, seed=1)
    view = feats_a[:, 2] @ gaussian(16, 20, seed=2) + 0.3 * gaussian(n, 20, seed=3)
    feats_b[:, 3] = view
    feats_b[:, 4] = view
    return feats_a, feats_b


@pytest.mark.parametrize("metric", METRICS)
def test_every_metric_finds_the_planted_pair_and_ties_go_to_the_lower_layer(planted, metric):
    result = align_layers(*planted, metric, k=10, device="cpu")
    assert result.scores.shape == (4, 5)
    assert (result.layer_a, result.layer_b) == (2, 3)
    assert result.score == pytest.approx(result.scores.max().item(), rel=1e-9)


def test_batched_scores_equal_pairwise_scores_and_per_sample_matches(planted):
    feats_a, feats_b = planted
    result = align_layers(feats_a, feats_b, "mutual_knn", k=10, device="cpu", block_size=50)
    layers_a, layers_b = to_layers(feats_a, device="cpu"), to_layers(feats_b, device="cpu")
    for i in range(4):
        for j in range(5):
            pairwise = mutual_knn(layers_a[i], layers_b[j], k=10)
            assert result.scores[i, j].item() == pytest.approx(pairwise, abs=1e-12)
    assert result.per_sample.mean().item() == pytest.approx(result.score, abs=1e-12)
    assert torch.equal(result.per_sample, mutual_knn_per_sample(layers_a[2], layers_b[3], k=10))


def test_batched_cknna_equals_the_single_pair_metric(planted):
    feats_a, feats_b = planted
    result = align_layers(feats_a, feats_b, "cknna", k=10, device="cpu")
    layers_a, layers_b = to_layers(feats_a, device="cpu"), to_layers(feats_b, device="cpu")
    assert result.scores[1, 4].item() == pytest.approx(cknna(layers_a[1], layers_b[4], k=10), abs=1e-9)


def test_single_layer_features_are_accepted(planted):
    feats_a, feats_b = planted
    result = align_layers(feats_a[:, 2], feats_b[:, 3], k=10, device="cpu")
    assert (result.layer_a, result.layer_b) == (0, 0)
    assert result.score > 0.3


def test_unknown_metric_is_refused(planted):
    with pytest.raises(ValueError, match="unknown metric"):
        align_layers(*planted, "euclid", device="cpu")
