"""The same shard loop under Ray Data: one item per input shard, each processed by an actor.

The dataset holds the ids of the shards not yet complete (`ray.data.from_items`, one block each);
an actor pool of `workers` actors runs `curation.engine.process_shard` on each, so the rows, output
files, markers (counts, per-stage seconds, input hashes) and manifest are those of the local engine.
An actor builds its stages once (model-backed stages load their model once per actor). Each actor
asks for the resources its stages declare (`curation.resources`, `stage_resources`): the most CPUs
of any stage, their memory, and a GPU share of `gpus_per_worker` when a stage needs a GPU (default:
what the stage declares where the cluster has GPUs, else none). Global stages run in the driver
after every shard, as on the local engine.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from curation.engine import RunPlan, StageSet, StagesOrFactory, process_shard, track
from curation.engine_output import Layout
from curation.errors import CurationError
from curation.manifest import Manifest
from curation.reader_base import Reader
from curation.resources import set_up, worker_resources
from curation.shards import InputShard
from curation.stage import Stage


@dataclass(frozen=True)
class WorkerResources:
    """What one shard worker (a Ray actor) asks the cluster for, and how many run at once."""

    workers: int
    cpus: float
    gpus: float
    memory_mb: int = 0


def stage_resources(stages: Sequence[Stage], cluster: dict[str, float], workers: int | None,
                    gpus_per_worker: float | None) -> WorkerResources:
    """Resources of a shard worker for these stages (`curation.resources`) on a cluster with
    `cluster` resources: GPUs only when a stage needs one (`gpus_per_worker`, default the stages'
    own where the cluster has GPUs, else none); `workers` defaults to as many as the cluster fits."""
    needs = worker_resources(stages)
    if gpus_per_worker is None:
        gpus_per_worker = needs.gpus if cluster.get("GPU", 0) else 0.0
    gpus = gpus_per_worker if needs.needs_gpu else 0.0
    if workers is None:
        fits = [cluster.get("CPU", 1) / needs.cpus] + ([cluster["GPU"] / gpus] if gpus else [])
        workers = max(1, int(min(fits)))
    return WorkerResources(workers, needs.cpus, gpus, needs.memory_mb)


class ShardWorker:
    """Actor: builds the stages once, then runs the shard loop on each shard id it is given."""

    def __init__(self, stage_set: StageSet, shards: Iterable[InputShard], layout: Layout,
                 rows_per_file: int) -> None:
        self.stage_set, self.layout, self.rows_per_file = stage_set, layout, rows_per_file
        self.shards = {s.shard_id: s for s in shards}
        set_up(stage_set.stages())

    def __call__(self, batch: pa.Table) -> pa.Table:
        markers = [process_shard(self.shards[shard_id], self.stage_set, self.layout, self.rows_per_file)
                   for shard_id in batch["shard"].to_pylist()]
        return pa.table({"marker": [json.dumps(m) for m in markers]})


def ray_markers(plan: RunPlan, rows_per_file: int, resources: WorkerResources) -> Iterator[dict]:
    """Run the shards still to do in an actor pool; yields each shard's marker as it completes."""
    import ray.data

    todo = plan.todo
    if not todo:
        return
    data = ray.data.from_items([{"shard": s.shard_id} for s in todo], override_num_blocks=len(todo))
    arguments = (plan.stage_set, todo, plan.layout, rows_per_file)
    pool = ray.data.ActorPoolStrategy(size=min(resources.workers, len(todo)))
    data = data.map_batches(ShardWorker, fn_constructor_args=arguments, compute=pool, num_cpus=resources.cpus,
                            num_gpus=resources.gpus, batch_size=1, batch_format="pyarrow",
                            **({"memory": resources.memory_mb * 2**20} if resources.memory_mb else {}))
    for row in data.iter_rows():
        yield json.loads(row["marker"])


@contextlib.contextmanager
def ray_session(address: str | None, num_cpus: int | None, progress: bool) -> Iterator[None]:
    """Connect to `address`, or start a new local Ray instance (of `num_cpus` CPUs, default all; never
    a cluster that `ray start` left running), unless this process already has one; shuts down only
    what it started."""
    import ray

    if ray.is_initialized():
        yield
        return
    try:
        ray.init(address=address or "local", num_cpus=None if address else num_cpus, include_dashboard=False,
                 log_to_driver=False, logging_level="ERROR",
                 runtime_env={"env_vars": {"POLARS_MAX_THREADS": "1"}})  # a worker holds one CPU
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
            shard_rows: int = 1_000, address: str | None = None, workers: int | None = None,
            gpus_per_worker: float | None = None) -> Manifest:
    """`curation.engine.run` on Ray: same shards, same outputs, same manifest. `address` connects to
    a cluster (else a local instance of `workers` CPUs, default all, is started); `workers` actors
    (default: as many as the cluster fits) with `gpus_per_worker` GPUs each when a stage needs one."""
    import ray

    if not isinstance(reader, Reader):
        reader = list(reader)
    plan = RunPlan.create(reader, stages, out_dir, command=command, params=params, shard_rows=shard_rows,
                          rows_per_file=rows_per_shard, resume=resume)
    with ray_session(address, workers, progress):
        resources = stage_resources(plan.stage_set.map_stages, ray.cluster_resources(), workers,
                                    gpus_per_worker)
        track(plan, ray_markers(plan, rows_per_shard, resources), progress, description)
    return plan.finish(rows_per_shard)
