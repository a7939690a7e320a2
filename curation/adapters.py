"""Run stages inside someone else's pipeline, with the engine's rules for every batch.

- `as_batched_map(stages)`: a function for `datasets.Dataset.map(fn, batched=True)`; it also takes
  a pyarrow Table, so Ray Data's `map_batches(fn, batch_format="pyarrow")` runs it in tasks.
- `RayStages`: a callable class for Ray Data's `map_batches(RayStages, fn_constructor_args=(stages,),
  batch_format="pyarrow", concurrency=N)`: each actor builds its stages once (a model-backed stage
  loads its model once per actor).
- `curation.datatrove_step.StagesFilter`: a datatrove `PipelineStep` (a `BaseFilter`).

Each batch gets what `curation.run` gives it: rows rejected upstream (a `reject_reason` already set)
pass through untouched and skip the stages; a row a stage rejects gets the stage's name in
`reject_stage` and skips the later stages; a stage that drops rows or leaves out a column it
declares is an error; rows keep their order. A global stage (duplicates: `prepare` and `plan`)
needs every row at once, and a batch function sees one batch, so the adapters refuse it rather
than find duplicates only within each batch: run it with `curation.run` or the `curate` CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl
import pyarrow as pa

from curation.engine import READ_STAGE, run_stages
from curation.errors import StageError
from curation.global_stages import is_global
from curation.schema import REJECT_REASON, REJECT_STAGE, with_bookkeeping
from curation.stage import Stage

POSITION = "_adapter_position"
StagesLike = Stage | Sequence[Stage] | Callable[[], Sequence[Stage]]


def stage_list(stages: StagesLike) -> list[Stage]:
    """One stage, a list of stages or a zero-argument factory, as a list of map stages; a global
    stage is refused (see the module doc)."""
    if isinstance(stages, Sequence):
        built = list(stages)
    elif isinstance(getattr(stages, "name", None), str):
        built = [stages]
    else:
        built = list(stages())
    for stage in built:
        if is_global(stage):
            raise StageError(
                f"stage '{stage.name}' needs every row at once (a global stage: duplicates across the "
                "whole input), and a batch function sees one batch at a time, so it would miss every "
                "copy in another batch; run it with curation.run(...) or the curate CLI")
    return built


def as_frame(batch: Mapping[str, Any] | pa.Table | pl.DataFrame) -> pl.DataFrame:
    if isinstance(batch, pl.DataFrame):
        return batch
    if isinstance(batch, pa.Table):
        return pl.from_arrow(batch)
    return pl.DataFrame(dict(batch), strict=False)


def run_batch(stages: Sequence[Stage], batch: pl.DataFrame) -> pl.DataFrame:
    """`stages` over one batch as the engine runs them (see the module doc); every column a stage
    declares is in the result, null (of the stage's type) where no row reached that stage."""
    batch = with_bookkeeping(batch)
    upstream = pl.col(REJECT_REASON).is_not_null() & pl.col(REJECT_STAGE).is_null()
    batch = batch.with_columns(pl.when(upstream).then(pl.lit(READ_STAGE)).otherwise(pl.col(REJECT_STAGE))
                               .alias(REJECT_STAGE))
    out = run_stages(stages, batch.with_row_index(POSITION), entry=False).sort(POSITION).drop(POSITION)
    missing = list(dict.fromkeys(c for s in stages for c in s.adds if c not in out.columns))
    if not missing:
        return out
    schema = declared_schema(stages, out.clear())
    return out.with_columns(pl.lit(None, dtype=schema.get(c, pl.Null)).alias(c) for c in missing)


def declared_schema(stages: Sequence[Stage], empty: pl.DataFrame) -> pl.Schema:
    """The columns and types the stages give a batch with no rows, so that a batch whose rows were all
    rejected before a stage still has that stage's columns with their types (datasets and Ray write
    each batch to one table); an empty schema when a stage cannot take an empty batch."""
    try:
        for stage in stages:
            empty = stage(empty)
    except Exception:  # noqa: BLE001 - only a probe for types; nulls of no type are the fallback
        return pl.Schema()
    return empty.schema


def as_batched_map(stages: StagesLike) -> Callable[[Any], pa.Table]:
    """A function for `datasets.Dataset.map(fn, batched=True)` (or Ray Data's
    `map_batches(fn, batch_format="pyarrow")`): a batch (a dict of columns, a pyarrow Table or a
    polars DataFrame) in, the batch with the stages' columns and `reject_*` columns out."""
    built = stage_list(stages)

    def apply(batch: Mapping[str, Any] | pa.Table | pl.DataFrame) -> pa.Table:
        return run_batch(built, as_frame(batch)).to_arrow()

    return apply


class RayStages:
    """A callable class for Ray Data's `map_batches` with `batch_format="pyarrow"`: each actor
    builds its stages once, from a list (pickled to the actor) or a zero-argument factory."""

    def __init__(self, stages: StagesLike) -> None:
        self.stages = stage_list(stages)

    def __call__(self, batch: pa.Table) -> pa.Table:
        return run_batch(self.stages, as_frame(batch)).to_arrow()


def kept(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows no stage rejected."""
    return frame.filter(pl.col(REJECT_REASON).is_null())
