"""The streaming engine: input shards -> stages -> kept and rejected Parquet + a balanced manifest.

Work is split into input shards (`curation.shards`). Each shard's rows go through the map stages
(`run_stages`: a stage sees only the rows still kept; rows it rejects are stamped with its name);
its kept rows go to `kept/part-<shard>-*.parquet`, its rejected rows to
`rejected/<stage>-<shard>-*.parquet`, and a marker with its counts is written last, so a re-run
skips complete shards. Shards run in this process or in `workers` processes; `curation.ray_engine`
runs the same functions under Ray Data.

A global stage (one with `prepare` and `plan`, such as duplicate marking) needs every row at once:
its `prepare` runs per batch with the map stages (per-row signatures), then, after all shards,
`plan` sees the `plan_reads` columns of all kept rows and returns per-row updates, which the
engine applies to the kept shards (moving rows it rejects to `rejected/`). Both engines run this
step the same way, so results do not depend on the engine, worker count or shard order.
"""

from __future__ import annotations

import hashlib
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

from curation.global_stages import Layout, Prepare, apply_global_stages, file_stem, is_global
from curation.input_files import is_url
from curation.manifest import Manifest
from curation.outputs import prepare_output_dir
from curation.readers import Reader
from curation.schema import REJECT_REASON, REJECT_STAGE, with_bookkeeping
from curation.shards import InputShard, ShardState, fingerprint, plan_shards
from curation.stage import Stage, check_output, check_reads
from curation.writers import ParquetShardWriter

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


def run_stages(stages: Sequence[Stage], batch: pl.DataFrame, entry: bool = True) -> pl.DataFrame:
    """Run `stages` over the rows of `batch` not yet rejected; rows a stage rejects get its name in
    `reject_stage` and skip later stages. On entry, rows the reader rejected are stamped `read`."""
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
        out = stage(alive)
        check_output(stage, alive, out)
        hit = out[REJECT_REASON].is_not_null()
        parts.append(out.filter(hit).with_columns(pl.lit(stage.name).alias(REJECT_STAGE)))
        alive = out.filter(~hit)
    return pl.concat([p for p in [*parts, alive] if p.height] or [alive], how="diagonal_relaxed")


def count_stages(frame: pl.DataFrame, names: Sequence[str]) -> list[dict[str, Any]]:
    """Per-stage counts of a processed frame, from its `reject_stage` column."""
    counts, remaining = [], frame.height
    for name in names:
        hit = frame.filter(pl.col(REJECT_STAGE) == name)
        reasons = dict(hit[REJECT_REASON].value_counts(sort=True).iter_rows())
        counts.append({"name": name, "rows_in": remaining, "kept": remaining - hit.height,
                       "rejected": hit.height, "reasons": reasons})
        remaining -= hit.height
    return counts


def unused_late_columns(group: pl.DataFrame, stage_name: str,
                        stage_adds: Sequence[tuple[str, tuple[str, ...]]]) -> list[str]:
    """Columns only later stages add, all null in rows rejected at `stage_name` (they never saw them)."""
    names = [name for name, _ in stage_adds]
    cut = names.index(stage_name) + 1 if stage_name in names else 0
    earlier = {c for _, adds in stage_adds[:cut] for c in adds}
    later = {c for _, adds in stage_adds[cut:] for c in adds} - earlier
    return [c for c in later if c in group.columns and group[c].null_count() == group.height]


@dataclass(frozen=True)
class ShardWriter:
    """Writes processed frames of a shard; needs only the stage names and what they add."""

    layout: Layout
    names: tuple[str, ...]
    stage_adds: tuple[tuple[str, tuple[str, ...]], ...]
    rows_per_file: int

    @classmethod
    def of(cls, stage_set: StageSet, layout: Layout, rows_per_file: int) -> ShardWriter:
        stage_adds = tuple((s.name, tuple(s.adds)) for s in stage_set.map_stages)
        return cls(layout, tuple(stage_set.map_names), stage_adds, rows_per_file)

    def write(self, frame: pl.DataFrame, prefix: str) -> tuple[list[str], list[dict[str, Any]]]:
        """Write one processed frame; returns its files (relative to the output) and stage counts."""
        kept = ParquetShardWriter(self.layout.kept_dir, f"part-{prefix}", self.rows_per_file)
        paths = kept.close_with(frame.filter(pl.col(REJECT_STAGE).is_null()))
        for name in self.names:
            group = frame.filter(pl.col(REJECT_STAGE) == name)
            if group.height:
                writer = ParquetShardWriter(self.layout.rejected_dir, f"{file_stem(name)}-{prefix}",
                                            self.rows_per_file)
                paths += writer.close_with(group.drop(unused_late_columns(group, name, self.stage_adds)))
        files = [str(p.relative_to(self.layout.out_dir)) for p in paths]
        return files, count_stages(frame, self.names)


def process_shard(shard: InputShard, stage_set: StageSet, layout: Layout, rows_per_file: int) -> dict:
    """Read, process and write one shard, then mark it complete."""
    stages = stage_set.map_stages
    identity = shard.identity()
    frames = [run_stages(stages, batch) for batch in shard.batches()]
    frame = pl.concat(frames, how="diagonal_relaxed") if frames else with_bookkeeping(pl.DataFrame())
    files, counts = ShardWriter.of(stage_set, layout, rows_per_file).write(frame, shard.shard_id)
    input_sha256 = shard.content_sha256()
    ShardState(layout.out_dir).mark_complete(shard.shard_id, counts, files, input_sha256, identity)
    return {"shard": shard.shard_id, "counts": counts, "files": files, "input_sha256": input_sha256}


_WORKER: dict[str, Any] = {}


def _start_worker(stage_set: StageSet) -> None:
    stage_set.stages()
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
        return marker["counts"][0]["rows_in"] if marker["counts"] else 0

    def describe_input(self) -> dict[str, Any]:
        """The input for the manifest; its `sha256` combines the shards' content hashes when every
        shard has one (hashed by the workers), else hashes the input here."""
        digests = [self.complete[s.shard_id].get("input_sha256") for s in self.shards]
        if not all(digests):  # remote files are described by size and version, not downloaded again
            return self.source.describe(hash_content=not is_url(self.source.path))
        description = {k: v for k, v in (self.listing or {}).items() if k != "names_sha256"}
        combined = hashlib.sha256("\n".join(digests).encode()).hexdigest()
        return {**description, "sha256": combined, "sha256_of": "shard content hashes"}

    def finish(self, rows_per_file: int, pool: ProcessPoolExecutor | None = None) -> Manifest:
        if isinstance(self.source, Reader):
            self.manifest.inputs.append(self.describe_input())
        if self.stage_set.global_stages:
            apply_global_stages(self.layout, self.stage_set.global_stages, self.manifest, rows_per_file,
                                pool)
        out_dir = self.layout.out_dir
        self.manifest.outputs = {
            part: sorted(str(p.relative_to(out_dir)) for p in (out_dir / part).glob("*.parquet"))
            for part in ("kept", "rejected")}
        self.manifest.elapsed_s = time.perf_counter() - self.started
        self.manifest.write(out_dir / "manifest.json")
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
    with worker_pool(stage_set, workers) as pool:
        plan = RunPlan.create(reader, stage_set, out_dir, command=command, params=params,
                              shard_rows=shard_rows, rows_per_file=rows_per_shard, resume=resume)
        markers = local_markers(plan.todo, plan.stage_set, plan.layout, rows_per_shard, pool)
        track(plan, markers, progress, description)
        return plan.finish(rows_per_shard, pool)
