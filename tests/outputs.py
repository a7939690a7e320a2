"""Reading a run's outputs in tests: one helper instead of a copy per test file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from curation.writers import read_shards


def rows(out: Path, part: str, *, drop: Sequence[str] = (),
         order: Sequence[str] = ("row_id",)) -> pl.DataFrame:
    """The rows of a run's `part` (kept or rejected) in a stable order: columns by name, rows by
    `order`, without the columns in `drop` (those that differ by run, such as an images folder)."""
    frame = read_shards(out / part)
    return frame.select(sorted(frame.columns)).drop(drop, strict=False).sort(order)
