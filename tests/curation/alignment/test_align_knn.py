"""Blocked k-NN search and mutual k-NN: properties, hand-computed cases, and the reference definition."""

import math

import pytest
import torch

from curation.alignment.knn import brute_force_neighbors, nearest_neighbors
from curation.alignment.metrics import mutual_knn, mutual_knn_per_sample


def random_features(n: int, d: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def random_rotation(d: int, seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(random_features(d, d, seed))
    return q


def on_circle(degrees: list[float]) -> torch.Tensor:
    radians = torch.tensor(degrees, dtype=torch.float64) * math.pi / 180
    return torch.stack([radians.cos(), radians.sin()], dim=1)


def reference_mutual_knn(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int) -> float:
    """The platonic-rep definition: N x N masks of each sample's k neighbours, overlap / k."""
    masks = []
    for feats in (feats_a, feats_b):
        feats = torch.nn.functional.normalize(feats, dim=1)
        mask = torch.zeros(len(feats), len(feats))
        mask.scatter_(1, brute_force_neighbors(feats, k), 1.0)
        masks.append(mask)
    return ((masks[0] * masks[1]).sum(dim=1) / k).mean().item()


def test_identical_features_align_perfectly():
    feats = random_features(300, 32, seed=0)
    assert mutual_knn(feats, feats, k=10) == 1.0


def test_rotating_either_model_leaves_the_score_unchanged():
    feats_a, feats_b = random_features(400, 24, seed=1), random_features(400, 24, seed=2)
    feats_b = feats_b + 2 * feats_a
    rotated_a, rotated_b = feats_a @ random_rotation(24, 3), feats_b @ random_rotation(24, 4)
    base = mutual_knn(feats_a, feats_b, k=10)
    assert 0.05 < base < 1.0
    assert mutual_knn(rotated_a, rotated_b, k=10) == base
    assert mutual_knn(feats_a, rotated_a, k=10) == 1.0


def test_independent_data_agrees_at_chance_k_over_n_minus_1():
    n, k = 3000, 10
    score = mutual_knn(random_features(n, 16, seed=5), random_features(n, 16, seed=6), k=k)
    assert score == pytest.approx(k / (n - 1), abs=0.0015)


def test_hand_computed_case_on_the_unit_circle():
    # nearest neighbour (k=1) by angle: A: 0->1, 1->0, 2->1, 3->2, 4->3; B: 0->1, 1->2, 2->1, 3->2, 4->3
    feats_a = on_circle([0, 20, 50, 100, 180])
    feats_b = on_circle([0, 40, 50, 100, 170])
    assert nearest_neighbors(feats_a, 1).indices.flatten().tolist() == [1, 0, 1, 2, 3]
    assert nearest_neighbors(feats_b, 1).indices.flatten().tolist() == [1, 2, 1, 2, 3]
    assert mutual_knn_per_sample(feats_a, feats_b, k=1).tolist() == [1.0, 0.0, 1.0, 1.0, 1.0]
    assert mutual_knn(feats_a, feats_b, k=1) == pytest.approx(0.8)


def test_hand_computed_case_with_two_neighbours():
    # k=2 by angle. A [0, 10, 30, 70]: 0->{1,2}, 1->{0,2}, 2->{1,0}, 3->{2,1}
    #               B [0, 10, 75, 70]: 0->{1,3}, 1->{0,3}, 2->{3,1}, 3->{2,1}
    feats_a = on_circle([0, 10, 30, 70])
    feats_b = on_circle([0, 10, 75, 70])
    assert mutual_knn_per_sample(feats_a, feats_b, k=2).tolist() == [0.5, 0.5, 0.5, 1.0]
    assert mutual_knn(feats_a, feats_b, k=2) == pytest.approx(0.625)


def test_ties_go_to_the_lower_index_in_every_block_size():
    duplicates = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    for block_size in (1, 2, 4):
        found = nearest_neighbors(duplicates, 1, block_size=block_size)
        assert found.indices.flatten().tolist() == [1, 0, 0, 0]


@pytest.mark.parametrize("block_size", [1, 7, 128, 999])
def test_blocked_search_equals_one_block_and_the_full_argsort(block_size):
    feats = torch.nn.functional.normalize(random_features(1000, 16, seed=7), dim=1)
    whole = nearest_neighbors(feats, 10, block_size=1000)
    blocked = nearest_neighbors(feats, 10, block_size=block_size)
    assert torch.equal(blocked.indices, whole.indices)
    # the matrix-multiply kernel may sum in another order for another block shape: last-bit differences
    torch.testing.assert_close(blocked.values, whole.values, rtol=0, atol=1e-12)
    assert torch.equal(whole.indices, brute_force_neighbors(feats, 10))


def test_heavily_tied_integer_features_match_a_stable_sort_for_any_block():
    feats = torch.randint(0, 3, (300, 4), generator=torch.Generator().manual_seed(8)).float()
    expected = brute_force_neighbors(feats, 10)
    for block_size in (1, 13, 300):
        assert torch.equal(nearest_neighbors(feats, 10, block_size=block_size).indices, expected)


def test_layers_are_searched_together_as_they_would_be_one_by_one():
    layers = random_features(3 * 200 * 8, 1, seed=9).view(3, 200, 8)
    together = nearest_neighbors(layers, 5, block_size=33)
    for i in range(3):
        assert torch.equal(together.indices[i], nearest_neighbors(layers[i], 5).indices)


def test_per_sample_scores_average_to_the_aggregate_and_match_the_reference():
    feats_a = random_features(500, 12, seed=10)
    feats_b = feats_a + 0.8 * random_features(500, 12, seed=11)
    per_sample = mutual_knn_per_sample(feats_a, feats_b, k=10, block_size=64)
    assert per_sample.shape == (500,)
    assert set((per_sample * 10).round().tolist()) <= set(range(11))
    assert per_sample.mean().item() == pytest.approx(mutual_knn(feats_a, feats_b, k=10), abs=1e-12)
    reference = reference_mutual_knn(feats_a, feats_b, 10)
    assert mutual_knn(feats_a, feats_b, k=10) == pytest.approx(reference, abs=1e-6)


def test_bad_k_and_mismatched_samples_are_refused():
    with pytest.raises(ValueError, match="k must be"):
        nearest_neighbors(random_features(5, 2, seed=0), 5)
    with pytest.raises(ValueError, match="same samples"):
        mutual_knn(random_features(5, 2, seed=0), random_features(6, 2, seed=0), k=2)
