"""The same stages under Ray Data: one block per input shard, CPU stages as `map_batches` tasks,
model-backed stages as actor pools, and the local engine's writer, markers and global stages.

The dataset is built from the shards not yet complete (`ray.data.from_items`, one block each);
a read task turns a shard into its rows (the local engine's shard readers, so row ids and shard
ids are the same in both engines); consecutive CPU stages run in one task per block (Ray fuses
read, stages and write); a stage with `needs_gpu` (or `uses_model`) set runs in an actor pool of
`actors` actors with `num_gpus` each, which build their stages once. Blocks travel as Arrow
tables, converted to polars without copying. Each block is written as
`part-<shard>-<block hash>.parquet` (and rejected files alike); the driver marks a shard complete
once all of its rows are written, so an interrupted run resumes like the local engine's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from curation.engine import RunPlan, ShardWriter, StageSet, StagesOrFactory, run_stages, track
from curation.errors import CurationError
from curation.manifest import Manifest
from curation.readers import Reader
from curation.schema import ROW_ID
from curation.shards import InputShard, ShardState
from curation.stage import Stage

SHARD, SHARD_ROWS = "_shard", "_shard_rows"


def needs_gpu(stage: Stage) -> bool:
    return bool(getattr(stage, "needs_gpu", False) or getattr(stage, "uses_model", False))


def stage_groups(stages: Sequence[Stage]) -> list[tuple[bool, list[int]]]:
    """Consecutive stages grouped by whether they need a GPU: (gpu, stage indices)."""
    groups: list[tuple[bool, list[int]]] = []
    for index, stage in enumerate(stages):
        if groups and groups[-1][0] == needs_gpu(stage):
            groups[-1][1].append(index)
        else:
            groups.append((needs_gpu(stage), [index]))
    return groups


def to_arrow(frame: pl.DataFrame) -> pa.Table:
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


class ReadShards:
    """Task: shard ids -> the shards' rows, tagged with their shard and its row count."""

    def __init__(self, shards: Iterable[InputShard]) -> None:
        self.shards = {s.shard_id: s for s in shards}

    def __call__(self, batch: pa.Table) -> pa.Table:
        frames = []
        for shard_id in batch["shard"].to_pylist():
            frame = self.shards[shard_id].read()
            frames.append(frame.with_columns(pl.lit(shard_id).alias(SHARD),
                                             pl.lit(frame.height, dtype=pl.Int64).alias(SHARD_ROWS)))
        return to_arrow(pl.concat(frames, how="diagonal_relaxed"))


class RunStageGroup:
    """Task (CPU stages) or actor (GPU stages; built once in the constructor) running some stages."""

    def __init__(self, stage_set: StageSet, indices: list[int], entry: bool) -> None:
        self.stage_set, self.indices, self.entry = stage_set, indices, entry
        self.stages: list[Stage] | None = None

    def __call__(self, batch: pa.Table) -> pa.Table:
        if self.stages is None:
            stages = self.stage_set.map_stages
            self.stages = [stages[i] for i in self.indices]
        return to_arrow(run_stages(self.stages, pl.from_arrow(batch), entry=self.entry))


class StageActor(RunStageGroup):
    """Actor for model-backed stages: builds them (and loads their models) once."""

    def __init__(self, stage_set: StageSet, indices: list[int], entry: bool) -> None:
        super().__init__(stage_set, indices, entry)
        stages = stage_set.map_stages
        self.stages = [stages[i] for i in indices]


class WriteBlocks:
    """Task: write a block's kept and rejected rows; returns one row per shard it held."""

    def __init__(self, writer: ShardWriter) -> None:
        self.writer = writer

    def __call__(self, batch: pa.Table) -> pa.Table:
        results = []
        frame = pl.from_arrow(batch)
        for (shard_id,), part in frame.group_by(SHARD, maintain_order=True):
            row_ids = "\n".join(sorted(part[ROW_ID].cast(pl.Utf8).to_list()))
            tag = hashlib.sha256(row_ids.encode()).hexdigest()[:10]
            files, counts = self.writer.write(part.drop(SHARD, SHARD_ROWS), f"{shard_id}-{tag}")
            results.append({"shard": shard_id, "expected": part[SHARD_ROWS][0], "rows": part.height,
                            "files": json.dumps(files), "counts": json.dumps(counts)})
        return pa.Table.from_pylist(results)


