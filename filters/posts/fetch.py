"""Download post images into `images/<sha256[:2]>/<sha256>.<ext>`, with consent, resumably.

Each URL is one task in a thread pool that lives as long as the stage: check its address and the
host's opt-outs, request it, check the headers, stream the body under a size cap and a deadline,
then (still in memory) check the magic bytes, decode the image once to prove it whole
(`filters.posts.image_facts`), check its C2PA assertions, and only then write it. Network waits and
decoding overlap across the pool's threads; one HTTP client (`filters.posts.http_client`) serves
the whole run. Only http/https URLs to public addresses are requested (`filters.posts.addresses`;
`allow_networks` opens others, for tests and demos); every redirect is checked again.

Refusals (`opt_out:<signal>`, `blocked_address`) and failures are rejected rows with their
evidence in `reject_detail`; nothing refused is stored. 5xx/429, timeouts and broken connections
are retried with exponential backoff and jitter (never 404 or another 4xx). Every URL's outcome is
recorded in `fetch_index.sqlite` beside the images, with the consent policy it was decided under,
so a re-run requests nothing it already has (failures included, unless `retry_failed`) unless the
policy changed. The image facts (size, format, animation) travel with the rows, so the decode
stage reads no file again. `image_path` is stored absolute, so the output reads the same from any
working directory.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from curation.stage import reject_where
from filters.posts.addresses import AddressPolicy, parse_networks
from filters.posts.c2pa_consent import c2pa_refusal
from filters.posts.consent import Consent, ConsentPolicy
from filters.posts.fetch_index import INDEX_NAME, FetchIndex, FetchResult
from filters.posts.http_client import Fetched, FetchFailure, PinnedClient
from filters.posts.image_facts import DEFAULT_MAX_PIXELS, ImageProblem, inspect_image

RECORD_EVERY = 64
RESULT_SCHEMA = {
    "_url": pl.Utf8,
    "_path": pl.Utf8,
    "image_sha256": pl.Utf8,
    "image_bytes": pl.Int64,
    "width": pl.Int32,
    "height": pl.Int32,
    "image_format": pl.Utf8,
    "image_animated": pl.Boolean,
    "_reason": pl.Utf8,
    "_detail": pl.Utf8,
}
ADDED = ("image_sha256", "image_bytes", "width", "height", "image_format", "image_animated")


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


def with_image(result: FetchResult, body: bytes, max_pixels: int, path: str | None = None) -> FetchResult:
    """`result` completed with the body's digest, size and image facts, or with why it is no image."""
    kind = image_kind(body[:16])
    if kind is None:
        return FetchResult(result.url, reason="not_an_image", policy=result.policy,
                           detail=f"magic bytes {body[:8].hex()} (not JPEG/PNG/GIF/WebP)")
    try:
        facts = inspect_image(body, max_pixels)
    except ImageProblem as problem:
        return FetchResult(result.url, reason=problem.reason, detail=problem.detail, policy=result.policy)
    return FetchResult(result.url, path=path, sha256=hashlib.sha256(body).hexdigest(), size=len(body),
                       width=facts.width, height=facts.height, format=facts.format, animated=facts.animated,
                       policy=result.policy)


