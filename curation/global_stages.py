"""Global stages: steps that need every kept row at once (duplicates across a whole run).

A global stage's `prepare` runs per batch as a map stage; after every shard is done its `plan`
sees the `plan_reads` columns of all kept rows, and the updates it returns are applied file by file
to the map's output, which is why the map writes to `_map/kept/` when a run has global stages
(`curation.engine_output.Layout`). Every engine runs this step the same way, in the driver, after
the shards: its result depends only on the set of kept rows.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from curation.engine_output import Layout, file_stem
from curation.errors import StageError
from curation.manifest import Manifest
from curation.schema import REJECT_DETAIL, REJECT_REASON, REJECT_STAGE, ROW_ID, with_bookkeeping
from curation.writers import ParquetShardWriter

FILE_INDEX = "_file"


class GlobalStage(Protocol):
    """A stage that needs all rows at once: `prepare` adds per-row columns batch by batch (it never
    rejects); `plan` gets `row_id` and the `plan_reads` columns of every kept row and returns
    `row_id`, its `adds` and `reject_reason`/`reject_detail` (null = keep) for each; the engine
    removes the helper columns in `drops` from the final output. An optional `marks` maps a label
    to one of its `adds`: the manifest counts, under `marked`, the kept rows where it is not null."""

    name: str
    reads: tuple[str, ...]
    adds: tuple[str, ...]
    plan_reads: tuple[str, ...]
    drops: tuple[str, ...]

    def prepare(self, batch: pl.DataFrame) -> pl.DataFrame: ...

    def plan(self, rows: pl.DataFrame) -> pl.DataFrame: ...


def marks(stage: Any) -> dict[str, str]:
    """A global stage's `marks` (label -> column of kept rows it flags), if it has any."""
    return dict(getattr(stage, "marks", {}))


def is_global(stage: Any) -> bool:
    return callable(getattr(stage, "prepare", None)) and callable(getattr(stage, "plan", None))


@dataclass
class Prepare:
    """The per-batch part of a global stage, as a map stage."""

    stage: GlobalStage

    @property
    def name(self) -> str:
        return self.stage.name

    @property
    def reads(self) -> tuple[str, ...]:
        return self.stage.reads

    @property
    def adds(self) -> tuple[str, ...]:
        return tuple(c for c in self.stage.plan_reads if c not in self.stage.reads)

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        return self.stage.prepare(batch)


def plan_global_stages(files: list[Path], stages: Sequence[GlobalStage],
                       manifest: Manifest) -> list[list[pl.DataFrame]]:
    """Each global stage's updates over all kept rows (those it rejects are hidden from the next),
    split by file: `updates[i][j]` is stage j's update of the rows of `files[i]`."""
    columns = list(dict.fromkeys([ROW_ID, *(c for s in stages for c in s.plan_reads)]))
    frames = [pl.read_parquet(f, columns=columns).with_columns(pl.lit(i, pl.UInt32).alias(FILE_INDEX))
              for i, f in enumerate(files)]
    rows = pl.concat(frames) if frames else pl.DataFrame(schema={**{c: pl.Utf8 for c in columns},
                                                                 FILE_INDEX: pl.UInt32})
    if rows[ROW_ID].n_unique() != rows.height:
        raise StageError(f"stage '{stages[0].name}' needs unique row ids, and some kept rows share one")
    file_of_row, rows = rows.select(ROW_ID, FILE_INDEX), rows.drop(FILE_INDEX)
    updates = []
    for stage in stages:
        started = time.perf_counter()
        update = stage.plan(rows).rename({REJECT_REASON: "_reason", REJECT_DETAIL: "_detail"})
        manifest.add_seconds({stage.name: time.perf_counter() - started})
        hit = pl.col("_reason").is_not_null()
        rejected, kept = update.filter(hit), update.filter(~hit)
        manifest.stage(stage.name).add({
            "rows_in": rows.height, "kept": rows.height - rejected.height, "rejected": rejected.height,
            "reasons": dict(rejected["_reason"].value_counts().iter_rows()),
            "marked": {label: kept[column].is_not_null().sum() for label, column in marks(stage).items()}})
        rows = rows.join(rejected.select(ROW_ID), on=ROW_ID, how="anti")
        by_file = (update.join(file_of_row, on=ROW_ID)
                   .partition_by(FILE_INDEX, as_dict=True, include_key=False))
        updates.append([by_file.get((i,), update.clear()) for i in range(len(files))])
    return [list(per_file) for per_file in zip(*updates, strict=True)] if updates else [[] for _ in files]


