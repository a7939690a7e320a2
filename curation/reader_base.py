"""The reader contract: `Reader.batches()` yields polars frames with `row_id`, `source_file` and
`source_row`; `describe`, `listing` and `identity` record and key the input; `shards` cuts it into
parts, one per input shard, and `hash_lines` gives each part's share of the input's hash.
Whole-file problems raise an `InputError` naming the file; a malformed row becomes a row rejected
at stage `read` (`malformed_rows`). The text column follows the rule of
`curation.text_column`; with `max_chars` / `strings_only`, unfit texts are rejected at `read` too."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from curation.errors import InputError
from curation.input_files import InputPath, UrlPath, file_hash_line, files_sha256, is_url, names_sha256
from curation.schema import REJECT_DETAIL, REJECT_REASON, REJECT_STAGE, ROW_ID, SOURCE_FILE, SOURCE_ROW
from curation.text_column import reject_unfit_text, use_text_column

BATCH_TEXT_BYTES = 1 << 20  # bytes of text per batch of a forms folder or JSONL file, at most (about)


def malformed_rows(rows: list[dict], source: InputPath, reason: str) -> pl.DataFrame:
    """Rows (`source_row`, `reject_detail`) that could not be parsed, as rejected at stage `read`."""
    return pl.DataFrame(rows, schema={SOURCE_ROW: pl.Int64, REJECT_DETAIL: pl.Utf8}).with_columns(
        pl.concat_str(pl.lit(source.name), pl.lit(":"), pl.col(SOURCE_ROW)).alias(ROW_ID),
        pl.lit(None, dtype=pl.Utf8).alias("text"), pl.lit(str(source)).alias(SOURCE_FILE),
        pl.lit(reason).alias(REJECT_REASON), pl.lit("read").alias(REJECT_STAGE))


def hash_key(hash_content: bool) -> str:
    """The manifest key of an input's hash: `sha256` (contents) or `listing_sha256` (sizes, versions)."""
    return "sha256" if hash_content else "listing_sha256"


@dataclass
class Reader:
    """Base: `batches()` yields frames; `describe()` records the input for the manifest.

    `text_column`: the input column that becomes `text` (None: the input has no text);
    `max_chars`: longer texts are rejected `too_long`; `strings_only`: missing and non-string
    texts are rejected (`missing_text`, `not_a_string`), all at stage `read`."""

    path: InputPath
    batch_size: int = 2_000
    text_column: str | None = "text"
    max_chars: int | None = None
    strings_only: bool = False
    kind: str = field(default="", init=False)
    patterns: tuple[str, ...] = field(default=(), init=False, repr=False)
    root: InputPath | None = field(default=None, init=False, repr=False, compare=False)  # a part's input

    def __post_init__(self) -> None:
        self.path = UrlPath(str(self.path)) if is_url(self.path) else Path(self.path)
        if not self.path.exists():
            raise InputError("no such file or folder", path=str(self.path))

    def files(self) -> list[InputPath]:
        """The input's files: the file itself, or for a URL the files of its folder or glob."""
        return self.path.files(self.patterns) if isinstance(self.path, UrlPath) else [self.path]

    def shards(self, shard_rows: int) -> list[Reader]:
        """Readers of consecutive, disjoint parts of this input which together yield exactly its rows,
        numbered as here, one per input shard (`curation.shards.plan_shards`). Here: one part per file
        when the input has several, else the whole input; readers that can cut finer override it."""
        files = self.files()
        return [self.restricted_to(file) for file in files] if len(files) > 1 else [self]

    def restricted_to(self, file: InputPath) -> Reader:
        """This reader over one of its files (a part of the input rooted at `root`)."""
        part = copy.copy(self)
        part.root, part.path = self.root or self.path, file
        return part

    @property
    def hashes_content(self) -> bool:
        """Whether the input's hash covers file contents (local files), or only each file's size and
        version (URLs: remote files are not downloaded a second time to hash them)."""
        return not is_url(self.root or self.path)

    def hashed_files(self) -> list[InputPath]:
        """The files this part accounts for in the input's hash: its files, except a file it starts
        inside of (that file belongs to the part holding its beginning)."""
        return self.files()

    def hash_lines(self) -> list[str] | None:
        """This part's lines of the input's hash (`name:sha256` per file); joined in shard order they
        hash to the `sha256` of `describe()`, whatever the sharding. None: the input has no files."""
        root = self.root or self.path
        return [file_hash_line(root, file, self.hashes_content) for file in self.hashed_files()]

    def describe(self, hash_content: bool = True) -> dict:
        """Path, kind, file count and a SHA-256 over every file's name and content; with
        `hash_content=False`, over names, sizes and modification times instead (`listing_sha256`,
        a quick identity for resuming)."""
        files = self.files()
        return {"path": str(self.path), "kind": self.kind, "files": len(files),
                hash_key(hash_content): files_sha256(self.path, files, hash_content)}

    def listing(self) -> dict:
        """Path, kind, file count and a SHA-256 over the file names only: cheap enough to key a run
        (each shard's files are checked by `identity` when a run is resumed)."""
        files = self.files()
        return {"path": str(self.path), "kind": self.kind, "files": len(files),
                "names_sha256": names_sha256(self.path, files)}

    def identity(self, files: Sequence[InputPath | str] | None = None) -> str | None:
        """Names, sizes and modification times of `files` (default: all of this input's)."""
        return files_sha256(self.path, files or self.files(), hash_content=False)

    def total_rows(self) -> int | None:
        return None

    def columns(self) -> list[str]:
        """The columns of the rows this reader yields (those of its first batch)."""
        first = next(iter(self.batches()), None)
        return first.columns if first is not None else []

    def batches(self) -> Iterator[pl.DataFrame]:
        for path in self.files():
            yield from self._file_batches(path)

    def _file_batches(self, path: InputPath) -> Iterator[pl.DataFrame]:
        """The batches of one of this input's files."""
        raise NotImplementedError

    def _finish(self, frame: pl.DataFrame, source: InputPath, first_row: int) -> pl.DataFrame:
        """Take the text column (`curation.text_column`), add provenance, and reject unfit texts."""
        if self.text_column is not None:
            frame = use_text_column(frame, self.text_column, path=str(source))
        frame = frame.with_columns(pl.lit(str(source)).alias(SOURCE_FILE))
        if SOURCE_ROW not in frame.columns:
            frame = frame.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + first_row).alias(SOURCE_ROW))
        if ROW_ID not in frame.columns:
            frame = frame.with_columns(
                pl.concat_str(pl.lit(source.name), pl.lit(":"), pl.col(SOURCE_ROW)).alias(ROW_ID))
        frame = frame.with_columns(pl.col(ROW_ID).cast(pl.Utf8))
        return self._reject_unfit(frame)

    def _reject_unfit(self, frame: pl.DataFrame) -> pl.DataFrame:
        if self.text_column is None or not (self.strings_only or self.max_chars is not None):
            return frame
        return reject_unfit_text(frame, max_chars=self.max_chars, strings_only=self.strings_only,
                                 column=self.text_column)
