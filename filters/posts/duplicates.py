"""Repeated posts: every copy of an image row (`post_id/index`) but the first is rejected as
`duplicate_post` at stage `duplicates`, before any image is fetched.

Which copy is the first is decided over the whole input, so the result does not depend on shards,
workers or engine: `DuplicatePosts.scan(reader)` reads the posts once beforehand (no images) and
records, for each row id that occurs more than once, where its first copy is in reading order:
the reader's files in order, then line (or row) number, then position within the line (an X API
page holds many posts). The stage keeps that copy and rejects the others. Only repeated ids are
recorded, so the stage stays small when it travels to worker processes or Ray tasks.

It is not a global stage (`curation.global_stages`) on purpose: those run after every map stage, so
each copy would be downloaded, decoded and embedded before being dropped, and the copies share a
row id, which the global step needs to be unique among kept rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from curation.readers import Reader
from curation.schema import REJECT_REASON, ROW_ID, SOURCE_FILE, SOURCE_ROW, with_bookkeeping
from curation.stage import reject_where

FIRST_FILE, FIRST_ROW = "_first_file", "_first_row"
LIVE = pl.col(REJECT_REASON).is_null() & pl.col("post_id").is_not_null()


def first_copies(rows: pl.DataFrame) -> pl.DataFrame:
    """For each row id that `rows` (in reading order) hold more than once: its first copy's source
    file and row."""
    repeated = rows.filter(pl.col(ROW_ID).is_duplicated())
    return repeated.unique(ROW_ID, keep="first", maintain_order=True).select(
        ROW_ID, pl.col(SOURCE_FILE).alias(FIRST_FILE), pl.col(SOURCE_ROW).cast(pl.Int64).alias(FIRST_ROW))


@dataclass
class DuplicatePosts:
    """Rejects every copy of a repeated image row but the first (see the module doc); build it with
    `scan`, and put it before the stages that fetch images."""

    firsts: pl.DataFrame = field(default_factory=lambda: first_copies(
        pl.DataFrame(schema={ROW_ID: pl.Utf8, SOURCE_FILE: pl.Utf8, SOURCE_ROW: pl.Int64})))
    name: str = "duplicates"
    reads: tuple[str, ...] = (ROW_ID, "post_id", SOURCE_FILE, SOURCE_ROW)
    adds: tuple[str, ...] = ()

    @classmethod
    def scan(cls, reader: Reader) -> DuplicatePosts:
        """Read `reader` once and record the first copy of every repeated row id."""
        frames = [batch.filter(LIVE).select(ROW_ID, SOURCE_FILE, pl.col(SOURCE_ROW).cast(pl.Int64))
                  for batch in reader.batches()]
        return cls(first_copies(pl.concat(frames))) if frames else cls()

    @property
    def repeated(self) -> int:
        """How many row ids occur more than once in the scanned input."""
        return self.firsts.height

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        marked = with_bookkeeping(batch).join(self.firsts, on=ROW_ID, how="left", maintain_order="left")
        at_first = (pl.col(SOURCE_FILE) == pl.col(FIRST_FILE)) & (pl.col(SOURCE_ROW) == pl.col(FIRST_ROW))
        first_in_line = at_first & pl.struct(ROW_ID, SOURCE_FILE, SOURCE_ROW).is_first_distinct()
        later_copy = LIVE & pl.col(FIRST_FILE).is_not_null() & ~first_in_line
        detail = pl.format("{} seen earlier, at {}:{}", ROW_ID, FIRST_FILE, FIRST_ROW)
        return reject_where(marked, later_copy, "duplicate_post", detail).drop(FIRST_FILE, FIRST_ROW)