def merge_counts(total: list[dict[str, Any]] | None, more: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if total is None:
        return more
    for count, other in zip(total, more, strict=True):
        for key in ("rows_in", "kept", "rejected"):
            count[key] += other[key]
        for reason, n in other["reasons"].items():
            count["reasons"][reason] = count["reasons"].get(reason, 0) + n
    return total


def ray_markers(plan: RunPlan, rows_per_file: int, actors: int, num_gpus: float | None) -> Iterator[dict]:
    """Run the shards still to do as a Ray Data pipeline; yields a marker as each shard completes."""
    import ray.data

    if num_gpus is None:  # a GPU per actor where the cluster has some; on CPU, actors that never wait
        num_gpus = 1.0 if ray.cluster_resources().get("GPU", 0) else 0.0

    todo = plan.todo
    if not todo:
        return
    by_id = {s.shard_id: s for s in todo}
    data = ray.data.from_items([{"shard": s.shard_id} for s in todo], override_num_blocks=len(todo))
    data = data.map_batches(ReadShards(todo), batch_size=1, batch_format="pyarrow")
    for position, (gpu, indices) in enumerate(stage_groups(plan.stage_set.map_stages)):
        args = (plan.stage_set, indices, position == 0)
        if gpu:
            data = data.map_batches(StageActor, fn_constructor_args=args, concurrency=actors,
                                    num_gpus=num_gpus, batch_size=None, batch_format="pyarrow")
        else:
            data = data.map_batches(RunStageGroup(*args), batch_size=None, batch_format="pyarrow")
    writer = ShardWriter.of(plan.stage_set, plan.layout, rows_per_file)
    data = data.map_batches(WriteBlocks(writer), batch_size=None, batch_format="pyarrow")
    pending: dict[str, dict[str, Any]] = {}
    state = ShardState(plan.layout.out_dir)
    for result in data.iter_rows():
        shard = pending.setdefault(result["shard"], {"rows": 0, "files": [], "counts": None})
        shard["rows"] += result["rows"]
        shard["files"] += json.loads(result["files"])
        shard["counts"] = merge_counts(shard["counts"], json.loads(result["counts"]))
        if shard["rows"] == result["expected"]:
            state.mark_complete(result["shard"], shard["counts"], shard["files"],
                                input_identity=by_id[result["shard"]].identity())
            yield {"shard": result["shard"], "counts": shard["counts"], "files": shard["files"]}


@contextlib.contextmanager
def ray_session(address: str | None, num_cpus: int | None, progress: bool) -> Iterator[None]:
    """Connect to `address`, or start a local Ray instance, unless this process already has one;
    shuts down only what it started."""
    import ray

    if ray.is_initialized():
        yield
        return
    try:
        ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False,
                 log_to_driver=False, logging_level="ERROR",
                 runtime_env={"env_vars": {"POLARS_MAX_THREADS": "1"}})  # a task holds one CPU
    except (ConnectionError, ValueError, RuntimeError) as error:
        where = address or "a local instance"
        raise CurationError(f"cannot start or reach Ray at {where}: {error}") from None
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # "progress bars disabled": we draw our own
        context.print_on_execution_start = progress
        yield
    finally:
        ray.shutdown()


def run_ray(reader: Reader | Iterable[pl.DataFrame], stages: StagesOrFactory, out_dir: str | Path, *,
            command: str = "run", params: dict[str, Any] | None = None, progress: bool = True,
            rows_per_shard: int = 50_000, description: str = "cleaning", resume: bool = False,
            shard_rows: int = 1_000, address: str | None = None, num_cpus: int | None = None,
            actors: int = 1, num_gpus: float | None = None) -> Manifest:
    """`curation.engine.run` on Ray: same shards, same outputs, same manifest.
    `address` connects to a cluster; `actors` and `num_gpus` (default: 1 where the cluster has GPUs,
    else 0) size the pools of GPU stages."""
    import ray.data  # noqa: F401  (fail early when Ray is not installed)

    if not isinstance(reader, Reader):
        reader = list(reader)
    plan = RunPlan.create(reader, stages, out_dir, command=command, params=params, shard_rows=shard_rows,
                          rows_per_file=rows_per_shard, resume=resume)
    with ray_session(address, num_cpus, progress):
        track(plan, ray_markers(plan, rows_per_shard, actors, num_gpus), progress, description)
    return plan.finish(rows_per_shard)
