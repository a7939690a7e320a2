"""Alignment metrics between two feature matrices of the same N samples (Huh et al. 2024, platonic-rep).

Every metric L2-normalises the rows first (`normalize=False` to skip), as the reference does before
measuring. The nearest-neighbour metrics run on `knn.nearest_neighbors` (blocked, O(N*k) memory, ties
to the lower index); their `*_per_sample` variants give one score per sample and the aggregate is
their mean. Kernel and CCA metrics are in `kernels.py` and re-exported here.
"""

from __future__ import annotations

import torch

from curation.alignment.kernels import cka, svcca, unbiased_cka
from curation.alignment.knn import Neighbors, nearest_neighbors

__all__ = ["clamp_outliers", "l2_normalize", "prepare_features", "mutual_knn", "mutual_knn_per_sample",
           "cycle_knn", "cycle_knn_per_sample", "lcs_knn", "lcs_knn_per_sample", "edit_distance_knn",
           "edit_distance_knn_per_sample", "cknna", "cka", "unbiased_cka", "svcca", "overlap_counts",
           "cycle_hits", "lcs_lengths", "edit_distances", "cknna_from_neighbors"]

_COMPARE_ROWS = 4096
_COMPARE_ELEMENTS = 2**25


def clamp_outliers(feats: torch.Tensor, q: float = 0.95, *, exact: bool = False) -> torch.Tensor:
    """Clamp to [-t, t], t the q-quantile of |feats| (the reference's `remove_outliers`).

    `exact=False` (the reference default) takes t as the mean over samples (first axis) of each
    sample's own quantile; `exact=True` takes the element of rank floor(q * numel) of all |values|.
    """
    if q >= 1:
        return feats
    magnitudes = feats.abs().reshape(feats.shape[0], -1).float()
    if exact:
        flat = magnitudes.flatten()
        threshold = flat.kthvalue(min(int(q * flat.numel()) + 1, flat.numel())).values
    else:
        threshold = torch.cat([_row_quantile(magnitudes[s:s + _COMPARE_ROWS], q)
                               for s in range(0, magnitudes.shape[0], _COMPARE_ROWS)]).mean()
    return feats.clamp(-threshold.item(), threshold.item())


def _row_quantile(rows: torch.Tensor, q: float) -> torch.Tensor:
    """`torch.quantile(rows, q, dim=1)` (linear interpolation) without its input-size limit."""
    position = q * (rows.shape[1] - 1)
    low, frac = int(position), position - int(position)
    ordered = rows.sort(dim=1).values
    high = min(low + 1, rows.shape[1] - 1)
    return ordered[:, low] + frac * (ordered[:, high] - ordered[:, low])


def l2_normalize(feats: torch.Tensor) -> torch.Tensor:
    """Unit rows along the last axis (each layer of each sample separately), in float32 or float64."""
    feats = feats if feats.dtype == torch.float64 else feats.float()
    return torch.nn.functional.normalize(feats, p=2, dim=-1)


def prepare_features(feats: torch.Tensor, q: float = 0.95, *, exact: bool = False) -> torch.Tensor:
    """Outlier clamping over the whole tensor, then per-layer L2 normalisation."""
    return l2_normalize(clamp_outliers(feats, q, exact=exact))


def _neighbors(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int, normalize: bool,
               block_size: int | None) -> tuple[Neighbors, Neighbors]:
    if feats_a.shape[0] != feats_b.shape[0]:
        raise ValueError(f"both feature sets need the same samples: {feats_a.shape[0]} != {feats_b.shape[0]}")
    prep = l2_normalize if normalize else (lambda x: x)
    return (nearest_neighbors(prep(feats_a), k, block_size=block_size),
            nearest_neighbors(prep(feats_b), k, block_size=block_size))


