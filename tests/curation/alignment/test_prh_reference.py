"""Our alignment metrics against the PRH reference's formulas (re-implemented in prh_reference.py).

Equal to 1e-6 wherever the definitions agree: every metric on random, rotated, independent and
duplicated-row features with ties broken the same way; SVCCA with `reduction="lowrank"` (the
reference's randomised reduction, same seed). Where they do not agree, the tests pin the difference:
the exact SVCCA reduction, the tie order on duplicated rows, and the best pair when all pairs are <= 0.
"""

import numpy as np
import pytest
import torch

from curation.alignment import metrics as ours
from curation.alignment.analyses import alignment_matrix
from curation.alignment.layers import align_layers
from tests.curation.alignment import prh_reference as ref

K = 5


def gaussian(*shape: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def unit(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x, dim=-1)


def feature_pairs() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    a = gaussian(64, 16, seed=0)
    related = a @ gaussian(16, 20, seed=1) + 0.7 * gaussian(64, 20, seed=2)
    duplicated_a, duplicated_b = a.clone(), related.clone()
    duplicated_a[40:48], duplicated_b[40:48] = a[:8], related[:8]
    return {
        "random": (a, related),
        "rotated": (a, a @ torch.linalg.qr(gaussian(16, 16, seed=3))[0]),
        "independent": (a, gaussian(64, 20, seed=4)),
        "duplicated_rows": (duplicated_a, duplicated_b),
    }


PAIRS = feature_pairs()
OURS = {
    "mutual_knn": lambda a, b: ours.mutual_knn(a, b, K),
    "cycle_knn": lambda a, b: ours.cycle_knn(a, b, K),
    "lcs_knn": lambda a, b: ours.lcs_knn(a, b, K),
    "edit_distance_knn": lambda a, b: ours.edit_distance_knn(a, b, K),
    "cknna": lambda a, b: ours.cknna(a, b, K),
    "cka": ours.cka,
    "unbiased_cka": ours.unbiased_cka,
    "svcca": lambda a, b: ours.svcca(a, b, reduction="lowrank"),
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # the reference's CCA, not ours
@pytest.mark.parametrize("case", PAIRS)
@pytest.mark.parametrize("metric", OURS)
def test_every_metric_equals_the_reference_formula(metric, case):
    a, b = PAIRS[case]
    expected = ref.METRICS[metric](unit(a), unit(b), K)
    assert OURS[metric](a, b) == pytest.approx(expected, abs=1e-6)


def test_the_cases_are_not_degenerate():
    scores = {case: ref.mutual_knn(unit(a), unit(b), K) for case, (a, b) in PAIRS.items()}
    assert scores["rotated"] == 1.0
    assert scores["independent"] < 0.2 < scores["random"] < 0.9


def test_exact_svcca_is_the_deterministic_reduction_and_differs_from_the_lowrank_one():
    a, b = PAIRS["independent"]
    exact = ours.svcca(a, b)
    assert ours.svcca(a, b) == exact  # no randomness
    assert ours.svcca(a, b, reduction="lowrank", seed=1) != ours.svcca(a, b, reduction="lowrank", seed=2)
    # flat spectra (no gap after cca_dim): the randomised subspace is far from the top one
    assert abs(exact - ours.svcca(a, b, reduction="lowrank")) > 0.02
    with pytest.raises(ValueError, match="reduction"):
        ours.svcca(a, b, reduction="random")


def test_duplicated_rows_tie_and_the_tie_order_changes_the_ordered_metrics():
    a, b = (unit(x) for x in PAIRS["duplicated_rows"])
    ours_lcs = ours.lcs_knn(a, b, K)
    assert ours_lcs == ref.lcs_knn(a, b, K, ties="lower")
    assert ours_lcs == ref.lcs_knn(a, b, K, ties="higher")  # the same order in both models: no change
    # a tie broken one way in A and the other in B (two argsorts): the reference's score moves
    assert ref.lcs_knn(a, b, K, ties=("lower", "higher")) < ours_lcs
    assert ref.edit_distance_knn(a, b, K, ties=("lower", "higher")) < ours.edit_distance_knn(a, b, K)


def test_when_every_layer_pair_is_negative_we_keep_the_best_negative_pair_the_reference_reports_zero():
    feats_a, feats_b = gaussian(12, 2, 6, seed=1), gaussian(12, 2, 6, seed=35)
    result = align_layers(feats_a, feats_b, "unbiased_cka", device="cpu")
    assert (result.scores < 0).all()
    assert (result.layer_a, result.layer_b) == (0, 1)
    assert result.score == result.scores.max().item() < 0
    assert ref.compute_score(feats_a, feats_b, "unbiased_cka", K) == (0, None)


def models() -> dict[str, torch.Tensor]:
    """Three models of 2-3 layers on the same 48 samples, in float32 as the reference loads them."""
    base = gaussian(48, 12, seed=10)
    shapes = {"x": (2, 12), "y": (3, 14), "z": (2, 10)}

    def layer(d: int, seed: int, noise: float) -> torch.Tensor:
        return base @ gaussian(12, d, seed=seed) + noise * gaussian(48, d, seed=seed + 100)

    return {
        name: torch.stack([layer(d, 20 + 3 * i + j, 1.0 + j) for j in range(layers)], dim=1).float()
        for i, (name, (layers, d)) in enumerate(shapes.items())
    }


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("metric", ["cycle_knn", "mutual_knn", "edit_distance_knn", "cka", "svcca"])
def test_model_matrix_is_oriented_and_its_layers_chosen_as_the_reference_does(metric):
    feats = models()
    matrix = alignment_matrix(feats, metric=metric, k=K, device="cpu", svcca_reduction="lowrank")
    models_x = list(feats.values())
    scores, pairs = ref.compute_alignment(models_x, models_x, metric, K, same_models=True)
    np.testing.assert_allclose(matrix.scores, scores, atol=1e-6)
    # ours are (row layer, column layer); the reference stores (column layer, row layer)
    theirs = pairs[..., ::-1]
    if metric == "svcca":  # a model against itself: every (l, l) scores 1; the reference's pick is noise
        diagonal = np.eye(len(feats), dtype=bool)
        assert (matrix.best_layers[diagonal, 0] == matrix.best_layers[diagonal, 1]).all()
        assert (theirs[diagonal, 0] == theirs[diagonal, 1]).all()
        matrix.best_layers[diagonal] = theirs[diagonal]
    np.testing.assert_array_equal(matrix.best_layers, theirs)
    if metric == "cycle_knn":
        assert np.abs(matrix.scores - matrix.scores.T).max() > 0.01
        assert "not symmetric" in matrix.to_dict()["orientation"]


def test_language_x_vision_matrix_orientation_matches_the_reference():
    feats = models()
    rows, cols = {"x": feats["x"], "y": feats["y"]}, {"z": feats["z"]}
    matrix = alignment_matrix(rows, cols, metric="cycle_knn", k=K, device="cpu")
    scores, pairs = ref.compute_alignment(list(rows.values()), list(cols.values()), "cycle_knn", K,
                                          same_models=False)
    np.testing.assert_allclose(matrix.scores, scores, atol=1e-6)
    np.testing.assert_array_equal(matrix.best_layers, pairs[..., ::-1])
