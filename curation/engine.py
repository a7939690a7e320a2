"""The streaming engine: input shards -> stages -> kept and rejected Parquet + a balanced manifest.

Every engine runs one shard loop, `process_shard`: read a shard (`Reader.shards` plans them), run
the map stages over its batches (`run_stages`: a stage sees only the rows still kept; rows it rejects
are stamped with its name), write its kept rows to `kept/part-<shard>-*.parquet` and its rejected
rows to `rejected/<stage>-<shard>-*.parquet` (`curation.engine_output`), then write its marker with
its counts, per-stage seconds and share of the input's hash, so a re-run skips complete shards.
An engine only launches that loop: here in this process or in `workers` processes;
`curation.ray_engine` in Ray actors. `RunPlan` is what they share before and after: the shards, the
markers already complete, the global stages and the manifest.

A global stage (one with `prepare` and `plan`, such as duplicate marking) needs every row at once:
its `prepare` runs per batch with the map stages (per-row signatures), then, after all shards,
`plan` sees the `plan_reads` columns of all kept rows and returns per-row updates, which the
engine applies to the kept shards (moving rows it rejects to `rejected/`). Both engines run this
step the same way, so results do not depend on the engine, worker count or shard order.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from curation.engine_output import Layout, ShardWriter
from curation.global_stages import Prepare, apply_global_stages, is_global
from curation.input_files import lines_sha256
from curation.manifest import Manifest
from curation.outputs import prepare_output_dir
from curation.reader_base import Reader, hash_key
from curation.resources import set_up
from curation.schema import REJECT_REASON, REJECT_STAGE, with_bookkeeping
from curation.shards import InputShard, ShardState, fingerprint, plan_shards
from curation.stage import Stage, check_output, check_reads

READ_STAGE = "read"
StagesOrFactory = Sequence[Stage] | Callable[[], Sequence[Stage]]
_BUILT: dict[str, list[Stage]] = {}


class StageSet:
    """The stages of a run, or a picklable zero-argument factory that builds them (so that each
    worker process or Ray worker builds its stages once instead of receiving them pickled)."""

    def __init__(self, stages: StagesOrFactory, token: str | None = None) -> None:
        self.factory = None if isinstance(stages, Sequence) else stages
        self._stages = list(stages) if isinstance(stages, Sequence) else None
        self.token = token or fingerprint(time.time_ns(), id(self))
        if self._stages is not None:
            check_order(self._stages)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_stages": None} if self.factory else self.__dict__

    def stages(self) -> list[Stage]:
        if self._stages is None:
            if self.token not in _BUILT:
                _BUILT[self.token] = check_order(list(self.factory()))
            self._stages = _BUILT[self.token]
        return self._stages

    @property
    def map_stages(self) -> list[Stage]:
        """Map stages, then the per-batch part of each global stage."""
        stages = self.stages()
        return [s for s in stages if not is_global(s)] + [Prepare(s) for s in stages if is_global(s)]

    @property
    def global_stages(self) -> list[Any]:
        return [s for s in self.stages() if is_global(s)]

    @property
    def map_names(self) -> list[str]:
        return [READ_STAGE, *(s.name for s in self.stages() if not is_global(s))]

    @property
    def names(self) -> list[str]:
        return [READ_STAGE, *(s.name for s in self.stages())]


def check_order(stages: list[Stage]) -> list[Stage]:
    positions = [is_global(s) for s in stages]
    if positions != sorted(positions):
        raise ValueError("global stages (with prepare/plan) must come after every map stage")
    return stages


def check_chain(stages: Sequence[Stage], columns: Iterable[str]) -> None:
    available = set(columns)
    for stage in stages:
        check_reads(stage, available)
        available |= set(stage.adds)


def run_stages(stages: Sequence[Stage], batch: pl.DataFrame, entry: bool = True,
               seconds: dict[str, float] | None = None) -> pl.DataFrame:
    """Run `stages` over the rows of `batch` not yet rejected; rows a stage rejects get its name in
    `reject_stage` and skip later stages. On entry, rows the reader rejected are stamped `read`.
    Each stage's wall time is added to `seconds` (by stage name) when given."""
    seconds = {} if seconds is None else seconds
    batch = with_bookkeeping(batch)
    if entry:
        batch = batch.with_columns(pl.when(pl.col(REJECT_REASON).is_not_null()).then(pl.lit(READ_STAGE))
                                   .otherwise(None).alias(REJECT_STAGE))
    check_chain(stages, batch.columns)
    parts = [batch.filter(pl.col(REJECT_STAGE).is_not_null())]
    alive = batch.filter(pl.col(REJECT_STAGE).is_null())
    for stage in stages:
        if alive.height == 0:
            break
        started = time.perf_counter()
        out = stage(alive)
        seconds[stage.name] = seconds.get(stage.name, 0.0) + time.perf_counter() - started
        check_output(stage, alive, out)
        hit = out[REJECT_REASON].is_not_null()
        parts.append(out.filter(hit).with_columns(pl.lit(stage.name).alias(REJECT_STAGE)))
        alive = out.filter(~hit)
    return pl.concat([p for p in [*parts, alive] if p.height] or [alive], how="diagonal_relaxed")


