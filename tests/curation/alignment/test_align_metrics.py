"""The companion metrics: invariances, perfect agreement, and agreement with dense N x N definitions."""

import pytest
import torch

from curation.alignment.knn import brute_force_neighbors
from curation.alignment.metrics import (
    cka,
    cknna,
    clamp_outliers,
    cycle_knn,
    cycle_knn_per_sample,
    lcs_knn,
    prepare_features,
    svcca,
    unbiased_cka,
)


def random_features(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def random_rotation(d: int, seed: int) -> torch.Tensor:
    return torch.linalg.qr(random_features(d, d, seed))[0]


def dense_hsic_biased(kx: torch.Tensor, ky: torch.Tensor) -> torch.Tensor:
    h = torch.eye(len(kx), dtype=kx.dtype) - 1 / len(kx)
    return torch.trace(kx @ h @ ky @ h)


def dense_hsic_unbiased(kx: torch.Tensor, ky: torch.Tensor) -> torch.Tensor:
    m = len(kx)
    kx, ky = kx.clone().fill_diagonal_(0), ky.clone().fill_diagonal_(0)
    value = (kx * ky.T).sum() + kx.sum() * ky.sum() / ((m - 1) * (m - 2)) - 2 * (kx @ ky).sum() / (m - 2)
    return value / (m * (m - 3))


def dense_cka(kx: torch.Tensor, ky: torch.Tensor, hsic) -> torch.Tensor:
    return hsic(kx, ky) / (torch.sqrt(hsic(kx, kx) * hsic(ky, ky)) + 1e-6)


def dense_cknna(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int) -> float:
    """CKNNA written as in the reference: N x N kernels masked to mutual top-k neighbours."""
    kernel_a, kernel_b = feats_a @ feats_a.T, feats_b @ feats_b.T

    def masked_hsic(x, y):
        masks = []
        for kernel in (x, y):
            top = kernel.clone().fill_diagonal_(float("-inf")).topk(k, dim=1).indices
            masks.append(torch.zeros_like(kernel).scatter_(1, top, 1.0))
        mask = masks[0] * masks[1]
        return dense_hsic_unbiased(mask * x, mask * y)

    return dense_cka(kernel_a, kernel_b, masked_hsic).item()


@pytest.fixture
def pair():
    base = random_features(120, 16, seed=0)
    return base, base @ random_features(16, 20, seed=1) + 0.5 * random_features(120, 20, seed=2)


@pytest.mark.parametrize("metric", [cka, unbiased_cka, svcca])
def test_identical_features_score_one(metric):
    feats = random_features(150, 24, seed=3)
    # within the reference's +1e-6 in the denominator
    assert metric(feats, feats) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("metric", [cka, unbiased_cka])
def test_orthogonal_transforms_and_isotropic_scaling_change_nothing(metric, pair):
    feats_a, feats_b = pair
    base = metric(feats_a, feats_b, normalize=False)
    moved = metric(3.0 * feats_a @ random_rotation(16, 4), feats_b @ random_rotation(20, 5), normalize=False)
    assert 0.05 < base < 0.999
    assert moved == pytest.approx(base, abs=1e-6)


def test_svcca_ignores_per_feature_scaling_shifts_and_order(pair):
    # the reference standardises each feature, so SVCCA is not rotation invariant, but is invariant to these
    feats_a, feats_b = pair
    base = svcca(feats_a, feats_b, normalize=False)
    scales = torch.linspace(0.5, 4.0, 16, dtype=torch.float64)
    moved = svcca((feats_a * scales + 7.0)[:, torch.randperm(16)], feats_b, normalize=False)
    assert 0.05 < base < 0.999
    assert moved == pytest.approx(base, abs=1e-7)


def test_cka_matches_the_dense_kernel_definitions(pair):
    feats_a, feats_b = (torch.nn.functional.normalize(x, dim=1) for x in pair)
    ka, kb = feats_a @ feats_a.T, feats_b @ feats_b.T
    assert cka(*pair) == pytest.approx(dense_cka(ka, kb, dense_hsic_biased).item(), abs=1e-9)
    assert unbiased_cka(*pair) == pytest.approx(dense_cka(ka, kb, dense_hsic_unbiased).item(), abs=1e-9)


def test_cka_of_unrelated_data_is_far_below_related_data(pair):
    unrelated = random_features(120, 20, seed=6)
    assert unbiased_cka(pair[0], unrelated) < 0.1 < 0.5 < unbiased_cka(*pair)


def test_cknna_from_sparse_neighbour_lists_matches_the_dense_masks(pair):
    feats_a, feats_b = (torch.nn.functional.normalize(x, dim=1) for x in pair)
    assert cknna(*pair, k=10) == pytest.approx(dense_cknna(feats_a, feats_b, 10), abs=1e-9)
    assert cknna(pair[0], pair[0], k=10) == pytest.approx(1.0, abs=1e-3)


def test_cycle_and_lcs_knn_on_identical_and_rotated_features(pair):
    feats = pair[0]
    neighbors = brute_force_neighbors(torch.nn.functional.normalize(feats, dim=1), 5)
    has_reciprocal = [any(i in neighbors[j] for j in neighbors[i]) for i in range(len(feats))]
    assert cycle_knn(feats, feats, k=5) == pytest.approx(sum(has_reciprocal) / len(feats))
    assert lcs_knn(feats, feats @ random_rotation(16, 7), k=5) == 5.0
    per_sample = cycle_knn_per_sample(*pair, k=5)
    assert per_sample.mean().item() == cycle_knn(*pair, k=5)
    assert 0.0 < cycle_knn(*pair, k=5) < 1.0


def test_lcs_is_the_longest_common_subsequence_of_ordered_lists():
    from curation.alignment.metrics import lcs_lengths

    a = torch.tensor([[1, 2, 3, 4], [1, 2, 3, 4]])
    b = torch.tensor([[2, 9, 4, 1], [4, 3, 2, 1]])
    assert lcs_lengths(a, b).tolist() == [2, 1]


def test_clamping_uses_the_absolute_quantile():
    values = torch.arange(1.0, 101.0).view(1, 100) * torch.tensor([1.0, -1.0]).repeat(50)
    exact = clamp_outliers(values, 0.95, exact=True)
    assert exact.abs().max().item() == 96.0
    rows = torch.randn(8, 50, generator=torch.Generator().manual_seed(0))
    threshold = torch.quantile(rows.abs(), 0.95, dim=1).mean()
    assert clamp_outliers(rows, 0.95).abs().max().item() == pytest.approx(threshold.item(), rel=1e-6)
    assert torch.equal(clamp_outliers(rows, 1.0), rows)


def test_prepared_features_are_unit_length_per_layer():
    feats = random_features(10 * 3, 7, seed=8).view(10, 3, 7)
    norms = prepare_features(feats).norm(dim=-1)
    torch.testing.assert_close(norms, torch.ones(10, 3, dtype=torch.float64))


def test_edit_distance_of_ordered_lists_by_hand():
    from curation.alignment.metrics import edit_distances

    a = torch.tensor([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]])
    b = torch.tensor([[1, 2, 3, 4], [1, 9, 3, 4], [2, 3, 4, 1], [4, 3, 2, 1], [5, 6, 7, 8]])
    # equal; one substitution; delete the 1 and append it; "abcd" -> "dcba" needs 4; nothing shared
    assert edit_distances(a, b).tolist() == [0, 1, 2, 4, 4]