def apply_update(frame: pl.DataFrame, stage: GlobalStage, update: pl.DataFrame) -> pl.DataFrame:
    frame = frame.drop([c for c in stage.adds if c != ROW_ID], strict=False)
    frame = frame.join(update, on=ROW_ID, how="left", maintain_order="left")
    hit = pl.col(REJECT_STAGE).is_null() & pl.col("_reason").is_not_null()
    return frame.with_columns(
        pl.when(hit).then(pl.col("_reason")).otherwise(pl.col(REJECT_REASON)).alias(REJECT_REASON),
        pl.when(hit).then(pl.col("_detail")).otherwise(pl.col(REJECT_DETAIL)).alias(REJECT_DETAIL),
        pl.when(hit).then(pl.lit(stage.name)).otherwise(pl.col(REJECT_STAGE)).alias(REJECT_STAGE),
    ).drop("_reason", "_detail")


def run_in_one_frame(stage: GlobalStage, frame: pl.DataFrame) -> pl.DataFrame:
    """A global stage over one frame as the engine runs it over a whole run: `prepare`, `plan` over
    the frame's kept rows, the update applied, the helper columns in `drops` removed."""
    prepared = with_bookkeeping(stage.prepare(frame))
    kept = prepared.filter(pl.col(REJECT_REASON).is_null()).select(ROW_ID, *stage.plan_reads)
    update = stage.plan(kept).rename({REJECT_REASON: "_reason", REJECT_DETAIL: "_detail"})
    return apply_update(prepared, stage, update).drop(stage.drops, strict=False)


def apply_global_stages(layout: Layout, stages: Sequence[GlobalStage], manifest: Manifest,
                        rows_per_file: int, pool: ProcessPoolExecutor | None = None) -> None:
    """Run the global stages over the map's kept shards; writes the final kept/ and their rejects.
    Always redone in full from `_map/kept`, so a run cut off here finishes on re-run."""
    kept_dir = layout.final_kept_dir
    for stale in [*kept_dir.glob("*.parquet"),
                  *(f for s in stages for f in layout.rejected_dir.glob(f"{file_stem(s.name)}-*.parquet"))]:
        stale.unlink()
    files = sorted(layout.kept_dir.glob("*.parquet"))
    updates = plan_global_stages(files, stages, manifest)
    apply = partial(apply_to_file, layout=layout, stages=stages, rows_per_file=rows_per_file)
    list(pool.map(apply, files, updates) if pool is not None else map(apply, files, updates))


def apply_to_file(path: Path, updates: list[pl.DataFrame], layout: Layout, stages: Sequence[GlobalStage],
                  rows_per_file: int) -> None:
    """One map output file through the global stages' updates of its rows, into kept/ and rejected/."""
    frame = pl.read_parquet(path)
    for stage, update in zip(stages, updates, strict=True):
        frame = apply_update(frame, stage, update)
    frame = frame.drop([c for s in stages for c in s.drops], strict=False)
    ParquetShardWriter(layout.final_kept_dir, path.stem, rows_per_file).close_with(
        frame.filter(pl.col(REJECT_STAGE).is_null()))
    for stage in stages:
        ParquetShardWriter(layout.rejected_dir, f"{file_stem(stage.name)}-{path.stem}", rows_per_file
                           ).close_with(frame.filter(pl.col(REJECT_STAGE) == stage.name))
