"""Download post images concurrently into `images/<sha256[:2]>/<sha256>.<ext>`, resumably.

Only http/https URLs are requested. Each download streams under a size cap and an overall
deadline, checks the content type and the magic bytes, and retries 5xx/429, timeouts and broken
connections with exponential backoff and jitter (never 404 or other 4xx). Every URL's outcome is
recorded in `fetch_index.sqlite` beside the images, so a re-run requests nothing it already has
(failures included, unless `retry_failed`). A failure is a rejected row with its reason.
`image_path` is stored absolute, so the output reads the same from any working directory.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import polars as pl
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from filters.posts.schema import reject_rows

ALLOWED_SCHEMES = ("http", "https")
INDEX_NAME = "fetch_index.sqlite"
RESULT_SCHEMA = {
    "_url": pl.Utf8,
    "_path": pl.Utf8,
    "image_sha256": pl.Utf8,
    "image_bytes": pl.Int64,
    "_reason": pl.Utf8,
    "_detail": pl.Utf8,
}


def image_kind(head: bytes) -> str | None:
    """The file extension the magic bytes name (jpg, png, gif, webp), else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


class FetchFailure(Exception):
    def __init__(self, reason: str, detail: str, transient: bool = False) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.transient = reason, detail, transient


@dataclass(frozen=True)
class FetchResult:
    url: str
    path: str | None = None
    sha256: str | None = None
    size: int | None = None
    reason: str | None = None
    detail: str | None = None
    transient: bool = False


