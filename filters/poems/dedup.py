"""Exact and near-duplicate poems, marked rather than dropped silently; order-independent.

A global stage (see `curation.global_stages.GlobalStage`): `prepare` adds per-row signatures batch
by batch, `text_hash` (of the normalised text: lower case, letters and digits only, single spaces)
and `lsh_bands` (the MinHash LSH band keys of the word 5-grams); `plan` then sees the signatures of
every kept row, about 50 bytes each plus the row id. Exact duplicates share a `text_hash`; every
copy but the one with the smallest `row_id` gets `duplicate_of` = that row id. Near duplicates are
rows (exact copies aside) that share an LSH band key with another (the bands and rows per band that
balance false positives and negatives around the Jaccard threshold); each cluster of such rows gets
`near_duplicate_of` = its smallest row id, except that row. Both are kept (the same poem filed under
two forms is both forms' poem) unless `drop_exact` / `drop_near` turn them into rejections. The
result depends only on the set of rows, not on batches, shards, workers or engine.

MinHash is computed with polars expressions: each shingle's 64-bit hash goes through `num_perm`
multiply-shift hash functions ((a x + b) mod 2^64) >> 32, and a group-by takes each one's minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
import polars as pl

from curation.global_stages import run_in_one_frame
from curation.schema import REJECT_DETAIL, REJECT_REASON, ROW_ID
from curation.text_column import NORMALISED


def shingle_hashes(batch: pl.DataFrame, size: int, seed: int) -> pl.DataFrame:
    """`row` (position in the batch) and `shingle` (a u64 hash) for every run of `size` consecutive
    words of each row's normalised text; a text of fewer words is one shingle."""
    words = (batch.select(NORMALISED.str.split(" ").alias("word")).with_row_index("row")
             .explode("word")
             .with_columns(pl.col("word").hash(seed), pl.int_range(pl.len()).over("row").alias("position"),
                           pl.len().over("row").cast(pl.Int64).alias("words")))
    in_row = [pl.when(pl.col("position") + i < pl.col("words")).then(pl.col("word").shift(-i)).alias(f"w{i}")
              for i in range(size)]
    starts = (pl.col("position") <= pl.col("words") - size) | (pl.col("position") == 0)
    return (words.select("row", pl.struct(in_row).hash(seed).alias("shingle"), starts.alias("starts"))
            .filter("starts").drop("starts"))