def overlap_counts(idx_a: torch.Tensor, idx_b: torch.Tensor) -> torch.Tensor:
    """|kNN_A(i) ∩ kNN_B(i)| for every row; leading axes broadcast, e.g. (La,1,N,k) x (1,Lb,N,k)."""
    n, k = idx_a.shape[-2:]
    pairs = torch.broadcast_shapes(idx_a.shape[:-2], idx_b.shape[:-2]).numel()
    rows = max(1, _COMPARE_ELEMENTS // (pairs * k * k))
    parts = [(idx_a[..., s:s + rows, :, None] == idx_b[..., s:s + rows, None, :])
             .sum(dim=(-1, -2)) for s in range(0, n, rows)]
    return torch.cat(parts, dim=-1)


def cycle_hits(idx_a: torch.Tensor, idx_b: torch.Tensor) -> torch.Tensor:
    """Whether sample i is among the A-neighbours of its B-neighbours (the reference's cycle kNN)."""
    n = idx_a.shape[0]
    self_ids = torch.arange(n, device=idx_a.device).view(-1, 1, 1)
    return (idx_a[idx_b] == self_ids).flatten(1).any(dim=1)


def lcs_lengths(idx_a: torch.Tensor, idx_b: torch.Tensor) -> torch.Tensor:
    """Length of the longest common subsequence of the ordered neighbour lists, per row (batched DP)."""
    k = idx_a.shape[-1]
    lead = torch.broadcast_shapes(idx_a.shape[:-1], idx_b.shape[:-1])
    table = torch.zeros(*lead, k + 1, k + 1, dtype=torch.long, device=idx_a.device)
    for i in range(1, k + 1):
        for j in range(1, k + 1):
            equal = idx_a[..., i - 1] == idx_b[..., j - 1]
            table[..., i, j] = torch.where(equal, table[..., i - 1, j - 1] + 1,
                                           torch.maximum(table[..., i - 1, j], table[..., i, j - 1]))
    return table[..., k, k]


def edit_distances(idx_a: torch.Tensor, idx_b: torch.Tensor) -> torch.Tensor:
    """Levenshtein distance (unit insert, delete, substitute) between the ordered neighbour lists, per row.

    The distance `torchaudio.functional.edit_distance` gives, which the reference uses; batched DP.
    """
    k = idx_a.shape[-1]
    lead = torch.broadcast_shapes(idx_a.shape[:-1], idx_b.shape[:-1])
    steps = torch.arange(k + 1, device=idx_a.device)
    previous = steps.expand(*lead, k + 1)
    for i in range(1, k + 1):
        row = [torch.full(lead, i, dtype=torch.long, device=idx_a.device)]
        for j in range(1, k + 1):
            substitute = previous[..., j - 1] + (idx_a[..., i - 1] != idx_b[..., j - 1]).long()
            row.append(torch.minimum(substitute, torch.minimum(previous[..., j], row[j - 1]) + 1))
        previous = torch.stack(row, dim=-1)
    return previous[..., k]


def mutual_knn_per_sample(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int = 10, *,
                          normalize: bool = True, block_size: int | None = None) -> torch.Tensor:
    """|kNN_A(i) ∩ kNN_B(i)| / k for every sample i."""
    nn_a, nn_b = _neighbors(feats_a, feats_b, k, normalize, block_size)
    return overlap_counts(nn_a.indices, nn_b.indices).double() / k


def mutual_knn(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int = 10, *, normalize: bool = True,
               block_size: int | None = None) -> float:
    """Mutual k-NN alignment: the mean over samples of the shared fraction of k nearest neighbours."""
    scores = mutual_knn_per_sample(feats_a, feats_b, k, normalize=normalize, block_size=block_size)
    return scores.mean().item()


def cycle_knn_per_sample(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int = 10, *,
                         normalize: bool = True, block_size: int | None = None) -> torch.Tensor:
    """1.0 where a sample comes back to itself going B-neighbours then A-neighbours, else 0.0."""
    nn_a, nn_b = _neighbors(feats_a, feats_b, k, normalize, block_size)
    return cycle_hits(nn_a.indices, nn_b.indices).double()


def cycle_knn(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int = 10, *, normalize: bool = True,
              block_size: int | None = None) -> float:
    """Cycle k-NN accuracy (not symmetric in A and B)."""
    return cycle_knn_per_sample(feats_a, feats_b, k, normalize=normalize, block_size=block_size).mean().item()


def lcs_knn_per_sample(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int = 10, *,
                       normalize: bool = True, block_size: int | None = None) -> torch.Tensor:
    """Longest common subsequence of the two ordered k-NN lists of each sample (0..k)."""
    nn_a, nn_b = _neighbors(feats_a, feats_b, k, normalize, block_size)
    return lcs_lengths(nn_a.indices, nn_b.indices).double()


def lcs_knn(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int = 10, *, normalize: bool = True,
            block_size: int | None = None) -> float:
    """Mean LCS length of the ordered k-NN lists; like the reference, in [0, k] (not divided by k)."""
    return lcs_knn_per_sample(feats_a, feats_b, k, normalize=normalize, block_size=block_size).mean().item()


def edit_distance_knn_per_sample(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int = 10, *,
                                 normalize: bool = True, block_size: int | None = None) -> torch.Tensor:
    """1 - (edit distance between the two ordered k-NN lists) / k, per sample (in [0, 1])."""
    nn_a, nn_b = _neighbors(feats_a, feats_b, k, normalize, block_size)
    return 1.0 - edit_distances(nn_a.indices, nn_b.indices).double() / k


def edit_distance_knn(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int = 10, *, normalize: bool = True,
                      block_size: int | None = None) -> float:
    """The reference's `edit_distance_knn`: 1 - mean Levenshtein distance of the ordered k-NN lists / k."""
    return edit_distance_knn_per_sample(feats_a, feats_b, k, normalize=normalize,
                                        block_size=block_size).mean().item()


def cknna(feats_a: torch.Tensor, feats_b: torch.Tensor, k: int = 10, *, normalize: bool = True,
          block_size: int | None = None) -> float:
    """CKNNA (unbiased HSIC restricted to mutual k-NN pairs), computed from the sparse neighbour lists."""
    if k < 2:
        raise ValueError("cknna needs k >= 2")
    nn_a, nn_b = _neighbors(feats_a, feats_b, k, normalize, block_size)
    return cknna_from_neighbors(nn_a, nn_b)


def cknna_from_neighbors(nn_a: Neighbors, nn_b: Neighbors) -> float:
    """The reference CKNNA, with its N x N masked kernels replaced by their N*k non-zero entries."""
    n, k = nn_a.indices.shape
    rows = torch.arange(n, device=nn_a.indices.device).repeat_interleave(k)
    cols_a, cols_b = nn_a.indices.flatten(), nn_b.indices.flatten()
    vals_a, vals_b = nn_a.values.double(), nn_b.values.double()
    equal = nn_a.indices[:, :, None] == nn_b.indices[:, None, :]
    shared = equal.any(dim=2).flatten()
    b_at_a = (equal * vals_b[:, None, :]).sum(dim=2).flatten()
    hsic_kl = _sparse_hsic_unbiased(rows[shared], cols_a[shared], vals_a.flatten()[shared], b_at_a[shared], n)
    hsic_kk = _sparse_hsic_unbiased(rows, cols_a, vals_a.flatten(), vals_a.flatten(), n)
    hsic_ll = _sparse_hsic_unbiased(rows, cols_b, vals_b.flatten(), vals_b.flatten(), n)
    return (hsic_kl / (torch.sqrt(hsic_kk * hsic_ll) + 1e-6)).item()


def _sparse_hsic_unbiased(rows: torch.Tensor, cols: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                          n: int) -> torch.Tensor:
    """Unbiased HSIC (Song et al. 2012, eq. 5) of two N x N matrices given by their shared non-zeros."""
    trace_term = x.new_zeros(())
    if x.numel():
        keys = rows * n + cols
        order = keys.argsort()
        sorted_keys, y_sorted = keys[order], y[order]
        transposed = cols * n + rows
        position = torch.searchsorted(sorted_keys, transposed).clamp(max=keys.numel() - 1)
        found = sorted_keys[position] == transposed
        trace_term = (x * torch.where(found, y_sorted[position], 0.0)).sum()
    colsum_x = torch.zeros(n, dtype=x.dtype, device=x.device).index_add_(0, cols, x)
    rowsum_y = torch.zeros(n, dtype=y.dtype, device=y.device).index_add_(0, rows, y)
    value = (trace_term + x.sum() * y.sum() / ((n - 1) * (n - 2))
             - 2 * (colsum_x * rowsum_y).sum() / (n - 2))
    return value / (n * (n - 3))