class FetchIndex:
    """The outcome of every URL fetched so far, in SQLite keyed by URL (WAL mode, so that engine
    worker processes can share it)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path, timeout=60)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS fetched (url TEXT PRIMARY KEY, path TEXT, "
            "sha256 TEXT, size INTEGER, reason TEXT, detail TEXT, transient INTEGER, "
            "fetched_at REAL)"
        )

    def lookup(self, urls: list[str]) -> dict[str, FetchResult]:
        found: dict[str, FetchResult] = {}
        for start in range(0, len(urls), 500):
            chunk = urls[start : start + 500]
            rows = self.connection.execute(
                f"SELECT url, path, sha256, size, reason, detail, transient FROM fetched "
                f"WHERE url IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found |= {row[0]: FetchResult(*row[:6], transient=bool(row[6])) for row in rows}
        return found

    def record(self, results: list[FetchResult]) -> None:
        now = time.time()
        with self.connection:
            self.connection.executemany(
                "INSERT OR REPLACE INTO fetched VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (r.url, r.path, r.sha256, r.size, r.reason, r.detail, int(r.transient), now)
                    for r in results
                ],
            )

    def close(self) -> None:
        self.connection.close()


@dataclass
class FetchImages:
    """Fetch `image_url` (or hash an existing local `image_path`) into content-addressed files."""

    images_dir: Path
    workers: int = 16
    timeout: float = 10.0
    max_bytes: int = 20 * 1024 * 1024
    attempts: int = 3
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    retry_failed: bool = False
    max_redirects: int = 5
    name: str = "fetch"
    reads: tuple[str, ...] = ("image_url", "image_path")
    adds: tuple[str, ...] = ("image_path", "image_sha256", "image_bytes")
    _index: FetchIndex | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.images_dir = Path(self.images_dir).absolute()  # stored paths open from any folder

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_index": None}

    @property
    def index(self) -> FetchIndex:
        if self._index is None:
            self._index = FetchIndex(self.images_dir / INDEX_NAME)
        return self._index

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        local = pl.col("image_path").is_not_null() & (
            pl.col("image_url").is_null()
            | pl.col("image_path").map_elements(os.path.isfile, return_dtype=pl.Boolean)
        )
        batch = batch.with_columns(
            pl.when(local).then(pl.lit(None, pl.Utf8)).otherwise(pl.col("image_url")).alias("_url"),
            pl.when(local).then(pl.col("image_path")).alias("_local"),
        )
        urls = batch["_url"].drop_nulls().unique(maintain_order=True).to_list()
        locals_ = batch["_local"].drop_nulls().unique(maintain_order=True).to_list()
        results = self.fetch_all(urls) + self._hash_local(locals_)
        table = pl.DataFrame([self._as_row(r) for r in results], schema=RESULT_SCHEMA)
        key = pl.coalesce("_url", "_local").alias("_key")
        batch = (
            batch.drop("image_sha256", "image_bytes", strict=False)
            .with_columns(key)
            .join(table.rename({"_url": "_key"}), on="_key", how="left", maintain_order="left")
        )
        batch = batch.with_columns(pl.coalesce("_path", "image_path").alias("image_path"))
        missing = pl.when(pl.col("_key").is_null()).then(pl.lit("no_image"))
        batch = reject_rows(batch, pl.coalesce("_reason", missing), pl.col("_detail"))
        return batch.drop("_url", "_local", "_key", "_path", "_reason", "_detail")

    @staticmethod
    def _as_row(result: FetchResult) -> dict:
        return {
            "_url": result.url,
            "_path": result.path,
            "image_sha256": result.sha256,
            "image_bytes": result.size,
            "_reason": result.reason,
            "_detail": result.detail,
        }

    def fetch_all(self, urls: list[str]) -> list[FetchResult]:
        """Results for `urls`: recorded ones from the index, the rest downloaded (and recorded)."""
        known = self.index.lookup(urls)
        todo = [u for u in urls if self._needs_fetch(known.get(u))]
        fetched: list[FetchResult] = []
        if todo:
            with self._client() as client, ThreadPoolExecutor(self.workers) as pool:
                fetched = list(pool.map(lambda url: self.fetch_one(client, url), todo))
            self.index.record(fetched)
        by_url = known | {r.url: r for r in fetched}
        return [by_url[u] for u in urls]

    def _needs_fetch(self, known: FetchResult | None) -> bool:
        if known is None:
            return True
        if known.reason is None:
            return not (known.path and os.path.isfile(known.path))
        return self.retry_failed and known.transient

    def _client(self) -> httpx.Client:
        limits = httpx.Limits(max_connections=self.workers, max_keepalive_connections=self.workers)
        return httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            follow_redirects=True,
            max_redirects=self.max_redirects,
            headers={"user-agent": "aesthetic-curation"},
        )

    def fetch_one(self, client: httpx.Client, url: str) -> FetchResult:
        """Download one URL with retries; failures come back as a result with a reason."""
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            return FetchResult(
                url, reason="bad_scheme", detail=f"only http/https are fetched, not '{scheme}:'"
            )
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            reraise=True,
            wait=wait_exponential_jitter(initial=self.backoff_initial, max=self.backoff_max),
            retry=retry_if_exception(lambda e: isinstance(e, FetchFailure) and e.transient),
        )
        try:
            body = retrying(self._download, client, url)
        except FetchFailure as failure:
            return FetchResult(url, reason=failure.reason, detail=failure.detail, transient=failure.transient)
        return self._store(url, body)

    def _download(self, client: httpx.Client, url: str) -> bytes:
        deadline = time.monotonic() + self.timeout
        try:
            with client.stream("GET", url) as response:
                self._check_response(response)
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise FetchFailure(
                            "too_large", f"body over {self.max_bytes:,} bytes; download aborted"
                        )
                    if time.monotonic() > deadline:
                        raise FetchFailure("timeout", f"body not complete after {self.timeout:g} s", True)
                return bytes(body)
        except httpx.TimeoutException as error:
            raise FetchFailure("timeout", f"{type(error).__name__} after {self.timeout:g} s", True) from None
        except httpx.UnsupportedProtocol as error:
            raise FetchFailure("bad_scheme", str(error)) from None
        except httpx.TooManyRedirects as error:
            raise FetchFailure("http_error", str(error)) from None
        except httpx.RemoteProtocolError as error:
            raise FetchFailure("incomplete_body", str(error), True) from None
        except httpx.TransportError as error:
            raise FetchFailure("connection_error", f"{type(error).__name__}: {error}", True) from None

    def _check_response(self, response: httpx.Response) -> None:
        status = response.status_code
        if status in (404, 410):
            raise FetchFailure("http_404", f"HTTP {status}")
        if status >= 400:
            raise FetchFailure("http_error", f"HTTP {status}", transient=status >= 500 or status == 429)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not content_type.startswith("image/"):
            raise FetchFailure("bad_content_type", f"content-type '{content_type or 'missing'}'")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchFailure("too_large", f"content-length {int(declared):,} over {self.max_bytes:,} bytes")

    def _store(self, url: str, body: bytes) -> FetchResult:
        kind = image_kind(body[:16])
        if kind is None:
            return FetchResult(
                url, reason="not_an_image", detail=f"magic bytes {body[:8].hex()} (not JPEG/PNG/GIF/WebP)"
            )
        sha256 = hashlib.sha256(body).hexdigest()
        path = self.images_dir / sha256[:2] / f"{sha256}.{kind}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.part")  # same bytes, two URLs
            partial.write_bytes(body)
            os.replace(partial, path)
        return FetchResult(url, path=str(path), sha256=sha256, size=len(body))

    def _hash_local(self, paths: list[str]) -> list[FetchResult]:
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(hash_local_image, paths))

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None


def hash_local_image(path: str) -> FetchResult:
    """A local image file's digest and size, or a reason it cannot be used."""
    try:
        body = Path(path).read_bytes()
    except OSError as error:
        return FetchResult(path, reason="missing_file", detail=f"{type(error).__name__}: {error}")
    if image_kind(body[:16]) is None:
        return FetchResult(path, reason="not_an_image", detail=f"magic bytes {body[:8].hex()}")
    return FetchResult(path, path=path, sha256=hashlib.sha256(body).hexdigest(), size=len(body))