def timed(items: Iterable[pl.DataFrame], seconds: dict[str, float], name: str) -> Iterator[pl.DataFrame]:
    """`items`, adding the time spent producing each to `seconds[name]`."""
    iterator = iter(items)
    while True:
        started = time.perf_counter()
        item = next(iterator, None)
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
        if item is None:
            return
        yield item


def shard_writer(stage_set: StageSet, layout: Layout, rows_per_file: int) -> ShardWriter:
    stage_adds = tuple((s.name, tuple(s.adds)) for s in stage_set.map_stages)
    return ShardWriter(layout, tuple(stage_set.map_names), stage_adds, rows_per_file)


def process_shard(shard: InputShard, stage_set: StageSet, layout: Layout, rows_per_file: int) -> dict:
    """The shard loop of every engine: read one shard, run the map stages, write its kept and
    rejected rows, then mark it complete; returns the marker (counts, files, seconds, input hash)."""
    stages, seconds = stage_set.map_stages, {}
    batches = timed(shard.batches(), seconds, READ_STAGE)
    frames = [run_stages(stages, batch, seconds=seconds) for batch in batches]
    frame = pl.concat(frames, how="diagonal_relaxed") if frames else with_bookkeeping(pl.DataFrame())
    files, counts = shard_writer(stage_set, layout, rows_per_file).write(frame, shard.shard_id)
    marker = {"shard": shard.shard_id, "counts": counts, "files": files, "seconds": seconds,
              "input_hashes": shard.hash_lines(), "input_identity": shard.identity()}
    ShardState(layout.out_dir).mark_complete(marker)
    return marker


_WORKER: dict[str, Any] = {}


def _start_worker(stage_set: StageSet) -> None:
    set_up(stage_set.stages())
    _WORKER["stage_set"] = stage_set


def _process_in_worker(shard: InputShard, layout: Layout, rows_per_file: int) -> dict:
    return process_shard(shard, _WORKER["stage_set"], layout, rows_per_file)