def minhash_signatures(batch: pl.DataFrame, num_perm: int, size: int, seed: int) -> pl.DataFrame:
    """`num_perm` MinHash values (u64 < 2^32) per row, as columns m0, m1, ...; one row per batch row."""
    rng = np.random.default_rng(seed)
    multipliers = rng.integers(0, 1 << 63, num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    offsets = rng.integers(0, 1 << 63, num_perm, dtype=np.uint64)
    value = pl.col("shingle") & 0xFFFFFFFF
    high_half = pl.lit(1 << 32, pl.UInt64)
    hashes = [((value * pl.lit(int(a), pl.UInt64) + pl.lit(int(b), pl.UInt64)) // high_half)
              .min().alias(f"m{i}") for i, (a, b) in enumerate(zip(multipliers, offsets, strict=True))]
    return shingle_hashes(batch, size, seed).group_by("row").agg(hashes).sort("row").drop("row")


def lsh_band_keys(signatures: pl.DataFrame, bands: int, rows_per_band: int, seed: int) -> pl.Series:
    """One u64 key per LSH band: rows that share a key agree on all of that band's MinHash values."""
    columns = signatures.columns
    keys = [pl.struct(columns[band * rows_per_band:(band + 1) * rows_per_band]).hash(seed + band)
            for band in range(bands)]
    return signatures.select(pl.concat_list(keys).alias("lsh_bands"))["lsh_bands"]


def lsh_parameters(threshold: float, num_perm: int, grid: int = 1_001) -> tuple[int, int]:
    """(bands, rows per band) with `bands x rows <= num_perm` minimising the mean of the false
    positive and false negative probability mass around the Jaccard `threshold` (datasketch's rule)."""
    below, above = np.linspace(0.0, threshold, grid), np.linspace(threshold, 1.0, grid)

    def error(bands: int, rows: int) -> float:
        collide = lambda s: 1.0 - (1.0 - s ** rows) ** bands  # noqa: E731
        return 0.5 * np.trapezoid(collide(below), below) + 0.5 * np.trapezoid(1.0 - collide(above), above)

    pairs = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    return min(pairs, key=lambda pair: error(*pair))


def lsh_clusters(band_keys: np.ndarray) -> np.ndarray:
    """For rows sorted by id, with their band keys (rows x bands): the index of the first row of
    each row's LSH cluster (rows linked by any shared band key)."""
    from scipy.sparse import coo_matrix  # scipy is slow to import; only the global plan needs it
    from scipy.sparse.csgraph import connected_components

    count, bands = band_keys.shape
    edges = []
    for band in range(bands):
        groups = (pl.DataFrame({"row": np.arange(count), "key": band_keys[:, band]})
                  .with_columns(pl.col("row").min().over("key").alias("first"))
                  .filter(pl.col("row") != pl.col("first")))
        edges.append(groups.select("row", "first").to_numpy())
    pairs = np.concatenate(edges) if edges else np.empty((0, 2), dtype=np.int64)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(count, count))
    _, labels = connected_components(graph, directed=False)
    first_of_label = np.full(labels.max() + 1 if count else 0, count)
    np.minimum.at(first_of_label, labels, np.arange(count))
    return first_of_label[labels]


@dataclass
class MarkDuplicates:
    name: str = "dedup"
    threshold: float = 0.8
    num_perm: int = 64
    shingle_size: int = 5
    drop_exact: bool = False
    drop_near: bool = False
    seed: int = 1
    reads: tuple[str, ...] = ("text", "row_id")
    adds: tuple[str, ...] = ("text_hash", "duplicate_of", "near_duplicate_of")
    plan_reads: tuple[str, ...] = ("text_hash", "lsh_bands")
    drops: tuple[str, ...] = ("lsh_bands",)
    marks: ClassVar[dict[str, str]] = {"exact_duplicate": "duplicate_of",
                                       "near_duplicate": "near_duplicate_of"}

    @cached_property
    def bands(self) -> tuple[int, int]:
        """(bands, rows per band) for `threshold` and `num_perm`."""
        return lsh_parameters(self.threshold, self.num_perm)

    def prepare(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Per-row signatures: `text_hash` and `lsh_bands`."""
        signatures = minhash_signatures(batch, self.num_perm, self.shingle_size, self.seed)
        return batch.with_columns(NORMALISED.hash(seed=self.seed).alias("text_hash"),
                                  lsh_band_keys(signatures, *self.bands, seed=self.seed))

    def plan(self, rows: pl.DataFrame) -> pl.DataFrame:
        """`duplicate_of`, `near_duplicate_of` and rejections for every row (see the module doc)."""
        rows = rows.sort(ROW_ID).with_columns(pl.col(ROW_ID).min().over("text_hash").alias("first"))
        rows = rows.with_columns(pl.when(pl.col(ROW_ID) != pl.col("first")).then(pl.col("first"))
                                 .alias("duplicate_of"))
        originals = rows.filter(pl.col("duplicate_of").is_null())
        keys = originals["lsh_bands"].list.to_array(self.bands[0]).to_numpy()
        firsts = originals[ROW_ID].gather(lsh_clusters(keys))
        near = originals.select(ROW_ID, pl.when(firsts != pl.col(ROW_ID)).then(firsts)
                                .alias("near_duplicate_of"))
        rows = rows.join(near, on=ROW_ID, how="left", maintain_order="left")
        exact = pl.col("duplicate_of").is_not_null() & self.drop_exact
        near_hit = pl.col("near_duplicate_of").is_not_null() & self.drop_near
        return rows.select(
            ROW_ID, "text_hash", pl.col("duplicate_of").cast(pl.Utf8),
            pl.col("near_duplicate_of").cast(pl.Utf8),
            pl.when(exact).then(pl.lit("exact_duplicate")).when(near_hit).then(pl.lit("near_duplicate"))
            .alias(REJECT_REASON),
            pl.when(exact).then(pl.format("same text as {}", "duplicate_of"))
            .when(near_hit).then(pl.format("near copy of {}", "near_duplicate_of")).alias(REJECT_DETAIL))

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Duplicates within this one frame (the engine runs `prepare` and `plan` over a whole run)."""
        return run_in_one_frame(self, batch)
