"""Input shards and completion markers: the unit of parallel work and of resuming.

An input is split deterministically into shards (groups of files of a forms folder, runs of row
groups of Parquet files, the parts a reader's `split` returns, such as one per file of a JSONL
glob, or else one shard for the whole input). A shard is complete when its marker
`_state/shards/<id>.json` exists: it holds the shard's per-stage counts and the output files it
wrote, and is written last, atomically (write to a temporary name, then rename). A re-run of the
same command (same fingerprint in `_state/run.json`, keyed by the input's file names) skips complete
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
from typing import Any

import polars as pl

from curation.input_files import InputPath, files_sha256
from curation.kaggle_forms import KaggleFormsReader, read_kaggle_files
from curation.reader_base import Reader
from curation.readers import ParquetReader, read_parquet_row_groups

STATE_DIR = "_state"


@dataclass
class InputShard:
    """One unit of work: `batches()` yields its rows, in the same form as the whole reader would."""

    shard_id: str
    reader: Reader | None = None
    files: tuple[InputPath | str, ...] = ()
    row_groups: tuple[int, ...] = ()
    frames: Iterable[pl.DataFrame] | None = field(default=None, repr=False)

    def batches(self) -> Iterator[pl.DataFrame]:
        if self.frames is not None:
            yield from self.frames
        elif isinstance(self.reader, KaggleFormsReader):
            yield from read_kaggle_files(self.reader, list(self.files))
        elif isinstance(self.reader, ParquetReader):
            yield from read_parquet_row_groups(self.reader, self.files[0], list(self.row_groups))
        elif self.reader is not None:
            yield from self.reader.batches()

    def identity(self) -> str | None:
        """Names, sizes and modification times of this shard's files (None for in-memory frames):
        a resumed run redoes a complete shard whose identity has changed."""
        return self.reader.identity(list(self.files) or None) if self.reader is not None else None

    def content_sha256(self) -> str | None:
        """SHA-256 over this shard's files (name and content) for a file-per-row input, else None."""
        if not (isinstance(self.reader, KaggleFormsReader) and self.files):
            return None
        return files_sha256(self.reader.path, self.files)

    def read(self) -> pl.DataFrame:
        """All of the shard's rows as one frame."""
        frames = list(self.batches())
        return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def shard_name(index: int) -> str:
    return f"s{index:05d}"


def parquet_shards(reader: ParquetReader, shard_rows: int) -> list[InputShard]:
    """Consecutive row groups of each file, about `shard_rows` rows per shard."""
    shards: list[InputShard] = []
    for path in reader.files():
        metadata = reader._open(path).metadata
        groups: list[int] = []
        rows = 0
        for index in range(metadata.num_row_groups):
            groups.append(index)
            rows += metadata.row_group(index).num_rows
            if rows >= shard_rows or index == metadata.num_row_groups - 1:
                shards.append(InputShard(shard_name(len(shards)), reader, (path,), tuple(groups)))
                groups, rows = [], 0
    return shards


def plan_shards(source: Reader | Iterable[pl.DataFrame], shard_rows: int = 1_000) -> list[InputShard]:
    """Split an input into shards, deterministically from the input itself."""
    if isinstance(source, KaggleFormsReader):
        files = source.files()
        return [InputShard(shard_name(i), source, tuple(files[start:start + shard_rows]))
                for i, start in enumerate(range(0, len(files), shard_rows))]
    if isinstance(source, ParquetReader):
        return parquet_shards(source, shard_rows)
    if isinstance(source, Reader):
        parts = source.split(shard_rows) or [source]
        return [InputShard(shard_name(i), part) for i, part in enumerate(parts)]
    return [InputShard(shard_name(0), frames=source)]


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def write_json_atomically(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w") as handle:
        json.dump(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class ShardState:
    """The markers of one output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.state_dir = self.out_dir / STATE_DIR

    def marker(self, shard_id: str) -> Path:
        return self.state_dir / "shards" / f"{shard_id}.json"

    def mark_complete(self, shard_id: str, counts: list[dict[str, Any]], files: list[str],
                      input_sha256: str | None = None, input_identity: str | None = None) -> None:
        write_json_atomically(self.marker(shard_id), {"shard": shard_id, "counts": counts, "files": files,
                                                      "input_sha256": input_sha256,
                                                      "input_identity": input_identity})

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
