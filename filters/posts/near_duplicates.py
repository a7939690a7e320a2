"""Perceptual near-duplicates: pHash (optionally confirmed by embedding cosine), most-liked copy kept.

The pHash (`filters.posts.image_signals.phash_bits`) is computed on the model's centre crop, on the
GPU when there is one, batched, in the embedder's decode pass.

`NearDuplicates` keeps state across batches, like `filters.poems.dedup`: the copies it has kept so far.
Within a batch, copies are resolved most-liked first, so the most-liked copy of a group is kept.
Across batches a stream cannot take back a row already written as kept: a later copy is rejected
as `near_duplicate` of the earlier kept one even when it has more likes. For an exact
most-liked-copy choice over a whole corpus, run one batch (or sort the input by `like_count`
descending, then every later copy has fewer likes). Memory and time grow with the number of kept
images (a brute-force Hamming scan, vectorised with numpy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from curation.stage import reject_where
from filters.posts.schema import embedding_matrix


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances between uint64 hash arrays: (len(a), len(b))."""
    return np.bitwise_count(a[:, None] ^ b[None, :]).astype(np.int16)


@dataclass
class NearDuplicates:
    """Rejects all but the most-liked copy of each near-duplicate group (streaming caveat above)."""

    max_distance: int = 6
    min_cosine: float | None = None
    name: str = "near_duplicates"
    reads: tuple[str, ...] = ("post_id", "like_count", "phash")
    adds: tuple[str, ...] = ("near_duplicate_of",)
    _hashes: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64), init=False, repr=False)
    _ids: list[str] = field(default_factory=list, init=False, repr=False)
    _embeddings: list[np.ndarray] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.min_cosine is not None:
            self.reads = (*self.reads, "clip_embedding")

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        hashes = batch["phash"].to_numpy().astype(np.uint64)
        likes = batch["like_count"].fill_null(0).to_numpy()
        ids = batch["post_id"].cast(pl.Utf8).to_list()
        embeddings = self._batch_embeddings(batch)
        duplicate_of: list[str | None] = [None] * batch.height
        kept_match = self._match_kept(hashes, embeddings)
        within = self._close(hashes, hashes, embeddings, embeddings)
        kept_here = np.zeros(batch.height, bool)
        for row in np.argsort(-likes, kind="stable"):
            here = np.flatnonzero(within[row] & kept_here)
            if kept_match[row] >= 0:
                duplicate_of[row] = self._ids[kept_match[row]]
            elif here.size:
                duplicate_of[row] = ids[here[np.argmax(likes[here])]]
            else:
                kept_here[row] = True
        self._remember(hashes, ids, embeddings, np.flatnonzero(kept_here))
        batch = batch.with_columns(pl.Series("near_duplicate_of", duplicate_of, dtype=pl.Utf8))
        return reject_where(batch, pl.col("near_duplicate_of").is_not_null(), "near_duplicate",
                            pl.concat_str(pl.lit("kept copy: "), pl.col("near_duplicate_of")))

    def _match_kept(self, hashes: np.ndarray, embeddings: np.ndarray | None,
                    chunk: int = 65_536) -> np.ndarray:
        """Index of the first kept copy each row is close to, or -1; scans the kept set in chunks."""
        match = np.full(len(hashes), -1, np.int64)
        kept_embeddings = self._kept_embeddings()
        for start in range(0, len(self._hashes), chunk):
            stop = start + chunk
            other = None if kept_embeddings is None else kept_embeddings[start:stop]
            close = self._close(hashes, self._hashes[start:stop], embeddings, other)
            found = (match < 0) & close.any(axis=1)
            match[found] = start + close[found].argmax(axis=1)
        return match

    def _close(self, a: np.ndarray, b: np.ndarray, ea: np.ndarray | None,
               eb: np.ndarray | None) -> np.ndarray:
        close = hamming(a, b) <= self.max_distance
        if self.min_cosine is not None and ea is not None and eb is not None and close.size:
            close &= (ea @ eb.T) >= self.min_cosine
        return close

    def _batch_embeddings(self, batch: pl.DataFrame) -> np.ndarray | None:
        if self.min_cosine is None:
            return None
        return embedding_matrix(batch["clip_embedding"])

    def _kept_embeddings(self) -> np.ndarray | None:
        if self.min_cosine is None:
            return None
        return np.concatenate(self._embeddings) if self._embeddings else np.empty((0, 0), np.float32)

    def _remember(self, hashes: np.ndarray, ids: list[str], embeddings: np.ndarray | None,
                  kept: np.ndarray) -> None:
        self._hashes = np.concatenate([self._hashes, hashes[kept]])
        self._ids += [ids[k] for k in kept]
        if embeddings is not None:
            self._embeddings.append(embeddings[kept])
