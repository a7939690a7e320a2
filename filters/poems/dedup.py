"""Exact and near-duplicate poems, marked rather than dropped silently.

Exact duplicates share a hash of the normalised text (lower case, letters and digits only, single
spaces); every copy after the first gets `duplicate_of` = the first copy's row id. Near duplicates
are found with MinHash over word 5-grams and LSH (datasketch) at a Jaccard threshold and get
`near_duplicate_of`. Both are kept (the same poem filed under two forms is both forms' poem)
unless `drop_exact` / `drop_near` turn them into rejections.
State is kept across batches, so duplicates are found across the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
from datasketch import MinHash, MinHashLSH

from curation.stage import reject_where

NORMALISED = (pl.col("text").str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ")
              .str.strip_chars())


def shingles(words: list[str], size: int) -> list[bytes]:
    if len(words) < size:
        return [" ".join(words).encode()]
    return [" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)]


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
    _first_by_hash: dict[int, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        batch = batch.with_columns(NORMALISED.hash(seed=self.seed).alias("text_hash"))
        batch = batch.with_columns(duplicate_of=pl.Series(self._exact_duplicates(batch), dtype=pl.Utf8))
        batch = batch.with_columns(near_duplicate_of=pl.Series(self._near_duplicates(batch), dtype=pl.Utf8))
        if self.drop_exact:
            batch = reject_where(batch, pl.col("duplicate_of").is_not_null(), "exact_duplicate",
                                 pl.concat_str(pl.lit("same text as "), pl.col("duplicate_of")))
        if self.drop_near:
            batch = reject_where(batch, pl.col("near_duplicate_of").is_not_null(), "near_duplicate",
                                 pl.concat_str(pl.lit("near copy of "), pl.col("near_duplicate_of")))
        return batch

    def _exact_duplicates(self, batch: pl.DataFrame) -> list[str | None]:
        firsts = []
        for text_hash, row_id in zip(batch["text_hash"], batch["row_id"], strict=True):
            first = self._first_by_hash.setdefault(text_hash, row_id)
            firsts.append(first if first != row_id else None)
        return firsts

    def _near_duplicates(self, batch: pl.DataFrame) -> list[str | None]:
        words = batch.select(NORMALISED.str.split(" "))["text"].to_list()
        signatures = MinHash.bulk([shingles(w, self.shingle_size) for w in words],
                                  num_perm=self.num_perm, seed=self.seed)
        matches = []
        exact_copies = batch["duplicate_of"].is_not_null()
        for row_id, signature, exact in zip(batch["row_id"], signatures, exact_copies, strict=True):
            similar = [] if exact else self._lsh.query(signature)
            matches.append(min(similar) if similar else None)
            if not exact:
                self._lsh.insert(row_id, signature, check_duplication=False)
        return matches
