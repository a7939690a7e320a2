"""Column names shared by every stage, reader and writer."""

from __future__ import annotations

import polars as pl

ROW_ID = "row_id"
SOURCE_FILE = "source_file"
SOURCE_ROW = "source_row"
REJECT_REASON = "reject_reason"
REJECT_STAGE = "reject_stage"
REJECT_DETAIL = "reject_detail"

BOOKKEEPING = (REJECT_REASON, REJECT_STAGE, REJECT_DETAIL)

POEM_COLUMNS = {
    ROW_ID: pl.Utf8,
    "text": pl.Utf8,
    "form": pl.Utf8,
    "title": pl.Utf8,
    "author": pl.Utf8,
    SOURCE_FILE: pl.Utf8,
    SOURCE_ROW: pl.Int64,
}


def with_bookkeeping(batch: pl.DataFrame) -> pl.DataFrame:
    """Add the null reject columns a batch needs before it enters the engine."""
    missing = [pl.lit(None, dtype=pl.Utf8).alias(c) for c in BOOKKEEPING if c not in batch.columns]
    return batch.with_columns(missing) if missing else batch