def inspect_local_image(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> FetchResult:
    """A local image file's digest, size and facts (read once), or a reason it cannot be used."""
    try:
        body = Path(path).read_bytes()
    except OSError as error:
        return FetchResult(path, reason="missing_file", detail=f"{type(error).__name__}: {error}")
    return with_image(FetchResult(path), body, max_pixels, path)


@dataclass
class Runtime:
    """What one process builds once per run: the index, the HTTP client, the consent checks, the pool."""

    index: FetchIndex
    client: PinnedClient
    consent: Consent
    pool: ThreadPoolExecutor

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()
        self.index.close()


@dataclass
class FetchImages:
    """Fetch `image_url` (or read an existing local `image_path`) into content-addressed files."""

    images_dir: Path
    workers: int = 16
    timeout: float = 10.0
    max_bytes: int = 20 * 1024 * 1024
    attempts: int = 3
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    retry_failed: bool = False
    max_redirects: int = 5
    max_pixels: int = DEFAULT_MAX_PIXELS
    consent: ConsentPolicy = field(default_factory=ConsentPolicy)
    allow_networks: tuple[str, ...] = ()
    name: str = "fetch"
    reads: tuple[str, ...] = ("image_url", "image_path")
    adds: tuple[str, ...] = ("image_path", *ADDED)
    _runtime: Runtime | None = field(default=None, init=False, repr=False)
    _runtime_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _made_dirs: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.images_dir = Path(self.images_dir).absolute()  # stored paths open from any folder
        self.addresses = AddressPolicy(parse_networks(self.allow_networks))
        digest = hashlib.sha256(f"{self.consent.fingerprint()}|{self.addresses.describe()}".encode())
        self.policy_key = digest.hexdigest()[:16]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_runtime": None, "_runtime_lock": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _runtime_lock=threading.Lock())

    def describe(self) -> dict:
        """The consent and address policy, for the manifest."""
        return {**self.consent.describe(), "addresses": self.addresses.describe()}

    @property
    def runtime(self) -> Runtime:
        with self._runtime_lock:
            if self._runtime is None:
                index = FetchIndex(self.images_dir / INDEX_NAME)
                client = PinnedClient(self.addresses, self.timeout, self.workers, self.consent.user_agent,
                                      self.max_redirects)
                consent = Consent(self.consent, client, slots=index,
                                  retry=lambda call: self._retrying()(call))
                self._runtime = Runtime(index, client, consent, ThreadPoolExecutor(self.workers, "fetch"))
            return self._runtime

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
        results = self.fetch_all(urls) + self._inspect_local(locals_)
        table = pl.DataFrame([self._as_row(r) for r in results], schema=RESULT_SCHEMA)
        key = pl.coalesce("_url", "_local").alias("_key")
        batch = (
            batch.drop(*ADDED, strict=False)
            .with_columns(key)
            .join(table.rename({"_url": "_key"}), on="_key", how="left", maintain_order="left")
        )
        batch = batch.with_columns(pl.coalesce("_path", "image_path").alias("image_path"))
        missing = pl.when(pl.col("_key").is_null()).then(pl.lit("no_image"))
        reason = pl.coalesce("_reason", missing)
        batch = reject_where(batch, reason.is_not_null(), reason, pl.col("_detail"))
        return batch.drop("_url", "_local", "_key", "_path", "_reason", "_detail")

    @staticmethod
    def _as_row(result: FetchResult) -> dict:
        return {"_url": result.url, "_path": result.path, "image_sha256": result.sha256,
                "image_bytes": result.size, "width": result.width, "height": result.height,
                "image_format": result.format, "image_animated": result.animated,
                "_reason": result.reason, "_detail": result.detail}

    def fetch_all(self, urls: list[str]) -> list[FetchResult]:
        """Results for `urls`: known ones from the index, the rest downloaded (recorded as they finish)."""
        index = self.runtime.index
        known = index.lookup(urls)
        todo = [u for u in urls if self._needs_fetch(known.get(u))]
        fetched: dict[str, FetchResult] = {}
        pending: list[FetchResult] = []
        for result in self._completed(todo):
            fetched[result.url] = result
            pending.append(result)
            if len(pending) >= RECORD_EVERY:
                index.record(pending)
                pending = []
        if pending:
            index.record(pending)
        by_url = known | fetched
        return [by_url[u] for u in urls]

    def _completed(self, urls: list[str]) -> Iterator[FetchResult]:
        """Results in submission order (waiting on each future in turn costs less than `as_completed`)."""
        futures = [self.runtime.pool.submit(self.fetch_one, url) for url in urls]
        for future in futures:
            yield future.result()

    def _needs_fetch(self, known: FetchResult | None) -> bool:
        if known is None or known.policy != self.policy_key:
            return True
        if known.reason is None:
            return not (known.path and os.path.isfile(known.path))
        return self.retry_failed and known.transient

    def _retrying(self) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(self.attempts),
            reraise=True,
            wait=wait_exponential_jitter(initial=self.backoff_initial, max=self.backoff_max),
            retry=retry_if_exception(
                lambda e: isinstance(e, FetchFailure) and e.transient and e.reason != "robots_unreachable"
            ),
        )

    def fetch_one(self, url: str) -> FetchResult:
        """Download, check and store one URL; a failure or refusal comes back as a result with a reason."""
        try:
            body = self._retrying()(self._download, url)
        except FetchFailure as failure:
            return FetchResult(url, reason=failure.reason, detail=failure.detail, transient=failure.transient,
                               policy=self.policy_key)
        return self._store(with_image(FetchResult(url, policy=self.policy_key), body, self.max_pixels), body)

    def _download(self, url: str) -> bytes:
        runtime = self.runtime
        fetched = runtime.client.get(url, before_hop=runtime.consent.before_request)
        deadline = time.monotonic() + self.timeout  # the body's own; a crawl-delay wait is not counted
        try:
            self._check_response(fetched)
        except FetchFailure:
            fetched.close(drain=False)
            raise
        return fetched.read(self.max_bytes, deadline, self.timeout)

    def _check_response(self, fetched: Fetched) -> None:
        status = fetched.status
        if status in (404, 410):
            raise FetchFailure("http_404", f"HTTP {status}")
        if status >= 300:
            raise FetchFailure("http_error", f"HTTP {status}", transient=status >= 500 or status == 429)
        self.runtime.consent.check_headers(fetched)
        content_type = fetched.header("content-type").split(";")[0].strip().lower()
        if not content_type.startswith("image/"):
            raise FetchFailure("bad_content_type", f"content-type '{content_type or 'missing'}'")
        declared = fetched.response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchFailure("too_large", f"content-length {int(declared):,} over {self.max_bytes:,} bytes")

    def _store(self, result: FetchResult, body: bytes) -> FetchResult:
        """Write a checked image (unless its C2PA assertions refuse it); refusals write nothing."""
        if result.reason is not None:
            return result
        kind = image_kind(body[:16])
        if self.consent.c2pa and (evidence := c2pa_refusal(body, kind)) is not None:
            return FetchResult(result.url, reason="opt_out:c2pa", detail=evidence, policy=self.policy_key)
        path = self.images_dir / result.sha256[:2] / f"{result.sha256}.{kind}"
        if not path.exists():
            if path.parent.name not in self._made_dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made_dirs.add(path.parent.name)
            partial = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.part")  # same bytes, two URLs
            partial.write_bytes(body)
            os.replace(partial, path)
        return FetchResult(**{**result.__dict__, "path": str(path)})

    def _inspect_local(self, paths: list[str]) -> list[FetchResult]:
        return list(self.runtime.pool.map(lambda p: inspect_local_image(p, self.max_pixels), paths))

    def close(self) -> None:
        with self._runtime_lock:
            if self._runtime is not None:
                self._runtime.close()
                self._runtime = None
