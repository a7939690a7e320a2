"""The stage contract: a named batch-to-batch function that declares what it reads and adds.

A filter never drops rows: it sets `reject_reason` (null means keep). The engine, not the stage,
routes rejected rows, counts them and writes the manifest. The same stage object runs in the local
engine, under Ray Data, and through `curation.adapters` in `datasets.Dataset.map(batched=True)`,
Ray Data's `map_batches` and a datatrove pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import polars as pl

from curation.errors import StageError
from curation.schema import REJECT_DETAIL, REJECT_REASON, with_bookkeeping


@runtime_checkable
class Stage(Protocol):
    name: str
    reads: tuple[str, ...]
    adds: tuple[str, ...]

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame: ...


def check_reads(stage: Stage, columns: Iterable[str]) -> None:
    """Fail up front, naming the stage and the columns, when a batch lacks what a stage reads."""
    missing = [c for c in stage.reads if c not in set(columns)]
    if missing:
        raise StageError(f"stage '{stage.name}' needs column(s) {missing}, "
                         f"which the input does not have (it has {sorted(columns)})")


def check_output(stage: Stage, before: pl.DataFrame, after: pl.DataFrame) -> None:
    """A stage must keep every row and write every column it declares."""
    if after.height != before.height:
        raise StageError(f"stage '{stage.name}' returned {after.height} rows for {before.height}: "
                         "filters mark rows with reject_reason, they never drop them")
    missing = [c for c in stage.adds if c not in after.columns]
    if missing:
        raise StageError(f"stage '{stage.name}' declared {missing} in `adds` but did not write them")


def reject_where(batch: pl.DataFrame, condition: pl.Expr, reason: str | pl.Expr,
                 detail: pl.Expr | None = None) -> pl.DataFrame:
    """Set `reject_reason` (and optionally `reject_detail`) where `condition` holds and the row is
    still kept; earlier reasons win. `reason` is one text, or an expression giving each row's."""
    batch = with_bookkeeping(batch)
    reason = pl.lit(reason) if isinstance(reason, str) else reason.cast(pl.Utf8)
    hit = pl.col(REJECT_REASON).is_null() & condition.fill_null(False)
    updates = [pl.when(hit).then(reason).otherwise(pl.col(REJECT_REASON)).alias(REJECT_REASON)]
    if detail is not None:
        updates.append(pl.when(hit).then(detail.cast(pl.Utf8))
                       .otherwise(pl.col(REJECT_DETAIL)).alias(REJECT_DETAIL))
    return batch.with_columns(updates)