def test_edit_distance_knn_on_points_of_a_circle_by_hand():
    """Angles (degrees) on the unit circle; with k=2 the neighbour lists are read off the angle gaps.

    A at 0, 10, 30, 65, 110: lists [1,2] [0,2] [1,0] [2,4] [3,2].
    B moves samples 3 and 4 to 110 and 65: lists [1,2] [0,2] [1,0] [4,2] [2,3].
    Edit distances 0 0 0 2 2 -> 1 - (4/5)/2 = 0.6; LCS 2 2 2 1 1 -> 1.6; shared sets 5 of 5 -> 1.0.
    """
    from curation.alignment.metrics import edit_distance_knn, edit_distance_knn_per_sample, mutual_knn

    def circle(degrees):
        radians = torch.tensor(degrees, dtype=torch.float64).deg2rad()
        return torch.stack([radians.cos(), radians.sin()], dim=1)

    feats_a, feats_b = circle([0, 10, 30, 65, 110]), circle([0, 10, 30, 110, 65])
    assert edit_distance_knn_per_sample(feats_a, feats_b, k=2).tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert edit_distance_knn(feats_a, feats_b, k=2) == pytest.approx(0.6)
    assert lcs_knn(feats_a, feats_b, k=2) == pytest.approx(1.6)
    assert mutual_knn(feats_a, feats_b, k=2) == 1.0