@contextmanager
def threads_for_children(threads: int) -> Iterator[None]:
    """Processes started inside this block size their polars and torch thread pools to `threads`."""
    names = ("POLARS_MAX_THREADS", "OMP_NUM_THREADS")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, str(threads)))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def worker_pool(stage_set: StageSet, workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """`workers` forkserver processes that build their stages at once (while the run is planned),
    or None for one worker, which runs here."""
    if workers <= 1:
        yield None
        return
    context = multiprocessing.get_context("forkserver")
    threads = max(1, (os.cpu_count() or 1) // workers)  # N workers x all-core polars pools thrash
    with (threads_for_children(threads),
          ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                              initargs=(stage_set,)) as pool):
        for _ in range(workers):
            pool.submit(int)  # start every worker now
        yield pool


def local_markers(shards: list[InputShard], stage_set: StageSet, layout: Layout, rows_per_file: int,
                  pool: ProcessPoolExecutor | None) -> Iterator[dict]:
    """Process shards here (no pool) or in the pool's workers; yields markers as shards complete."""
    if pool is None:
        for shard in shards:
            yield process_shard(shard, stage_set, layout, rows_per_file)
        return
    futures = [pool.submit(_process_in_worker, shard, layout, rows_per_file) for shard in shards]
    for future in as_completed(futures):
        yield future.result()


@dataclass
class RunPlan:
    """What both engines share: the shards, what is already complete, the manifest, and the end
    of a run (global stages, manifest.json)."""

    source: Reader | Iterable[pl.DataFrame]
    stage_set: StageSet
    layout: Layout
    shards: list[InputShard]
    manifest: Manifest
    complete: dict[str, dict] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    listing: dict[str, Any] | None = None

    @classmethod
    def create(cls, source: Reader | Iterable[pl.DataFrame], stages: StagesOrFactory, out_dir: str | Path,
               *, command: str, params: dict[str, Any] | None, shard_rows: int, rows_per_file: int,
               resume: bool) -> RunPlan:
        stage_set = stages if isinstance(stages, StageSet) else StageSet(stages)
        out_dir = prepare_output_dir(out_dir)
        manifest = Manifest(command=command, params=params or {})
        shards = plan_shards(source, shard_rows)
        run_fingerprint, listing = None, None
        if isinstance(source, Reader):  # file names key the run; shards check their files on resume
            listing = source.listing()
            run_fingerprint = fingerprint(command, params, listing, stage_set.names,
                                          [s.shard_id for s in shards], shard_rows, rows_per_file)
        layout = Layout(out_dir, bool(stage_set.global_stages))
        by_id = {s.shard_id: s for s in shards}
        complete = ShardState(out_dir).start(run_fingerprint, resume, layout.output_dirs,
                                             identity_of=lambda shard_id: by_id[shard_id].identity())
        for name in stage_set.names:
            manifest.stage(name)
        plan = cls(source, stage_set, layout, shards, manifest, listing=listing)
        for marker in complete.values():
            plan.record(marker)
        return plan

    @property
    def todo(self) -> list[InputShard]:
        return [s for s in self.shards if s.shard_id not in self.complete]

    @property
    def total_rows(self) -> int | None:
        return self.source.total_rows() if isinstance(self.source, Reader) else None

    def record(self, marker: dict) -> int:
        """Count a complete shard; returns its rows in."""
        self.complete[marker["shard"]] = marker
        self.manifest.add_counts(marker["counts"])
        self.manifest.add_seconds(marker.get("seconds", {}))
        return marker["counts"][0]["rows_in"] if marker["counts"] else 0

    def describe_input(self) -> dict[str, Any]:
        """The input for the manifest, as `Reader.describe` gives it: its hash joins the shards'
        `input_hashes` (taken by the workers) in shard order, so it is the same on every engine and
        sharding; an input without them (no files, or markers of an older run) is hashed here."""
        hashes = [self.complete[s.shard_id].get("input_hashes") for s in self.shards]
        content = self.source.hashes_content
        if any(h is None for h in hashes):
            return self.source.describe(hash_content=content)
        description = {k: v for k, v in (self.listing or {}).items() if k != "names_sha256"}
        return {**description, hash_key(content): lines_sha256(line for h in hashes for line in h)}

    def finish(self, rows_per_file: int, pool: ProcessPoolExecutor | None = None) -> Manifest:
        if isinstance(self.source, Reader):
            self.manifest.inputs.append(self.describe_input())
        if self.stage_set.global_stages:
            apply_global_stages(self.layout, self.stage_set.global_stages, self.manifest, rows_per_file,
                                pool)
        self.manifest.outputs = self.layout.outputs()
        self.manifest.elapsed_s = time.perf_counter() - self.started
        self.manifest.write(self.layout.out_dir / "manifest.json")
        return self.manifest


def progress_bar(enabled: bool = True) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), disable=not enabled)


def track(plan: RunPlan, markers: Iterable[dict], progress: bool, description: str) -> None:
    """Record markers as shards complete, with a progress bar in rows."""
    with progress_bar(progress) as bar:
        done = sum(m["counts"][0]["rows_in"] for m in plan.complete.values() if m["counts"])
        task = bar.add_task(description, total=plan.total_rows, completed=done, rate="")
        started, fresh = time.perf_counter(), 0
        for marker in markers:
            fresh += plan.record(marker)
            rate = fresh / max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=done + fresh, rate=f"{rate:,.0f} rows/s")


def run(reader: Reader | Iterable[pl.DataFrame], stages: StagesOrFactory, out_dir: str | Path, *,
        command: str = "run", params: dict[str, Any] | None = None, progress: bool = True,
        rows_per_shard: int = 50_000, description: str = "cleaning", workers: int = 1,
        resume: bool = False, shard_rows: int = 1_000) -> Manifest:
    """Run `stages` over `reader` in `workers` processes, writing kept/, rejected/ and manifest.json.
    With `resume`, shards completed by an earlier run of the same command are kept, not redone."""
    stage_set = stages if isinstance(stages, StageSet) else StageSet(stages)
    if workers <= 1:
        set_up(stage_set.stages())
    with worker_pool(stage_set, workers) as pool:
        plan = RunPlan.create(reader, stage_set, out_dir, command=command, params=params,
                              shard_rows=shard_rows, rows_per_file=rows_per_shard, resume=resume)
        markers = local_markers(plan.todo, plan.stage_set, plan.layout, rows_per_shard, pool)
        track(plan, markers, progress, description)
        return plan.finish(rows_per_shard, pool)
