"""Kernel and CCA alignment metrics (CKA, unbiased CKA, SVCCA) for all layer pairs of two models at once.

Linear (inner-product) kernels only, as in the study. Kernels are built in row blocks of
(layers x block x N), so no N x N matrix per layer pair is ever held, and every layer pair comes out
of one matrix product per block. Inputs are (L, N, D); the 2-D single-pair functions wrap them.
"""

from __future__ import annotations

import torch

_BLOCK_ELEMENTS = 2**25


def _normalized(feats: torch.Tensor, normalize: bool) -> torch.Tensor:
    feats = feats if feats.dtype == torch.float64 else feats.float()
    return torch.nn.functional.normalize(feats, dim=-1) if normalize else feats


def _block_rows(n: int, layers: int, block_size: int | None) -> int:
    return block_size or max(1, min(n, _BLOCK_ELEMENTS // max(1, layers * n)))


def cka_matrix(feats_a: torch.Tensor, feats_b: torch.Tensor, *, unbiased: bool = False,
               block_size: int | None = None) -> torch.Tensor:
    """(La, Lb) linear CKA of every layer pair; features (La, N, Da) and (Lb, N, Db).

    Biased: HSIC = trace(K H L H) (Kornblith et al. 2019). Unbiased: Song et al. 2012, eq. 5, as in
    the reference `hsic_unbiased`. Both divide by sqrt(HSIC_KK * HSIC_LL) + 1e-6 like the reference.
    """
    n = feats_a.shape[1]
    if n != feats_b.shape[1]:
        raise ValueError(f"both feature sets need the same samples: {n} != {feats_b.shape[1]}")
    if unbiased and n < 4:
        raise ValueError("unbiased CKA needs at least 4 samples")
    if not unbiased:
        feats_a = feats_a - feats_a.mean(dim=1, keepdim=True)
        feats_b = feats_b - feats_b.mean(dim=1, keepdim=True)
    rows = _block_rows(n, feats_a.shape[0] + feats_b.shape[0], block_size)
    stats = _GramSums(feats_a.shape[0], feats_b.shape[0], n, feats_a.device)
    for start in range(0, n, rows):
        block_a = _kernel_rows(feats_a, start, start + rows, zero_diagonal=unbiased)
        block_b = _kernel_rows(feats_b, start, start + rows, zero_diagonal=unbiased)
        stats.add(block_a, block_b, start)
    hsic = stats.unbiased if unbiased else stats.biased
    kl, kk, ll = hsic()
    return kl / (torch.sqrt(kk[:, None] * ll[None, :]) + 1e-6)


def _kernel_rows(feats: torch.Tensor, start: int, stop: int, *, zero_diagonal: bool) -> torch.Tensor:
    block = torch.bmm(feats[:, start:stop], feats.transpose(1, 2)).double()
    if zero_diagonal:
        rows = torch.arange(block.shape[1], device=block.device)
        block[:, rows, rows + start] = 0.0
    return block


class _GramSums:
    """Running sums over kernel row blocks from which both HSIC estimators follow."""

    def __init__(self, layers_a: int, layers_b: int, n: int, device: torch.device) -> None:
        self.n = n
        self.cross = torch.zeros(layers_a, layers_b, dtype=torch.float64, device=device)
        self.self_a = torch.zeros(layers_a, dtype=torch.float64, device=device)
        self.self_b = torch.zeros(layers_b, dtype=torch.float64, device=device)
        self.rowsum_a = torch.zeros(layers_a, n, dtype=torch.float64, device=device)
        self.rowsum_b = torch.zeros(layers_b, n, dtype=torch.float64, device=device)

    def add(self, block_a: torch.Tensor, block_b: torch.Tensor, start: int) -> None:
        stop = start + block_a.shape[1]
        self.cross += block_a.flatten(1) @ block_b.flatten(1).T
        self.self_a += block_a.square().sum(dim=(1, 2))
        self.self_b += block_b.square().sum(dim=(1, 2))
        self.rowsum_a[:, start:stop] = block_a.sum(dim=2)
        self.rowsum_b[:, start:stop] = block_b.sum(dim=2)

    def biased(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.cross, self.self_a, self.self_b

    def unbiased(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = self.n
        sum_a, sum_b = self.rowsum_a.sum(dim=1), self.rowsum_b.sum(dim=1)

        def hsic(trace_term, sums_x, sums_y, rowsums_x, rowsums_y):
            return (trace_term + sums_x * sums_y / ((m - 1) * (m - 2))
                    - 2 * rowsums_x @ rowsums_y.T / (m - 2)) / (m * (m - 3))

        kl = hsic(self.cross, sum_a[:, None], sum_b[None, :], self.rowsum_a, self.rowsum_b)
        kk = hsic(self.self_a, sum_a, sum_a, self.rowsum_a, self.rowsum_a).diagonal()
        ll = hsic(self.self_b, sum_b, sum_b, self.rowsum_b, self.rowsum_b).diagonal()
        return kl, kk, ll


def svcca_matrix(feats_a: torch.Tensor, feats_b: torch.Tensor, *, cca_dim: int = 10, reduction: str = "exact",
                 seed: int = 0) -> torch.Tensor:
    """(La, Lb) SVCCA: mean canonical correlation between the top-`cca_dim` singular subspaces.

    Like the reference, activations are standardised per feature and reduced to `cca_dim` left
    singular vectors; the canonical correlations between two orthonormal bases are then exactly the
    singular values of U_a^T U_b (the reference fits sklearn's iterative CCA to the same end; the two
    agree to about 1e-7).

    `reduction="exact"` (default) takes the top singular vectors of a full float64 SVD: deterministic.
    `reduction="lowrank"` is the reference's `torch.svd_lowrank(q=cca_dim)` (randomised range finder,
    2 power iterations) in the input's precision, its random matrix drawn after `torch.manual_seed(seed)`
    for every layer, so a layer's basis is the same in every pair and on every run. When the spectrum
    has no clear gap after `cca_dim` the approximate subspace is far from the top one, and the two
    reductions can differ by tenths.
    """
    if reduction not in ("exact", "lowrank"):
        raise ValueError(f"unknown SVCCA reduction {reduction!r}; choose exact or lowrank")
    bases_a = torch.stack([_reduce(layer, cca_dim, reduction, seed) for layer in feats_a])
    bases_b = torch.stack([_reduce(layer, cca_dim, reduction, seed) for layer in feats_b])
    overlap = torch.einsum("anq,bnr->abqr", bases_a, bases_b)
    return torch.linalg.svdvals(overlap).clamp(max=1.0).mean(dim=-1)


def _reduce(acts: torch.Tensor, dim: int, reduction: str, seed: int) -> torch.Tensor:
    if dim > min(acts.shape):
        raise ValueError(f"cca_dim={dim} exceeds min(N, D)={min(acts.shape)}")
    if reduction == "exact":
        return torch.linalg.svd(_standardize(acts.double()), full_matrices=False).U[:, :dim]
    acts = _standardize(acts if acts.dtype == torch.float64 else acts.float())
    with torch.random.fork_rng(devices=[acts.device] if acts.is_cuda else []):
        torch.manual_seed(seed)
        return torch.svd_lowrank(acts, q=dim)[0].double()


def _standardize(acts: torch.Tensor) -> torch.Tensor:
    return (acts - acts.mean(dim=0)) / (acts.std(dim=0) + 1e-8)


def cka(feats_a: torch.Tensor, feats_b: torch.Tensor, *, normalize: bool = True) -> float:
    """Linear CKA of two (N, D) feature matrices."""
    return cka_matrix(_normalized(feats_a, normalize)[None], _normalized(feats_b, normalize)[None]).item()


def unbiased_cka(feats_a: torch.Tensor, feats_b: torch.Tensor, *, normalize: bool = True) -> float:
    """Linear CKA with the unbiased HSIC estimator."""
    return cka_matrix(_normalized(feats_a, normalize)[None], _normalized(feats_b, normalize)[None],
                      unbiased=True).item()


def svcca(feats_a: torch.Tensor, feats_b: torch.Tensor, *, cca_dim: int = 10, normalize: bool = True,
          reduction: str = "exact", seed: int = 0) -> float:
    """SVCCA similarity of two (N, D) feature matrices (`reduction`: see `svcca_matrix`)."""
    return svcca_matrix(_normalized(feats_a, normalize)[None], _normalized(feats_b, normalize)[None],
                        cca_dim=cca_dim, reduction=reduction, seed=seed).item()
