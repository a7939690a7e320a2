"""Length-aligned sampling (seed 001): match a reference corpus's word-count distribution.

The reference's word counts are cut into quantile bins (20 by default); every poem falls in one bin
(or none, when it is shorter or longer than every reference text). `aligned_5` then draws, per bin,
exactly as many poems as the reference has there, with replacement; `aligned_s` draws without
replacement the largest sample whose bin counts keep the reference's proportions, the fractional
quotas settled by largest remainder. Both take a seed and are reproducible bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from curation.errors import CurationError

DEFAULT_BINS = 20
OUT_OF_RANGE = -1


class EmptyBinError(CurationError):
    """A bin the reference needs holds no poems to draw from."""


def word_counts(texts: pl.Series) -> np.ndarray:
    """Whitespace-separated words per text (the one length used on both sides of the alignment)."""
    return texts.fill_null("").str.count_matches(r"\S+").cast(pl.Int64).to_numpy()


@dataclass(frozen=True)
class LengthBins:
    """Quantile bin edges of a reference length distribution and the reference's count per bin."""

    edges: np.ndarray
    reference_counts: np.ndarray

    @classmethod
    def from_reference(cls, lengths: np.ndarray, bins: int = DEFAULT_BINS) -> LengthBins:
        lengths = np.asarray(lengths, dtype=np.float64)
        if lengths.size == 0:
            raise CurationError("the reference has no texts to take lengths from")
        if bins < 1:
            raise CurationError(f"--bins must be at least 1, not {bins}")
        edges = np.quantile(lengths, np.linspace(0.0, 1.0, bins + 1))
        bins_of = cls(edges, np.zeros(bins, dtype=np.int64)).assign(lengths)
        return cls(edges, np.bincount(bins_of, minlength=bins).astype(np.int64))

    @property
    def size(self) -> int:
        return len(self.reference_counts)

    @property
    def reference_total(self) -> int:
        return int(self.reference_counts.sum())

    def assign(self, lengths: np.ndarray) -> np.ndarray:
        """Bin index per length; `OUT_OF_RANGE` outside [min, max] of the reference."""
        lengths = np.asarray(lengths, dtype=np.float64)
        index = np.searchsorted(self.edges[1:-1], lengths, side="right")
        inside = (lengths >= self.edges[0]) & (lengths <= self.edges[-1])
        return np.where(inside, index, OUT_OF_RANGE)

    def interval(self, k: int) -> str:
        closing = "]" if k == self.size - 1 else ")"
        return f"[{self.edges[k]:g}, {self.edges[k + 1]:g}{closing}"

    def label(self, k: int) -> str:
        return f"bin {k} {self.interval(k)} words"

    def check_available(self, available: np.ndarray, needed: np.ndarray) -> None:
        empty = [k for k in range(self.size) if needed[k] > 0 and available[k] == 0]
        if empty:
            names = "; ".join(f"{self.label(k)} (reference has {self.reference_counts[k]})" for k in empty)
            raise EmptyBinError(f"no poems to draw from in {names}; use fewer --bins or a larger input")


@dataclass(frozen=True)
class LengthSample:
    """Row positions drawn from the candidates, each with its bin, in ascending row order."""

    rows: np.ndarray
    bins_of_rows: np.ndarray
    counts: np.ndarray
    available: np.ndarray


def rows_by_bin(bins: LengthBins, lengths: np.ndarray) -> list[np.ndarray]:
    assigned = bins.assign(lengths)
    return [np.flatnonzero(assigned == k) for k in range(bins.size)]


def sample_with_replacement(lengths: np.ndarray, bins: LengthBins, seed: int) -> LengthSample:
    """`aligned_5`: per bin, as many draws as the reference has there, with replacement."""
    pools = rows_by_bin(bins, lengths)
    available = np.array([len(pool) for pool in pools], dtype=np.int64)
    bins.check_available(available, bins.reference_counts)
    rng = np.random.default_rng(seed)
    drawn = [rng.choice(pool, size=int(n), replace=True) if n else pool[:0]
             for pool, n in zip(pools, bins.reference_counts, strict=True)]
    return _finish(drawn, bins.reference_counts, available)


def largest_proportional_counts(reference_counts: np.ndarray, available: np.ndarray) -> np.ndarray:
    """The largest per-bin counts, each within `available`, in the reference's proportions.

    Size N = min over needed bins of floor(available * total / reference); quotas N * share are
    floored and the leftover units go to the largest remainders (ties to the lower bin).
    """
    needed = reference_counts > 0
    total = int(reference_counts.sum())
    size = int(np.min(available[needed] * total // reference_counts[needed]))
    numerators = size * reference_counts
    counts = numerators // total
    leftover = size - int(counts.sum())
    order = np.lexsort((np.arange(len(counts)), -(numerators % total)))
    counts[order[:leftover]] += 1
    return counts


def sample_without_replacement(lengths: np.ndarray, bins: LengthBins, seed: int) -> LengthSample:
    """`aligned_s`: the largest sample without replacement that keeps the reference's bin shares."""
    pools = rows_by_bin(bins, lengths)
    available = np.array([len(pool) for pool in pools], dtype=np.int64)
    bins.check_available(available, bins.reference_counts)
    counts = largest_proportional_counts(bins.reference_counts, available)
    rng = np.random.default_rng(seed)
    drawn = [rng.choice(pool, size=int(n), replace=False) if n else pool[:0]
             for pool, n in zip(pools, counts, strict=True)]
    return _finish(drawn, counts, available)


def _finish(drawn: list[np.ndarray], counts: np.ndarray, available: np.ndarray) -> LengthSample:
    rows = np.concatenate(drawn).astype(np.int64)
    bins_of_rows = np.concatenate([np.full(len(d), k, dtype=np.int64) for k, d in enumerate(drawn)])
    order = np.argsort(rows, kind="stable")
    return LengthSample(rows[order], bins_of_rows[order], np.asarray(counts, dtype=np.int64), available)
