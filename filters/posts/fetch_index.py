"""`fetch_index.sqlite`: the outcome of every URL fetched so far, shared by the engine's processes.

One row per URL: the stored file, its digest and size, the image facts (so that nothing re-reads
the file), or the reject reason and evidence, and the consent policy it was decided under. SQLite
in WAL mode lets worker processes share it. Switching a new database to WAL needs a moment alone
with it, and SQLite answers `database is locked` at once, without waiting, when another process
opens the same new file at that moment; opening therefore retries with backoff. The index also
keeps the crawl-delay schedule per origin, so that worker processes share one schedule.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random_exponential

INDEX_NAME = "fetch_index.sqlite"
BUSY_TIMEOUT_S = 60
COLUMNS = ("url", "path", "sha256", "size", "width", "height", "format", "animated", "reason", "detail",
           "transient", "policy", "fetched_at")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS downloads (url TEXT PRIMARY KEY, path TEXT, sha256 TEXT, size INTEGER, "
    "width INTEGER, height INTEGER, format TEXT, animated INTEGER, reason TEXT, detail TEXT, "
    "transient INTEGER, policy TEXT, fetched_at REAL)",
    "CREATE TABLE IF NOT EXISTS crawl_slots (origin TEXT PRIMARY KEY, next_at REAL)",
)


@dataclass(frozen=True)
class FetchResult:
    """One URL's outcome: a stored image with its facts, or a reason it gave none."""

    url: str
    path: str | None = None
    sha256: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    animated: bool | None = None
    reason: str | None = None
    detail: str | None = None
    transient: bool = False
    policy: str | None = None


def is_locked(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)


def open_shared(path: Path) -> sqlite3.Connection:
    """A connection to the index in WAL mode, created if new, however many processes open it at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    retrying = Retrying(retry=retry_if_exception(is_locked), stop=stop_after_delay(BUSY_TIMEOUT_S),
                        wait=wait_random_exponential(multiplier=0.01, max=0.5), reraise=True)
    for attempt in retrying:
        with attempt:
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            try:
                if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    connection.execute("PRAGMA journal_mode=WAL")
                for statement in SCHEMA:
                    connection.execute(statement)
                connection.commit()
            except BaseException:
                connection.close()
                raise
    return connection


class FetchIndex:
    """Lookups and records of URL outcomes, and crawl-delay slots, in `fetch_index.sqlite`."""

    def __init__(self, path: Path) -> None:
        self.connection = open_shared(path)
        self._lock = threading.Lock()  # one connection, used by the download threads in turn

    def lookup(self, urls: list[str]) -> dict[str, FetchResult]:
        found: dict[str, FetchResult] = {}
        with self._lock:
            for start in range(0, len(urls), 500):
                found |= self._lookup_chunk(urls[start : start + 500])
        return found

    def _lookup_chunk(self, chunk: list[str]) -> dict[str, FetchResult]:
        found = {}
        rows = self.connection.execute(
            f"SELECT {', '.join(COLUMNS[:-1])} FROM downloads WHERE url IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        for row in rows:
            values = dict(zip(COLUMNS, row, strict=False))
            values["transient"] = bool(values["transient"])
            values["animated"] = None if values["animated"] is None else bool(values["animated"])
            found[row[0]] = FetchResult(**values)
        return found

    def record(self, results: list[FetchResult]) -> None:
        now = time.time()
        rows = [(r.url, r.path, r.sha256, r.size, r.width, r.height, r.format,
                 None if r.animated is None else int(r.animated), r.reason, r.detail, int(r.transient),
                 r.policy, now) for r in results]
        with self._lock, self.connection:
            self.connection.executemany(
                f"INSERT OR REPLACE INTO downloads VALUES ({', '.join('?' * len(COLUMNS))})", rows
            )

    def reserve(self, origin: str, delay: float) -> float:
        """The wall-clock time the next request to `origin` may start, `delay` after the one before
        (across every process sharing the index)."""
        with self._lock, self.connection:
            self.connection.execute("BEGIN IMMEDIATE")
            row = self.connection.execute("SELECT next_at FROM crawl_slots WHERE origin = ?", (origin,))
            start = max(time.time(), next(iter(row), (0.0,))[0])
            self.connection.execute("INSERT OR REPLACE INTO crawl_slots VALUES (?, ?)",
                                    (origin, start + delay))
        return start

    def close(self) -> None:
        self.connection.close()
