"""Exact k-nearest-neighbour search by inner product, in row blocks so memory stays O(N*k).

Tie rule: among equal similarities the lower sample index wins, and the k neighbours of a row are
ordered by (similarity descending, index ascending). The result is therefore the same for any block
size and on any run. A sample is never its own neighbour (excluded by index, so exact duplicates
still count as neighbours of each other).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

_CPU_BLOCK_ELEMENTS = 2**26
_GPU_BLOCK_ELEMENTS = 2**31
_TIE_FIX_ROWS = 256


@dataclass(frozen=True)
class Neighbors:
    """`indices` and `values` have shape (..., N, k): the neighbours of every row, best first."""

    indices: torch.Tensor
    values: torch.Tensor

    @property
    def k(self) -> int:
        return self.indices.shape[-1]


def auto_block_size(n: int, layers: int = 1, device: torch.device | str = "cpu") -> int:
    """Rows per block so one block of float32 similarities (layers x rows x N) stays near a budget."""
    budget = _GPU_BLOCK_ELEMENTS if torch.device(device).type == "cuda" else _CPU_BLOCK_ELEMENTS
    return max(1, min(n, budget // max(1, layers * n)))


def nearest_neighbors(feats: torch.Tensor, k: int, *, block_size: int | None = None) -> Neighbors:
    """The k nearest neighbours by inner product of each row of `feats` ((N, D) or (L, N, D)).

    Runs on the device of `feats`; bf16/fp16 inputs are multiplied in that precision with float32
    similarities where the backend supports it. Memory beyond the input: O(L*N*k) plus one
    (L, block_size, N) block of similarities.
    """
    squeeze = feats.ndim == 2
    batched = feats.unsqueeze(0) if squeeze else feats
    if batched.ndim != 3:
        raise ValueError(f"expected features of shape (N, D) or (L, N, D), got {tuple(feats.shape)}")
    layers, n, _ = batched.shape
    if not 0 < k < n:
        raise ValueError(f"k must be in [1, N-1] = [1, {n - 1}], got {k}")
    block_size = block_size or auto_block_size(n, layers, batched.device)
    indices = torch.empty(layers, n, k, dtype=torch.long, device=batched.device)
    value_dtype = torch.float64 if batched.dtype == torch.float64 else torch.float32
    values = torch.empty(layers, n, k, dtype=value_dtype, device=batched.device)
    keys = batched.transpose(1, 2)
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        sim = _similarity(batched[:, start:stop], keys)
        rows = torch.arange(stop - start, device=sim.device)
        sim[:, rows, rows + start] = float("-inf")
        values[:, start:stop], indices[:, start:stop] = topk_lower_index_wins(sim, k)
        del sim
    if squeeze:
        return Neighbors(indices[0], values[0])
    return Neighbors(indices, values)


def _similarity(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Batched queries @ keys; half-precision inputs give float32 similarities (computed so on CUDA)."""
    if queries.dtype not in (torch.bfloat16, torch.float16):
        return torch.bmm(queries, keys)
    if queries.is_cuda:
        try:
            return torch.bmm(queries, keys, out_dtype=torch.float32)
        except (TypeError, RuntimeError, NotImplementedError):
            pass
    return torch.bmm(queries, keys).float()


def topk_lower_index_wins(sim: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k along the last axis ordered by (value desc, index asc); the lower index wins ties.

    `torch.topk` picks arbitrarily among equal values, so rows whose k-th and (k+1)-th values are
    equal (a tie across the cut) are redone with a stable full sort: rare for float32 similarities.
    Needs k < sim.shape[-1].
    """
    values, indices = sim.topk(k + 1, dim=-1)
    tied = values[..., k] == values[..., k - 1]
    values, indices = values[..., :k].contiguous(), indices[..., :k].contiguous()
    if tied.any():
        where = tied.nonzero(as_tuple=True)
        for chunk in range(0, where[0].numel(), _TIE_FIX_ROWS):
            sel = tuple(w[chunk:chunk + _TIE_FIX_ROWS] for w in where)
            v, i = sim[sel].sort(dim=-1, descending=True, stable=True)
            values[sel], indices[sel] = v[..., :k], i[..., :k]
    indices, order = indices.sort(dim=-1)
    values = values.gather(-1, order)
    values, order = values.sort(dim=-1, descending=True, stable=True)
    return values, indices.gather(-1, order)


def brute_force_neighbors(feats: torch.Tensor, k: int) -> torch.Tensor:
    """The straightforward reference: full N x N similarity, self masked, stable argsort. O(N^2) memory."""
    sim = feats @ feats.T
    sim.fill_diagonal_(float("-inf"))
    return sim.argsort(dim=1, descending=True, stable=True)[:, :k]
