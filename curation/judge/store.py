"""Crash-safe, append-only store of judgements on disk, keyed by `judge_key`.

Each process that opens the store writes its own new segment `segment-NNNNN.jsonl`, one JSON line
per judgement written with a single `os.write` on an O_APPEND descriptor and fsync'd every
`sync_every` records and on close. Reading tolerates a torn last line (a crash mid-write): that
judgement is simply missing and gets scored again. When a key appears more than once (a failed
item retried with `retry_failed`), the latest record wins.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from curation.judge.result import FAILED, Judgement

log = logging.getLogger(__name__)

SEGMENT_GLOB = "segment-*.jsonl"
STORE_SCHEMA = {"key": pl.String, "status": pl.String, "score": pl.Int8, "rationale": pl.String,
                "reason": pl.String, "raw_reply": pl.String, "attempts": pl.Int32}


def read_segment(path: Path) -> Iterator[dict]:
    """Records of one segment, skipping a torn or corrupt line instead of failing the whole store."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                yield json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                log.warning("%s: skipping unreadable line %d (torn write?)", path, number)


class JudgeStore:
    def __init__(self, directory: str | Path, sync_every: int = 256) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.sync_every = sync_every
        self._status: dict[str, str] = {}
        self._failure: dict[str, str | None] = {}
        for record in self._records():
            self._remember(record["key"], record["status"], record.get("reason"))
        self._fd: int | None = None
        self._unsynced = 0

    def __contains__(self, key: str) -> bool:
        return key in self._status

    def __len__(self) -> int:
        return len(self._status)

    def is_failed(self, key: str) -> bool:
        return self._status.get(key) == FAILED

    def failure_reason(self, key: str) -> str | None:
        """Why the latest judgement of `key` failed; None when it was scored or is not stored."""
        return self._failure.get(key)

    def _remember(self, key: str, status: str, reason: str | None) -> None:
        self._status[key] = status
        if status == FAILED:
            self._failure[key] = reason or "unknown"
        else:
            self._failure.pop(key, None)

    def append(self, judgement: Judgement) -> None:
        line = json.dumps(vars(judgement), ensure_ascii=False) + "\n"
        os.write(self._segment(), line.encode("utf-8"))
        self._remember(judgement.key, judgement.status, judgement.reason)
        self._unsynced += 1
        if self._unsynced >= self.sync_every:
            self.sync()

    def sync(self) -> None:
        if self._fd is not None and self._unsynced:
            os.fsync(self._fd)
        self._unsynced = 0

    def close(self) -> None:
        if self._fd is not None:
            self.sync()
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JudgeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def frame(self) -> pl.DataFrame:
        """The latest judgement per key as a frame with STORE_SCHEMA's columns."""
        latest = {record["key"]: record for record in self._records()}
        columns = {name: [record.get(name) for record in latest.values()] for name in STORE_SCHEMA}
        return pl.DataFrame(columns, schema=STORE_SCHEMA)

    def _segments(self) -> list[Path]:
        return sorted(self.directory.glob(SEGMENT_GLOB))

    def _records(self) -> Iterator[dict]:
        for path in self._segments():
            yield from read_segment(path)

    def _segment(self) -> int:
        if self._fd is None:
            existing = self._segments()
            number = int(existing[-1].stem.split("-")[1]) + 1 if existing else 0
            path = self.directory / f"segment-{number:05d}.jsonl"
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        return self._fd
