"""The best layer pair of two models: every metric over all (layer_a, layer_b) pairs, batched.

Features are (N, L, D) per model (N samples, L layers). They are clamped at the 0.95 absolute
quantile over the whole tensor, L2-normalised per layer, and then the k-NN search runs once per
layer of each model (all layers in one batched matrix product per row block), not once per pair.
Tie rule for the best pair: the first maximum in row-major order, i.e. the lower layer of A, then the
lower layer of B. For the k-NN metrics maxima are compared on exact integer totals; for the others,
scores within a relative 1e-9 of the maximum count as tied (they differ only by summation order).

When every layer pair scores <= 0 (possible for unbiased CKA, CKNNA and SVCCA, or 0 everywhere for the
k-NN metrics), the best pair is still the maximum, negative or zero, with its layers. The reference
(`measure_alignment.compute_score`) starts from a best score of 0 and keeps only pairs that beat it,
so there it would report 0 and no pair; compare with `max(score, 0)` to reproduce it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from curation.alignment.kernels import cka_matrix, svcca_matrix
from curation.alignment.knn import Neighbors, nearest_neighbors
from curation.alignment.metrics import (
    cknna_from_neighbors,
    cycle_hits,
    edit_distances,
    lcs_lengths,
    overlap_counts,
    prepare_features,
)

METRICS = ("mutual_knn", "cycle_knn", "lcs_knn", "edit_distance_knn", "cknna", "cka", "unbiased_cka", "svcca")
KNN_METRICS = ("mutual_knn", "cycle_knn", "lcs_knn", "edit_distance_knn", "cknna")
# mirrored in a model x model matrix, as the reference does for every metric but cycle_knn
SYMMETRIC_METRICS = ("mutual_knn", "lcs_knn", "edit_distance_knn", "cknna", "cka", "unbiased_cka", "svcca")
SVCCA_REDUCTIONS = ("exact", "lowrank")
_PAIR_ROWS = 1024


@dataclass(frozen=True)
class LayerAlignment:
    """Scores of all layer pairs (La x Lb), the best one, and its per-sample scores where defined."""

    metric: str
    scores: torch.Tensor
    layer_a: int
    layer_b: int
    per_sample: torch.Tensor | None

    @property
    def score(self) -> float:
        return self.scores[self.layer_a, self.layer_b].item()


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_layers(feats: torch.Tensor, q: float = 0.95, *, device: torch.device | str | None = None,
              dtype: torch.dtype | None = None) -> torch.Tensor:
    """(N, L, D) or (N, D) raw features -> clamped, per-layer L2-normalised (L, N, D) on `device`."""
    if feats.ndim == 2:
        feats = feats[:, None, :]
    feats = feats.to(device or default_device())
    prepared = prepare_features(feats, q).transpose(0, 1).contiguous()
    return prepared.to(dtype) if dtype is not None else prepared


def align_layers(feats_a: torch.Tensor, feats_b: torch.Tensor, metric: str = "mutual_knn", *, k: int = 10,
                 q: float = 0.95, prepared: bool = False, device: torch.device | str | None = None,
                 block_size: int | None = None, svcca_reduction: str = "exact",
                 seed: int = 0) -> LayerAlignment:
    """Score all layer pairs of two models on the same samples and keep the best pair.

    `prepared=True` means the inputs already come from `to_layers` ((L, N, D), clamped, normalised).
    `svcca_reduction` and `seed`: see `kernels.svcca_matrix`. For `cycle_knn`, A = `feats_a` is the
    second hop and B = `feats_b` the first (see `metrics.cycle_hits`).
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    if not prepared:
        feats_a, feats_b = to_layers(feats_a, q, device=device), to_layers(feats_b, q, device=device)
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"both models need the same samples: {feats_a.shape[1]} != {feats_b.shape[1]}")
    if metric in KNN_METRICS:
        nn_a = nearest_neighbors(feats_a, k, block_size=block_size)
        return align_neighbors(nn_a, nearest_neighbors(feats_b, k, block_size=block_size), metric)
    if metric == "svcca":
        scores = svcca_matrix(feats_a, feats_b, reduction=svcca_reduction, seed=seed)
    else:
        scores = cka_matrix(feats_a, feats_b, unbiased=metric == "unbiased_cka")
    return LayerAlignment(metric, scores.cpu(), *_first_best(scores), per_sample=None)


def align_neighbors(nn_a: Neighbors, nn_b: Neighbors, metric: str = "mutual_knn") -> LayerAlignment:
    """A k-NN metric over all layer pairs from neighbours already found per layer ((L, N, k) each).

    Searching each model once and pairing the results is what makes model x model matrices cheap.
    """
    k = nn_a.k
    if metric == "cknna":
        scores = torch.tensor([[cknna_from_neighbors(_layer(nn_a, i), _layer(nn_b, j))
                                for j in range(nn_b.indices.shape[0])] for i in range(nn_a.indices.shape[0])])
        return LayerAlignment(metric, scores, *_first_best(scores), per_sample=None)
    per_sample = _pair_scores(nn_a.indices, nn_b.indices, metric)
    totals = per_sample.sum(dim=-1)
    best = int(torch.argmax(totals.flatten()))
    layer_a, layer_b = divmod(best, totals.shape[1])
    scale = k if metric in ("mutual_knn", "edit_distance_knn") else 1
    n = per_sample.shape[-1]
    return LayerAlignment(metric, (totals.double() / (n * scale)).cpu(), layer_a, layer_b,
                          (per_sample[layer_a, layer_b].double() / scale).cpu())


def _first_best(scores: torch.Tensor) -> tuple[int, int]:
    """Row-major first pair within a relative 1e-9 of the maximum (float sums differ in the last bits)."""
    flat = scores.flatten().double()
    top = flat.max()
    best = int(torch.nonzero(flat >= top - 1e-9 * top.abs())[0])
    return divmod(best, scores.shape[1])


def _layer(neighbors: Neighbors, i: int) -> Neighbors:
    return Neighbors(neighbors.indices[i], neighbors.values[i])


def _pair_scores(idx_a: torch.Tensor, idx_b: torch.Tensor, metric: str) -> torch.Tensor:
    """(La, Lb, N) integer per-sample scores for every layer pair."""
    if metric == "mutual_knn":
        return overlap_counts(idx_a[:, None], idx_b[None, :])
    if metric == "lcs_knn":
        return _by_rows(lcs_lengths, idx_a, idx_b)
    if metric == "edit_distance_knn":  # k - distance: higher is better, and the mean / k is the score
        return idx_a.shape[-1] - _by_rows(edit_distances, idx_a, idx_b)
    return torch.stack([torch.stack([cycle_hits(a, b) for b in idx_b]) for a in idx_a]).long()


def _by_rows(per_row, idx_a: torch.Tensor, idx_b: torch.Tensor) -> torch.Tensor:
    """`per_row` over every (layer_a, layer_b) pair, in chunks of rows to bound the DP tables."""
    n = idx_a.shape[1]
    return torch.cat([per_row(idx_a[:, None, s:s + _PAIR_ROWS], idx_b[None, :, s:s + _PAIR_ROWS])
                      for s in range(0, n, _PAIR_ROWS)], dim=-1)
