"""Exact and near-duplicate poems, marked rather than dropped silently; order-independent.

A global stage (see `curation.global_stages.GlobalStage`): `prepare` adds per-row signatures batch by
batch, `text_hash` (of the normalised text: lower case, letters and digits only, single spaces)
and `minhash` (MinHash over word 5-grams); `plan` then sees the signatures of every kept row.
Exact duplicates share a `text_hash`; every copy but the one with the smallest `row_id` gets
`duplicate_of` = that row id. Near duplicates are rows (exact copies aside) that share a MinHash
LSH band with another (datasketch's bands for the Jaccard threshold); each cluster of such rows
gets `near_duplicate_of` = its smallest row id, except that row. Both are kept (the same poem filed
under two forms is both forms' poem) unless `drop_exact` / `drop_near` turn them into rejections.
The result depends only on the set of rows, not on batches, shards, workers or engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from datasketch import MinHash, MinHashLSH
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from curation.schema import REJECT_DETAIL, REJECT_REASON, ROW_ID, with_bookkeeping

NORMALISED = (pl.col("text").str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ")
              .str.strip_chars())


def shingles(words: list[str], size: int) -> list[bytes]:
    if len(words) < size:
        return [" ".join(words).encode()]
    return [" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)]


def lsh_clusters(signatures: np.ndarray, bands: int, rows_per_band: int) -> np.ndarray:
    """For rows sorted by id: the index of the first row of each row's LSH cluster."""
    count = signatures.shape[0]
    edges = []
    for band in range(bands):
        columns = signatures[:, band * rows_per_band:(band + 1) * rows_per_band]
        keys = pl.DataFrame(columns).hash_rows(seed=band)
        groups = (pl.DataFrame({"row": np.arange(count), "key": keys})
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
    plan_reads: tuple[str, ...] = ("text_hash", "minhash")
    drops: tuple[str, ...] = ("minhash",)

    def prepare(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Per-row signatures: `text_hash` and `minhash` (num_perm 32-bit values)."""
        words = batch.select(NORMALISED.str.split(" "))["text"].to_list()
        signatures = MinHash.bulk([shingles(w, self.shingle_size) for w in words],
                                  num_perm=self.num_perm, seed=self.seed)
        values = np.stack([s.hashvalues for s in signatures]).astype(np.uint32) if signatures else \
            np.empty((0, self.num_perm), dtype=np.uint32)
        return batch.with_columns(NORMALISED.hash(seed=self.seed).alias("text_hash"),
                                  pl.Series("minhash", values, dtype=pl.Array(pl.UInt32, self.num_perm)))

    def plan(self, rows: pl.DataFrame) -> pl.DataFrame:
        """`duplicate_of`, `near_duplicate_of` and rejections for every row (see the module doc)."""
        rows = rows.sort(ROW_ID).with_columns(pl.col(ROW_ID).min().over("text_hash").alias("first"))
        rows = rows.with_columns(pl.when(pl.col(ROW_ID) != pl.col("first")).then(pl.col("first"))
                                 .alias("duplicate_of"))
        originals = rows.filter(pl.col("duplicate_of").is_null())
        lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        signatures = originals["minhash"].to_numpy().reshape(originals.height, self.num_perm)
        firsts = originals[ROW_ID].gather(lsh_clusters(signatures, lsh.b, lsh.r))
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
        prepared = self.prepare(batch)
        update = (self.plan(prepared.select(ROW_ID, *self.plan_reads)).drop("text_hash")
                  .rename({REJECT_REASON: "_reason", REJECT_DETAIL: "_detail"}))
        marked = prepared.drop(self.drops).join(update, on=ROW_ID, how="left", maintain_order="left")
        if not (self.drop_exact or self.drop_near):
            return marked.drop("_reason", "_detail")
        return with_bookkeeping(marked).with_columns(
            pl.coalesce(REJECT_REASON, "_reason").alias(REJECT_REASON),
            pl.coalesce(REJECT_DETAIL, "_detail").alias(REJECT_DETAIL)).drop("_reason", "_detail")
