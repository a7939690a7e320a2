"""Input shards and completion markers: the unit of parallel work and of resuming.

A reader plans its own shards (`Reader.shards`: groups of files of a forms folder, runs of row
groups of Parquet files, one per file of a glob, or the whole input). A shard is complete when its
marker `_state/shards/<id>.json` exists: it holds the shard's per-stage counts and seconds, the
output files it wrote, its share of the input's hash (`input_hashes`) and its files' quick identity,
and is written last, atomically (write to a temporary name, then rename). A re-run of the same
command (same fingerprint in `_state/run.json`, keyed by the input's file names) skips complete
shards whose files are unchanged (the marker's `input_identity`: names, sizes, modification times,
taken by the worker that did the shard) and deletes any output file that no complete marker lists,
i.e. the leftovers of shards that were cut off or whose input changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import polars as pl

from curation.reader_base import Reader

STATE_DIR = "_state"


@dataclass
class InputShard:
    """One unit of work: a part of a reader (`Reader.shards`), or in-memory frames."""

    shard_id: str
    reader: Reader | None = None
    frames: Iterable[pl.DataFrame] | None = field(default=None, repr=False)

    def batches(self) -> Iterator[pl.DataFrame]:
        if self.frames is not None:
            yield from self.frames
        elif self.reader is not None:
            yield from self.reader.batches()

    def identity(self) -> str | None:
        """Names, sizes and modification times of this shard's files (None for in-memory frames):
        a resumed run redoes a complete shard whose identity has changed."""
        return self.reader.identity() if self.reader is not None else None

    def hash_lines(self) -> list[str] | None:
        """This shard's share of the input's hash (`Reader.hash_lines`); None for in-memory frames."""
        return self.reader.hash_lines() if self.reader is not None else None

    def read(self) -> pl.DataFrame:
        """All of the shard's rows as one frame."""
        frames = list(self.batches())
        return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def shard_name(index: int) -> str:
    return f"s{index:05d}"


def plan_shards(source: Reader | Iterable[pl.DataFrame], shard_rows: int = 1_000) -> list[InputShard]:
    """Split an input into shards, deterministically from the input itself (`Reader.shards`)."""
    if isinstance(source, Reader):
        return [InputShard(shard_name(i), part) for i, part in enumerate(source.shards(shard_rows))]
    return [InputShard(shard_name(0), frames=source)]


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """`write` into a temporary file of this process beside `path`, then move it into place, so that
    readers and other processes writing the same file only ever see a whole one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_json_atomically(path: Path, payload: dict[str, Any]) -> None:
    write_atomically(path, lambda handle: handle.write(json.dumps(payload).encode()))


class ShardState:
    """The markers of one output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.state_dir = self.out_dir / STATE_DIR

    def marker(self, shard_id: str) -> Path:
        return self.state_dir / "shards" / f"{shard_id}.json"

    def mark_complete(self, marker: dict[str, Any]) -> None:
        """Write a shard's marker: `shard`, `counts`, `files`, and optionally `seconds`,
        `input_hashes` and `input_identity`."""
        write_json_atomically(self.marker(marker["shard"]), marker)

    def complete(self) -> dict[str, dict[str, Any]]:
        """Markers whose listed files all exist, by shard id."""
        found = {}
        for path in sorted((self.state_dir / "shards").glob("*.json")):
            marker = json.loads(path.read_text())
            if all((self.out_dir / f).exists() for f in marker["files"]):
                found[marker["shard"]] = marker
        return found

    def start(self, run_fingerprint: str | None, resume: bool, output_dirs: Iterable[Path],
              identity_of: Callable[[str], str | None] | None = None) -> dict:
        """Begin a run: keep complete shards when resuming the same run, except those whose input
        changed (`identity_of(shard_id)` differs from the marker's), else start afresh.
        Returns the complete markers (empty when starting afresh)."""
        run_file = self.state_dir / "run.json"
        same_run = (resume and run_fingerprint is not None and run_file.exists()
                    and json.loads(run_file.read_text()).get("fingerprint") == run_fingerprint)
        if not same_run:
            for stale in (*output_dirs, self.state_dir):
                shutil.rmtree(stale, ignore_errors=True)
            write_json_atomically(run_file, {"fingerprint": run_fingerprint})
            return {}
        complete = self.complete()
        for shard_id, marker in list(complete.items()):
            if identity_of is not None and marker.get("input_identity") != identity_of(shard_id):
                self.marker(shard_id).unlink()
                del complete[shard_id]
        listed = {self.out_dir / f for marker in complete.values() for f in marker["files"]}
        for directory in output_dirs:
            for leftover in Path(directory).glob("*.parquet"):
                if leftover not in listed:
                    leftover.unlink()
        return complete
