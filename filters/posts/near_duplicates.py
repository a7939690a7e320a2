"""Perceptual near-duplicates: pHash (optionally confirmed by embedding cosine), most-liked copy kept.

The pHash (`filters.posts.image_signals.phash_bits`) is computed on the model's centre crop, on the
GPU when there is one, batched, in the embedder's decode pass.

`NearDuplicates` is a global stage (`curation.global_stages`): after every shard, `plan` sees the
pHash (and, with `min_cosine`, the embedding) of every kept row and resolves the groups most-liked
first (ties: smallest row id), so the most-liked copy of each group is kept and every other copy
names it, whatever the engine, worker count or shard order. It resolves rows in chunks: each chunk
is compared with the copies kept so far (a brute-force Hamming scan, vectorised with numpy, in
blocks), then within itself. Memory grows with the number of kept rows (8 bytes each, plus the
embeddings with `min_cosine`); time with kept rows x rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from curation.schema import REJECT_DETAIL, REJECT_REASON, ROW_ID, with_bookkeeping
from curation.stage import reject_where
from filters.posts.schema import embedding_matrix


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances between uint64 hash arrays: (len(a), len(b))."""
    return np.bitwise_count(a[:, None] ^ b[None, :]).astype(np.int16)


CHUNK_ROWS = 1_024  # rows resolved at once: compared with each other and with the kept copies
KEPT_BLOCK = 16_384  # kept copies compared with a chunk at once (rows x block int16 distances)


@dataclass
class NearDuplicates:
    """Rejects all but the most-liked copy of each near-duplicate group (a global stage, see above)."""

    max_distance: int = 6
    min_cosine: float | None = None
    name: str = "near_duplicates"
    reads: tuple[str, ...] = (ROW_ID, "post_id", "like_count", "phash")  # row ids key the plan's update
    adds: tuple[str, ...] = ("near_duplicate_of",)
    plan_reads: tuple[str, ...] = ("post_id", "like_count", "phash")
    drops: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.min_cosine is not None:
            self.reads = (*self.reads, "clip_embedding")
            self.plan_reads = (*self.plan_reads, "clip_embedding")

    def prepare(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Nothing to add per batch: the embedder wrote `phash` (and `clip_embedding`)."""
        return batch

    def plan(self, rows: pl.DataFrame) -> pl.DataFrame:
        """`row_id`, `near_duplicate_of` and the rejection of every kept row (see the module doc)."""
        duplicate_of = self.resolve(rows, rows[ROW_ID].cast(pl.Utf8))
        return rows.select(ROW_ID).with_columns(duplicate_of).with_columns(
            pl.when(pl.col("near_duplicate_of").is_not_null()).then(pl.lit("near_duplicate"))
            .alias(REJECT_REASON),
            pl.format("kept copy: {}", "near_duplicate_of").alias(REJECT_DETAIL))

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Near-duplicates within this one frame's kept rows (the engine runs `plan` over a whole run)."""
        batch = with_bookkeeping(batch)
        alive = batch.with_row_index("_position").filter(pl.col(REJECT_REASON).is_null())
        found = alive.select("_position", self.resolve(alive, alive["_position"]))
        batch = (batch.drop("near_duplicate_of", strict=False).with_row_index("_position")
                 .join(found, on="_position", how="left", maintain_order="left").drop("_position"))
        return reject_where(batch, pl.col("near_duplicate_of").is_not_null(), "near_duplicate",
                            pl.concat_str(pl.lit("kept copy: "), pl.col("near_duplicate_of")))

    def resolve(self, rows: pl.DataFrame, tiebreak: pl.Series) -> pl.Series:
        """`near_duplicate_of` for `rows`: null for the most-liked copy of each group (ties: smallest
        `tiebreak`) and for rows without a pHash, that copy's `post_id` for the others."""
        order = (rows.select(pl.col("like_count").fill_null(0).alias("likes"), tiebreak.alias("tiebreak"),
                             pl.col("phash").is_not_null().alias("hashed"))
                 .with_row_index("row").filter("hashed").sort(["likes", "tiebreak"], descending=[True, False])
                 ["row"].to_numpy())
        ranked = rows[order]
        hashes = ranked["phash"].to_numpy().astype(np.uint64)
        embeddings = self._embeddings(ranked)
        ids = ranked["post_id"].cast(pl.Utf8).to_list()
        found = np.full(len(order), -1, np.int64)  # rank of the kept copy each ranked row duplicates
        kept = np.zeros(len(order), bool)
        for start in range(0, len(order), CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, len(order))
            found[start:stop] = self._resolve_chunk(hashes, embeddings, kept, start, stop)
        duplicate_of: list[str | None] = [None] * rows.height
        for rank in np.flatnonzero(found >= 0):
            duplicate_of[order[rank]] = ids[found[rank]]
        return pl.Series("near_duplicate_of", duplicate_of, dtype=pl.Utf8)

    def _resolve_chunk(self, hashes: np.ndarray, embeddings: np.ndarray | None, kept: np.ndarray,
                       start: int, stop: int) -> np.ndarray:
        """Ranks `start:stop`: the rank of the most-liked kept copy each is close to (-1: a kept
        copy itself, marked in `kept`); earlier ranks are resolved already."""
        chunk = slice(start, stop)
        earlier = np.flatnonzero(kept[:start])
        found = np.full(stop - start, -1, np.int64)
        for block in range(0, len(earlier), KEPT_BLOCK):
            ranks = earlier[block:block + KEPT_BLOCK]
            close = self._close(hashes[chunk], hashes[ranks], embeddings, chunk, ranks)
            fresh = (found < 0) & close.any(axis=1)
            found[fresh] = ranks[close[fresh].argmax(axis=1)]
        within = self._close(hashes[chunk], hashes[chunk], embeddings, chunk, chunk)
        for offset in range(stop - start):
            if found[offset] >= 0:
                continue
            here = np.flatnonzero(within[offset, :offset] & kept[start:start + offset])
            if here.size:
                found[offset] = start + here[0]
            else:
                kept[start + offset] = True
        return found

    def _close(self, a: np.ndarray, b: np.ndarray, embeddings: np.ndarray | None,
               a_rows: slice | np.ndarray, b_rows: slice | np.ndarray) -> np.ndarray:
        close = hamming(a, b) <= self.max_distance
        if embeddings is not None and close.size:
            close &= (embeddings[a_rows] @ embeddings[b_rows].T) >= self.min_cosine
        return close

    def _embeddings(self, rows: pl.DataFrame) -> np.ndarray | None:
        if self.min_cosine is None:
            return None
        return embedding_matrix(rows["clip_embedding"])
