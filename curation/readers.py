"""Readers of CSV, JSONL, Parquet and Hugging Face datasets (the Kaggle forms layout is in
`curation.kaggle_forms`, the `Reader` contract in `curation.reader_base`), and `open_reader`, which
picks one from a path. Parquet, JSONL and CSV may also be fsspec URLs (`s3://bucket/dir/*.parquet`,
`hf://datasets/...`): a file, a folder of shards or a glob (see `curation.input_files`)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from curation.errors import InputError
from curation.input_files import InputPath, UrlPath, file_size, is_url, open_binary, open_lines
from curation.kaggle_forms import KaggleFormsReader
from curation.reader_base import BATCH_TEXT_BYTES, Reader, malformed_rows
from curation.schema import REJECT_DETAIL, REJECT_REASON, REJECT_STAGE, SOURCE_ROW
from curation.text_column import NOT_A_STRING, TOO_LONG, as_json_text

FORMAT_OF_SUFFIX = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
                    ".parquet": "parquet"}
KNOWN_SUFFIXES = ", ".join(FORMAT_OF_SUFFIX)


class ParquetReader(Reader):
    """Parquet files (a file, a folder of them, or a URL); its shards are runs of consecutive row
    groups of one file (`row_groups`), numbered as in the whole file."""

    kind = "parquet"
    patterns = ("**/*.parquet",)
    row_groups: tuple[int, ...] | None = None  # set on a shard: only these row groups of its one file

    def files(self) -> list[InputPath]:
        if isinstance(self.path, UrlPath):
            return super().files()
        if self.path.is_dir():
            files = sorted(self.path.glob("**/*.parquet"))
            if not files:
                raise InputError("no .parquet files in this folder", path=str(self.path))
            return files
        return [self.path]

    def _open(self, path: InputPath) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(path.open("rb") if isinstance(path, UrlPath) else path)
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(f"not a readable Parquet file ({str(error).splitlines()[0]})",
                             path=str(path)) from None

    def total_rows(self) -> int:
        return sum(self._open(f).metadata.num_rows for f in self.files())

    def shards(self, shard_rows: int) -> list[Reader]:
        """Consecutive row groups of each file, about `shard_rows` rows per shard."""
        parts: list[Reader] = []
        for path in self.files():
            metadata = self._open(path).metadata
            if metadata.num_row_groups == 0:
                parts.append(self.restricted_to(path))
            groups: list[int] = []
            rows = 0
            for index in range(metadata.num_row_groups):
                groups.append(index)
                rows += metadata.row_group(index).num_rows
                if rows >= shard_rows or index == metadata.num_row_groups - 1:
                    part = self.restricted_to(path)
                    part.row_groups = tuple(groups)
                    parts.append(part)
                    groups, rows = [], 0
        return parts or [self]

    def hashed_files(self) -> list[InputPath]:
        return [] if self.row_groups and self.row_groups[0] > 0 else self.files()

    def _file_batches(self, path: InputPath) -> Iterator[pl.DataFrame]:
        parquet, groups = self._open(path), self.row_groups
        offset = sum(parquet.metadata.row_group(i).num_rows for i in range(groups[0])) if groups else 0
        try:
            for record_batch in parquet.iter_batches(batch_size=self.batch_size, row_groups=groups):
                frame = pl.from_arrow(record_batch)
                yield self._finish(frame, path, offset)
                offset += frame.height
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(f"truncated or corrupt Parquet after row {offset} "
                             f"({str(error).splitlines()[0]})", path=str(path), row=offset) from None


CSV_BLOCK_BYTES = 1 << 22  # pyarrow parses a CSV in blocks of this size; a longer row may not parse


class CsvReader(Reader):
    """Streams a CSV with pyarrow; text columns are read as bytes so that a row with invalid
    UTF-8 is rejected on its own, and rows with the wrong number of fields are rejected too."""

    kind = "csv"
    patterns = ("*.csv",)

    def _file_batches(self, path: InputPath) -> Iterator[pl.DataFrame]:
        if file_size(path) == 0:
            raise InputError("empty file", path=str(path))
        header = self._header(path)
        bad_rows: list[dict] = []

        def on_invalid_row(row: pacsv.InvalidRow) -> str:
            # pyarrow cannot number lines when values may hold newlines; the raw row is kept instead
            bad_rows.append({SOURCE_ROW: row.number - 2 if row.number is not None else None,
                             REJECT_DETAIL: f"expected {len(header)} fields, got {row.actual_columns}: "
                                            f"{row.text[:300]}"})
            return "skip"

        reader = pacsv.open_csv(
            path.open("rb") if isinstance(path, UrlPath) else path,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid_row, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.binary() for c in header}))
        offset = 0
        try:
            for record_batch in reader:
                frame = self._decode(record_batch)
                yield self._finish(frame, path, offset)
                offset += frame.height
        except pa.ArrowInvalid as error:
            raise InputError(f"cannot parse the CSV after row {offset} ({str(error).splitlines()[0]}); rows "
                             f"over {CSV_BLOCK_BYTES >> 20} MiB may not be read from CSV", path=str(path),
                             row=offset) from None
        if bad_rows:
            yield malformed_rows(bad_rows, path, "malformed_row")

    def _header(self, path: InputPath | None = None) -> list[str]:
        path = path or self.files()[0]
        with open_binary(path) as handle:
            first = handle.readline()
        try:
            return next(csv.reader([first.decode("utf-8-sig")]))
        except (UnicodeDecodeError, StopIteration, csv.Error):
            raise InputError("cannot read the CSV header", path=str(path), row=0) from None

    @staticmethod
    def _decode(batch: pa.RecordBatch) -> pl.DataFrame:
        """Bytes -> text; a row with invalid UTF-8 in any field is marked `undecodable_bytes`."""
        columns, broken = {}, np.zeros(batch.num_rows, dtype=bool)
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            try:
                columns[name] = column.cast(pa.string())
            except pa.ArrowInvalid:
                values = [decode_or_none(v) for v in column.to_pylist()]
                broken |= np.array([v is BROKEN for v in values])
                columns[name] = pa.array([None if v is BROKEN else v for v in values], pa.string())
        frame = pl.from_arrow(pa.table(columns))
        reason = pl.when(pl.Series(broken))
        return frame.with_columns(
            reason.then(pl.lit("undecodable_bytes")).otherwise(None).alias(REJECT_REASON),
            reason.then(pl.lit("read")).otherwise(None).alias(REJECT_STAGE),
            reason.then(pl.lit("invalid UTF-8 in this row")).otherwise(None).alias(REJECT_DETAIL))


BROKEN = object()


def decode_or_none(value: bytes | None) -> str | None | object:
    try:
        return None if value is None else value.decode("utf-8")
    except UnicodeDecodeError:
        return BROKEN


LINE_HEAD = 300  # bytes of a rejected line kept in its reject_detail


def line_byte_limit(max_chars: int | None) -> int | None:
    """The longest JSONL line parsed under `max_chars`: no text of that many characters takes more
    than 12 bytes each (a \\uXXXX surrogate pair), plus 64 KiB for the other fields."""
    return None if max_chars is None else 12 * max_chars + (1 << 16)


def bounded_lines(handle: IO[bytes], limit: int | None) -> Iterator[tuple[bytes, int, bool]]:
    """(line, its length in bytes, whole) for each line; a line over `limit` bytes is read on in
    1 MiB pieces and only its first `LINE_HEAD` bytes are returned (whole=False)."""
    while line := handle.readline(-1 if limit is None else limit + 1):
        length = len(line)
        if limit is None or length <= limit or line.endswith(b"\n"):
            yield line, length, True
            continue
        head = line[:LINE_HEAD]
        while not line.endswith(b"\n") and (piece := handle.readline(1 << 20)):
            length, line = length + len(piece), piece
        yield head, length, False


class JsonlReader(Reader):
    """JSON Lines; a line that is not a JSON object is a rejected row with the raw line kept, and a
    line too long for `max_chars` (see `line_byte_limit`) is rejected `too_long` unparsed."""

    kind = "jsonl"
    patterns = ("*.jsonl", "*.ndjson", "*.json")

    def _file_batches(self, path: InputPath) -> Iterator[pl.DataFrame]:
        if file_size(path) == 0:
            raise InputError("empty file", path=str(path))
        rows, size = [], 0
        with open_lines(path) as handle:
            lines = bounded_lines(handle, line_byte_limit(self.max_chars))
            for number, (line, length, whole) in enumerate(lines):
                if whole and not line.strip():
                    continue
                rows.append((number, line, length, whole))
                size += len(line)
                if len(rows) >= self.batch_size or size >= BATCH_TEXT_BYTES:
                    yield self._parse(rows, path)
                    rows, size = [], 0
        if rows:
            yield self._parse(rows, path)

    def _parse(self, rows: list[tuple[int, bytes, int, bool]], path: InputPath) -> pl.DataFrame:
        good, bad, long = [], [], []
        for number, line, length, whole in rows:
            if not whole:
                long.append({SOURCE_ROW: number, REJECT_DETAIL: self._too_long(length, line)})
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
                good.append(self._checked({**record, SOURCE_ROW: number}))
            except (ValueError, UnicodeDecodeError) as error:
                bad.append({SOURCE_ROW: number, REJECT_DETAIL: f"{error}: {line[:LINE_HEAD]!r}"})
        frames = [self._finish(self._frame(good, path), path, 0)] if good else []
        frames += [malformed_rows(rejects, path, reason)
                   for rejects, reason in ((bad, "malformed_json"), (long, TOO_LONG)) if rejects]
        return pl.concat(frames, how="diagonal_relaxed")

    def _too_long(self, length: int, head: bytes) -> str:
        return (f"a line of {length:,} bytes, over the {line_byte_limit(self.max_chars):,} that --max-chars "
                f"{self.max_chars:,} allows, not parsed: {head!r}...")

    def _checked(self, record: dict) -> dict:
        """With `strings_only`, a record whose text is not a string keeps it as JSON text, rejected
        `not_a_string` (polars would otherwise turn a number among strings into a string silently)."""
        value = record.get(self.text_column) if self.text_column else None
        if not self.strings_only or value is None or isinstance(value, str):
            return record
        return {**record, self.text_column: as_json_text(value), REJECT_REASON: NOT_A_STRING,
                REJECT_DETAIL: f"'{self.text_column}' holds a JSON {type(value).__name__}, not a string"}

    @staticmethod
    def _frame(records: list[dict], path: InputPath) -> pl.DataFrame:
        try:
            return pl.DataFrame(records, infer_schema_length=None)
        except pl.exceptions.PolarsError as error:
            raise InputError(f"rows {records[0][SOURCE_ROW]}-{records[-1][SOURCE_ROW]} disagree on the type "
                             f"of a field ({str(error).splitlines()[0]})", path=str(path)) from None


class HuggingFaceReader(Reader):
    """A Hugging Face dataset, streamed: a local folder (Parquet/JSON/CSV files, or a dataset
    written by `save_to_disk`) or a Hub id such as `org/name` (`--split`, `--revision`)."""

    kind = "huggingface"

    def __init__(self, path: str | Path, batch_size: int = 2_000, text_column: str | None = "text",
                 split: str = "train", revision: str | None = None, *, max_chars: int | None = None,
                 strings_only: bool = False) -> None:
        self.path, self.batch_size, self.text_column = Path(path), batch_size, text_column
        self.name, self.split, self.revision = str(path), split, revision
        self.max_chars, self.strings_only = max_chars, strings_only

    def describe(self, hash_content: bool = True) -> dict:
        return {"path": self.name, "kind": self.kind, "split": self.split, "revision": self.revision}

    def listing(self) -> dict:
        return self.describe()

    def hash_lines(self) -> list[str] | None:
        return None

    def identity(self, files: Sequence[InputPath | str] | None = None) -> str | None:
        return None

    def batches(self) -> Iterator[pl.DataFrame]:
        import datasets

        if (self.path / "dataset_info.json").exists():
            stream = datasets.load_from_disk(str(self.path)).to_iterable_dataset()
        else:
            stream = datasets.load_dataset(self.name, split=self.split, revision=self.revision,
                                           streaming=True)
        offset = 0
        for batch in stream.iter(batch_size=self.batch_size):
            frame = pl.DataFrame(batch)
            yield self._finish(frame, Path(self.name), offset)
            offset += frame.height


def open_reader(path: str | Path, *, text_column: str | None = "text", batch_size: int = 2_000,
                fmt: str | None = None, max_chars: int | None = None, strings_only: bool = False) -> Reader:
    """Pick a reader from the path: a forms folder, .csv, .jsonl/.ndjson, .parquet (file or
    folder), a Hugging Face dataset (`hf:` prefix, a Hub id, or a `save_to_disk` folder), or an
    fsspec URL of Parquet, JSONL or CSV (`s3://bucket/dir/*.parquet`, `hf://datasets/org/name/...`).
    `text_column`, `max_chars` and `strings_only` are the `Reader` fields of that name."""
    text = str(path)
    options = dict(text_column=text_column, batch_size=batch_size, max_chars=max_chars,
                   strings_only=strings_only)
    if fmt == "huggingface" or (text.startswith("hf:") and not is_url(text)):
        return HuggingFaceReader(text.removeprefix("hf:"), **options)
    if is_url(text):
        return open_url_reader(UrlPath(text), fmt=fmt, **options)
    local = Path(text)
    if not local.exists():
        if fmt is None and re.fullmatch(r"[\w.-]+/[\w.-]+", text):
            return HuggingFaceReader(text, **options)
        raise InputError("no such file or folder", path=text)
    suffix = local.suffix.lower()
    chosen = fmt or FORMAT_OF_SUFFIX.get(suffix)
    if chosen is None and local.is_dir():
        if (local / "dataset_info.json").exists():
            return HuggingFaceReader(local, **options)
        chosen = "parquet" if any(local.glob("**/*.parquet")) else "kaggle-forms"
    readers = {"csv": CsvReader, "jsonl": JsonlReader, "parquet": ParquetReader,
               "kaggle-forms": KaggleFormsReader}
    if chosen not in readers:
        raise InputError(f"cannot tell the format of '{suffix}' files: {KNOWN_SUFFIXES} are read "
                         "(or a folder of them, or the Kaggle forms folder)", path=text)
    return readers[chosen](local, **options)


def open_url_reader(url: UrlPath, *, fmt: str | None = None, **options: object) -> Reader:
    """A Parquet, JSONL or CSV reader of a URL's file, folder of shards or glob (`options`: the
    `Reader` fields)."""
    if not url.exists():
        raise InputError("no files match this pattern" if url.is_glob else "no such file or folder",
                         path=str(url))
    readers: dict[str, type[Reader]] = {"parquet": ParquetReader, "jsonl": JsonlReader, "csv": CsvReader}
    chosen = fmt or FORMAT_OF_SUFFIX.get(url.suffix.lower())
    if chosen is None and url.is_dir():
        chosen = next((name for name, reader in readers.items()
                       if any(url.glob(pattern) for pattern in reader.patterns)), None)
    if chosen not in readers:
        raise InputError(f"cannot tell the format of '{url.suffix}' files at a URL: {KNOWN_SUFFIXES} "
                         "are read", path=str(url))
    return readers[chosen](url, **options)
