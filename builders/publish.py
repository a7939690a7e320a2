"""Publish a local Hub layout (`BUILD/<revision>/README.md`, `data/*.parquet`) as branches of a Hub dataset.

Each revision becomes one commit on its branch (`main` is the default branch); files the revision no longer
has are deleted in the same commit, and unchanged files are not sent again, so a re-run after an
interruption finishes the missing revisions and leaves the finished ones untouched (no empty commits).
The token comes from `token` or the usual Hugging Face sources (HF_TOKEN, the saved login) and is never
printed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx2
import pyarrow.parquet as pq
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from tenacity import RetryCallState, retry, retry_if_exception, stop_after_attempt, wait_exponential

from curation.errors import CurationError

REVISION_ORDER = ("main", "large", "aligned_5", "aligned_s")
TRANSIENT_STATUSES = {408, 429, 500, 502, 503, 504}
MAX_WAIT_S = 120.0
T = TypeVar("T")


class PublishError(CurationError):
    """The build folder cannot be published, or the Hub refused or could not be reached."""


@dataclass(frozen=True)
class PublishedRevision:
    revision: str
    commit: str
    changed: bool
    files: int
    rows: int
    size: int


def find_revisions(build_dir: Path) -> list[str]:
    """Subfolders of `build_dir` holding a README.md: the known revisions in order, then others by name."""
    names = {p.parent.name for p in Path(build_dir).glob("*/README.md")}
    return [r for r in REVISION_ORDER if r in names] + sorted(names - set(REVISION_ORDER))


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, HfHubHTTPError):
        return error.response is not None and error.response.status_code in TRANSIENT_STATUSES
    return isinstance(error, httpx2.TransportError) and not isinstance(error, httpx2.ConnectError)


def _wait(state: RetryCallState) -> float:
    """The server's `Retry-After` (seconds) when it sent one, else exponential backoff from 1 s to 60 s."""
    error = state.outcome.exception() if state.outcome else None
    response = getattr(error, "response", None)
    retry_after = response.headers.get("Retry-After") if response is not None else None
    try:
        return min(float(retry_after), MAX_WAIT_S)
    except (TypeError, ValueError):
        return wait_exponential(multiplier=1, min=1, max=MAX_WAIT_S)(state)


def _retrying(call: Callable[..., T]) -> Callable[..., T]:
    """`call` retried on rate limits, server errors and dropped connections (not on an unreachable server)."""
    return retry(retry=retry_if_exception(_is_transient), stop=stop_after_attempt(6), wait=_wait,
                 reraise=True)(call)


@contextlib.contextmanager
def _hub_errors(endpoint: str, repo_id: str, revision: str | None = None) -> Iterator[None]:
    where = f"{repo_id}@{revision}" if revision else repo_id
    try:
        yield
    except httpx2.ConnectError as error:
        raise PublishError(f"cannot reach the Hub at {endpoint}: {error}") from None
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        raise PublishError(f"the Hub refused {where} (HTTP {status}): {str(error).splitlines()[0]}") from None
    except ValueError as error:  # what huggingface_hub raises for README metadata the Hub rejects
        raise PublishError(f"{where}: {' '.join(str(error).split())}") from None


def _local_summary(folder: Path) -> tuple[int, int, int]:
    """Files, parquet rows and bytes of one local revision."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in files if p.suffix == ".parquet")
    return len(files), rows, sum(p.stat().st_size for p in files)


def publish_revision(api: HfApi, folder: Path, repo_id: str, revision: str) -> PublishedRevision:
    """Make `revision`'s branch hold exactly the files of `folder`, in at most one new commit."""
    with _hub_errors(api.endpoint, repo_id, revision):
        if revision != "main":
            _retrying(api.create_branch)(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
        before = _retrying(api.dataset_info)(repo_id, revision=revision).sha
        commit = _retrying(api.upload_folder)(
            repo_id=repo_id, repo_type="dataset", folder_path=folder, revision=revision,
            commit_message=f"Publish the {revision} revision", delete_patterns="*")
    return PublishedRevision(revision, commit.oid, commit.oid != before, *_local_summary(folder))


def summary_table(repo_id: str, published: list[PublishedRevision]) -> Table:
    table = Table(title=f"Published {repo_id}")
    for column in ("revision", "commit", "status", "files", "rows", "MB"):
        table.add_column(column, justify="left" if column in ("revision", "status") else "right")
    for p in published:
        table.add_row(p.revision, p.commit[:10], "committed" if p.changed else "unchanged (no commit)",
                      str(p.files), f"{p.rows:,}", f"{p.size / 1e6:.2f}")
    return table


@contextlib.contextmanager
def hub_progress_bars(shown: bool) -> Iterator[None]:
    """huggingface_hub's own upload bars, off while `shown` is false (as they were afterwards)."""
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    turn_off = not shown and not are_progress_bars_disabled()
    if turn_off:
        disable_progress_bars()
    try:
        yield
    finally:
        if turn_off:
            enable_progress_bars()


def publish_revisions(build_dir: Path, repo_id: str, *, token: str | None = None, endpoint: str | None = None,
                      private: bool = False, progress: bool = True) -> dict[str, str]:
    """Publish each `build_dir/<revision>/` as a branch of dataset `repo_id`; returns revision -> commit."""
    build_dir = Path(build_dir)
    revisions = find_revisions(build_dir)
    if not revisions:
        raise PublishError(f"{build_dir}: no revisions to publish (expected <revision>/README.md folders)")
    api = HfApi(endpoint=endpoint, token=token, library_name="aesthetic-curation")
    console = Console(stderr=True, quiet=not progress)
    with _hub_errors(api.endpoint, repo_id):
        _retrying(api.create_repo)(repo_id, repo_type="dataset", private=private, exist_ok=True)
    published = []
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not progress) as bar, hub_progress_bars(progress):
        task = bar.add_task(f"Publishing {repo_id}", total=len(revisions))
        for revision in revisions:
            bar.update(task, description=f"Publishing {repo_id}@{revision}")
            result = publish_revision(api, build_dir / revision, repo_id, revision)
            bar.console.print(f"{revision}: {'commit' if result.changed else 'unchanged, no commit'} "
                              f"{result.commit[:10]} ({result.files} files, {result.rows:,} rows)")
            published.append(result)
            bar.advance(task)
    console.print(summary_table(repo_id, published))
    return {p.revision: p.commit for p in published}
