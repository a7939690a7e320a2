"""The local streaming engine: reader -> stages -> kept and rejected Parquet shards + manifest.

Each stage sees only the rows still kept. Rows a stage rejects are stamped with its name and
written to `rejected/<stage>-NNNNN.parquet`; the rows that survive every stage go to
`kept/part-NNNNN.parquet`. The manifest counts rows in, kept and rejected per stage.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from curation.manifest import Manifest
from curation.readers import Reader
from curation.schema import REJECT_REASON, REJECT_STAGE, with_bookkeeping
from curation.stage import Stage, check_output, check_reads
from curation.writers import ParquetShardWriter

READ_STAGE = "read"


class BatchRouter:
    """Runs the stages over one batch at a time and routes rows to the writers."""

    def __init__(self, stages: Sequence[Stage], out_dir: Path, manifest: Manifest,
                 rows_per_shard: int = 50_000) -> None:
        self.stages = list(stages)
        self.out_dir = Path(out_dir)
        self.manifest = manifest
        self.kept = ParquetShardWriter(self.out_dir / "kept", "part", rows_per_shard)
        self.rejected: dict[str, ParquetShardWriter] = {}
        self.rows_per_shard = rows_per_shard
        self._checked = False
        for name in [READ_STAGE, *(s.name for s in self.stages)]:
            manifest.stage(name)

    def process(self, batch: pl.DataFrame) -> int:
        """Route one batch; returns the number of input rows it held."""
        batch = with_bookkeeping(batch)
        alive = self._split(READ_STAGE, batch)
        if not self._checked:
            self._check_columns(alive.columns)
        for stage in self.stages:
            if alive.height == 0:
                continue
            out = stage(alive)
            check_output(stage, alive, out)
            alive = self._split(stage.name, out)
        self.kept.write(alive)
        return batch.height

    def _check_columns(self, columns: list[str]) -> None:
        available = set(columns)
        for stage in self.stages:
            check_reads(stage, available)
            available |= set(stage.adds)
        self._checked = True

    def _split(self, stage_name: str, batch: pl.DataFrame) -> pl.DataFrame:
        rejected_now = batch[REJECT_REASON].is_not_null()
        if stage_name == READ_STAGE:
            rejected_now &= batch[REJECT_STAGE].fill_null(READ_STAGE) == READ_STAGE
        rejected = batch.filter(rejected_now).with_columns(pl.lit(stage_name).alias(REJECT_STAGE))
        count = self.manifest.stage(stage_name)
        count.rows_in += batch.height
        count.rejected += rejected.height
        count.kept += batch.height - rejected.height
        count.reasons.update(rejected[REJECT_REASON].to_list())
        if rejected.height:
            self._rejected_writer(stage_name).write(rejected)
        return batch.filter(~rejected_now)

    def _rejected_writer(self, stage_name: str) -> ParquetShardWriter:
        if stage_name not in self.rejected:
            self.rejected[stage_name] = ParquetShardWriter(
                self.out_dir / "rejected", stage_name.replace("/", "_"), self.rows_per_shard)
        return self.rejected[stage_name]

    def close(self) -> dict[str, list[str]]:
        kept = [str(p.relative_to(self.out_dir)) for p in self.kept.close()]
        rejected = [str(p.relative_to(self.out_dir)) for w in self.rejected.values() for p in w.close()]
        return {"kept": kept, "rejected": sorted(rejected)}


def progress_bar(enabled: bool = True) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), disable=not enabled)


def run(reader: Reader | Iterable[pl.DataFrame], stages: Sequence[Stage], out_dir: str | Path, *,
        command: str = "run", params: dict[str, Any] | None = None, progress: bool = True,
        rows_per_shard: int = 50_000, description: str = "cleaning") -> Manifest:
    """Run `stages` over every batch of `reader`, writing kept/, rejected/ and manifest.json."""
    out_dir = Path(out_dir)
    for stale in ("kept", "rejected"):
        shutil.rmtree(out_dir / stale, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(command=command, params=params or {})
    if isinstance(reader, Reader):
        manifest.inputs.append(reader.describe())
    router = BatchRouter(stages, out_dir, manifest, rows_per_shard)
    total = reader.total_rows() if isinstance(reader, Reader) else None
    batches = reader.batches() if isinstance(reader, Reader) else reader
    started = time.perf_counter()
    with progress_bar(progress) as bar:
        task = bar.add_task(description, total=total, rate="")
        for batch in batches:
            rows = router.process(batch)
            elapsed = time.perf_counter() - started
            done = bar.tasks[task].completed + rows
            bar.update(task, advance=rows, rate=f"{done / max(elapsed, 1e-9):,.0f} rows/s")
    manifest.outputs = router.close()
    manifest.elapsed_s = time.perf_counter() - started
    manifest.write(out_dir / "manifest.json")
    return manifest
