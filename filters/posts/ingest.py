"""Read posts (JSONL/JSON, CSV, Parquet; flat rows or X API v2 pages) into the post schema.

One output row per image. A post without images, without an id, or with an id stored as a float, is
kept as a row rejected at stage `read` with its reason (repeated posts are the `duplicates` stage's
work: `filters.posts.duplicates`). The text is the first of `text`, `full_text`, `content` that a
post has, else null (table readers run with `text_column=None`: no column stands in for it). Local
`image_path` values are stored absolute (relative ones are read from the working directory), so
every later reader finds them from any folder. An X API v2 page is a JSON object with `data[]`
(posts with `public_metrics` and `attachments.media_keys`) and `includes` (`media[]` with
`media_key`, `type`, `url`/`preview_image_url`; `users[]` with `id`, `username`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from curation.errors import InputError
from curation.input_files import InputPath, file_size, open_binary
from curation.readers import CsvReader, ParquetReader, Reader
from curation.schema import REJECT_DETAIL, REJECT_REASON, ROW_ID, SOURCE_FILE, SOURCE_ROW
from filters.posts.schema import POST_COLUMNS, conform

ID_FIELDS = ("post_id", "id", "tweet_id", "id_str")
AUTHOR_FIELDS = ("author", "username", "screen_name", "author_id")
TEXT_FIELDS = ("text", "full_text", "content")
COUNT_FIELDS = {
    "like_count": ("like_count", "favorite_count", "likes"),
    "retweet_count": ("retweet_count", "retweets"),
    "reply_count": ("reply_count", "replies"),
}
URL_FIELDS = ("image_urls", "image_url", "media_urls", "images")
PATH_FIELDS = ("image_paths", "image_path")
LIST_SEPARATOR = re.compile(r"[\s|,]+")


def first_present(record: dict, names: Iterable[str]) -> Any:
    for name in names:
        if record.get(name) not in (None, ""):
            return record[name]
    return None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def post_id_of(record: dict) -> tuple[str | None, str | None]:
    """(id as text, problem): floats are refused, since 19-digit ids do not survive them."""
    value = first_present(record, ID_FIELDS)
    if value is None:
        return None, "missing_post_id"
    if isinstance(value, float):
        return None, "float_post_id"
    text = str(value).strip()
    return (text, None) if re.fullmatch(r"\d+|[\w-]+", text) else (None, "bad_post_id")


def as_list(value: Any) -> list:
    """A list, a JSON array in a string, or a string of URLs separated by spaces, `|` or commas."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    text = str(value).strip()
    if text.startswith("["):
        try:
            return list(json.loads(text))
        except ValueError:
            pass
    return [v for v in LIST_SEPARATOR.split(text) if v]


def media_of(record: dict, media_index: dict[str, dict]) -> list[dict]:
    """The images of a post, as {`image_url` or `image_path`, `media_type`} in post order."""
    found: list[dict] = []
    for key in as_list((record.get("attachments") or {}).get("media_keys")):
        media = media_index.get(str(key), {})
        url = media.get("url") or media.get("preview_image_url")
        found.append({"image_url": url, "media_type": media.get("type"), "media_key": str(key)})
    entities = record.get("extended_entities") or record.get("entities") or {}
    for media in entities.get("media") or record.get("media") or []:
        if isinstance(media, dict):
            url = media.get("url") or media.get("media_url_https") or media.get("preview_image_url")
            found.append({"image_url": url, "media_type": media.get("type")})
        else:
            found.append({"image_url": str(media), "media_type": None})
    for field in URL_FIELDS:
        found += [{"image_url": str(u), "media_type": None} for u in as_list(record.get(field))]
    for field in PATH_FIELDS:
        paths = as_list(record.get(field))
        found += [{"image_path": absolute_path(str(p)), "media_type": None} for p in paths]
    return found


def absolute_path(path: str) -> str:
    """A local path made absolute against the working directory; a URL (`s3://...`) as it is."""
    return path if "://" in path else os.path.abspath(os.path.expanduser(path))


def image_rows(
    record: dict,
    *,
    source: InputPath,
    source_row: int,
    media_index: dict[str, dict] | None = None,
    users: dict[str, str] | None = None,
) -> list[dict]:
    """Flatten one post (flat or API v2 shape) into rows of the post schema, one per image."""
    metrics = {**(record.get("public_metrics") or {}), **record}
    post_id, problem = post_id_of(record)
    author = first_present(record, AUTHOR_FIELDS)
    if isinstance(record.get("user"), dict):
        author = author or record["user"].get("screen_name") or record["user"].get("username")
    author = (users or {}).get(str(author), author)
    base = {
        "post_id": post_id,
        "author": None if author is None else str(author),
        "text": first_present(record, TEXT_FIELDS),
        "created_at": record.get("created_at"),
        SOURCE_FILE: str(source),
        SOURCE_ROW: source_row,
        **{column: as_int(first_present(metrics, names)) for column, names in COUNT_FIELDS.items()},
    }
    if base["created_at"] is not None:
        base["created_at"] = str(base["created_at"])
    media = media_of(record, media_index or {})
    if problem or not media:
        return [
            {
                **base,
                ROW_ID: f"{post_id or source.name}:{source_row}",
                REJECT_REASON: problem or "no_image",
                REJECT_DETAIL: None if problem is None else f"id field: {first_present(record, ID_FIELDS)!r}",
            }
        ]
    return [
        {**base, **item, ROW_ID: f"{post_id}/{index}", "image_index": index}
        for index, item in enumerate(media)
    ]


def page_rows(page: dict, source: InputPath, source_row: int) -> list[dict]:
    """Rows of an X API v2 response page (`data` + `includes`)."""
    includes = page.get("includes") or {}
    media_index = {str(m.get("media_key")): m for m in includes.get("media") or [] if isinstance(m, dict)}
    users = {str(u.get("id")): u.get("username") for u in includes.get("users") or [] if isinstance(u, dict)}
    rows = []
    for record in page.get("data") or []:
        rows += image_rows(record, source=source, source_row=source_row, media_index=media_index, users=users)
    return rows


def record_rows(record: Any, source: InputPath, source_row: int) -> list[dict]:
    if isinstance(record, dict) and isinstance(record.get("data"), list):
        return page_rows(record, source, source_row)
    if isinstance(record, dict):
        return image_rows(record, source=source, source_row=source_row)
    return [
        {
            ROW_ID: f"{source.name}:{source_row}",
            SOURCE_FILE: str(source),
            SOURCE_ROW: source_row,
            REJECT_REASON: "malformed_json",
            REJECT_DETAIL: f"not a JSON object: {str(record)[:200]}",
        }
    ]


@dataclass(frozen=True)
class LineRange:
    """The lines of a file from byte `start` (line number `first_line`) up to byte `end`."""

    start: int
    end: int
    first_line: int


def line_ranges(path: InputPath, lines: int) -> list[LineRange]:
    """Consecutive runs of `lines` lines of a file (one empty range for an empty file)."""
    starts, offset = [], 0
    with open_binary(path) as handle:
        for number, line in enumerate(handle):
            if number % lines == 0:
                starts.append((offset, number))
            offset += len(line)
    starts = starts or [(0, 0)]
    ends = [start for start, _ in starts[1:]] + [offset]
    return [LineRange(start, end, first) for (start, first), end in zip(starts, ends, strict=True)]


class PostReader(Reader):
    """Stream posts from a .jsonl/.json/.csv/.parquet file (or Parquet folder), local or at an fsspec
    URL, as post-schema batches. `shards` cuts it into parts for input shards: runs of lines of each
    JSONL file, runs of row groups of each Parquet file, each CSV or JSON file whole."""

    kind = "posts"

    def __init__(self, path: str | InputPath, batch_size: int = 256) -> None:
        super().__init__(path, batch_size=batch_size)
        self.format = self._format()
        self.kind = f"posts-{self.format}"
        self.patterns = {"jsonl": ("*.jsonl", "*.ndjson"), "json": ("*.json",), "csv": ("*.csv",)}.get(
            self.format, ())
        self.lines: LineRange | None = None
        self.row_groups: tuple[int, ...] | None = None
        self.rows_read: int | None = None

    def _format(self) -> str:
        if self.path.is_dir():
            return "parquet"
        suffix = self.path.suffix.lower()
        formats = {
            ".jsonl": "jsonl",
            ".ndjson": "jsonl",
            ".json": "json",
            ".csv": "csv",
            ".parquet": "parquet",
        }
        if suffix not in formats:
            raise InputError(
                f"cannot read posts from '{suffix}' files (use .jsonl, .json, .csv or .parquet)",
                path=str(self.path),
            )
        return formats[suffix]

    def files(self) -> list[InputPath]:
        return ParquetReader(self.path).files() if self.format == "parquet" else super().files()

    def shards(self, shard_rows: int) -> list[Reader]:
        """Parts of about `shard_rows` lines (JSONL) or rows (Parquet row groups); else one per file."""
        if self.format == "parquet":
            return [self._part(part.path, row_groups=part.row_groups)
                    for part in ParquetReader(self.path).shards(shard_rows)]
        if self.format == "jsonl":
            return [self._part(f, lines=r) for f in self.files() for r in line_ranges(f, shard_rows)]
        return super().shards(shard_rows)

    def hashed_files(self) -> list[InputPath]:
        """A part that starts inside a file (later lines or row groups) leaves it to the first part."""
        inside = bool((self.lines and self.lines.start) or (self.row_groups and self.row_groups[0]))
        return [] if inside else self.files()

    def _part(self, file: InputPath, **restriction: Any) -> PostReader:
        part = self.restricted_to(file)
        vars(part).update(restriction)
        return part

    def restricted_to(self, file: InputPath) -> PostReader:
        part = super().restricted_to(file)
        part.rows_read = None
        return part

    def total_rows(self) -> int | None:
        """Image rows in the input, known once a full pass has read them (`DuplicatePosts.scan`
        makes one before any image is fetched); None before that, rather than a second pass."""
        return self.rows_read

    def batches(self) -> Iterator[pl.DataFrame]:
        rows: list[dict] = []
        count = 0
        for chunk in self._row_chunks():
            rows += chunk
            if len(rows) >= self.batch_size:
                count += len(rows)
                yield self._frame(rows)
                rows = []
        if rows:
            count += len(rows)
            yield self._frame(rows)
        self.rows_read = count

    def _row_chunks(self) -> Iterator[list[dict]]:
        for file in self.files():
            if self.format in ("json", "jsonl") and file_size(file) == 0:
                raise InputError("empty file", path=str(file))
            if self.format == "json":
                yield from self._document_chunks(file)
            elif self.format == "jsonl":
                yield from self._line_chunks(file)
            else:
                yield from self._table_chunks(file)

    def _document_chunks(self, file: InputPath) -> Iterator[list[dict]]:
        try:
            with open_binary(file) as handle:
                document = json.loads(handle.read())
        except ValueError as error:
            raise InputError(f"not valid JSON ({error})", path=str(file)) from None
        records = document if isinstance(document, list) else [document]
        for number, record in enumerate(records):
            yield record_rows(record, file, number)

    def _lines(self, file: InputPath) -> Iterator[tuple[int, bytes]]:
        """(line number, line) of this part's lines of `file` (all of them when not split)."""
        lines = self.lines or LineRange(0, -1, 0)
        with open_binary(file) as handle:
            handle.seek(lines.start)
            offset = lines.start
            for number, line in enumerate(handle, start=lines.first_line):
                if offset == lines.end:
                    return
                offset += len(line)
                yield number, line

    def _line_chunks(self, file: InputPath) -> Iterator[list[dict]]:
        for number, line in self._lines(file):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as error:
                yield [
                    {
                        ROW_ID: f"{file.name}:{number}",
                        SOURCE_FILE: str(file),
                        SOURCE_ROW: number,
                        REJECT_REASON: "malformed_json",
                        REJECT_DETAIL: f"{error}: {line[:200]!r}",
                    }
                ]
                continue
            yield record_rows(record, file, number)

    def _table_frames(self, file: InputPath) -> Iterator[pl.DataFrame]:
        if self.format == "csv":
            yield from CsvReader(file, batch_size=self.batch_size, text_column=None).batches()
            return
        reader = ParquetReader(file, batch_size=self.batch_size, text_column=None)
        reader.row_groups = self.row_groups
        yield from reader.batches()

    def _table_chunks(self, file: InputPath) -> Iterator[list[dict]]:
        for frame in self._table_frames(file):
            self._refuse_float_ids(frame)
            for record in frame.to_dicts():
                number = record.get(SOURCE_ROW) or 0
                if record.get(REJECT_REASON):
                    yield [
                        {
                            k: record.get(k)
                            for k in (ROW_ID, SOURCE_FILE, SOURCE_ROW, REJECT_REASON, REJECT_DETAIL)
                        }
                    ]
                else:
                    yield record_rows({k: v for k, v in record.items() if k != ROW_ID}, file, number)

    def _refuse_float_ids(self, frame: pl.DataFrame) -> None:
        for name in ID_FIELDS:
            if name in frame.columns and frame.schema[name].is_float():
                raise InputError(
                    "post ids are stored as floating point, which corrupts 19-digit ids; "
                    "store them as text or integers",
                    path=str(self.path),
                    field=name,
                )

    def _frame(self, rows: list[dict]) -> pl.DataFrame:
        schema = {name: (pl.Utf8 if name == "created_at" else dtype) for name, dtype in POST_COLUMNS.items()}
        schema |= {"media_key": pl.Utf8, REJECT_REASON: pl.Utf8, REJECT_DETAIL: pl.Utf8}
        frame = pl.DataFrame(rows, schema=schema, strict=False)
        return conform(frame).with_columns(pl.lit(None, dtype=pl.Utf8).alias("reject_stage"))


def read_posts(path: str | Path, batch_size: int = 256) -> PostReader:
    """A reader of posts in any supported shape; pass it to `curation.engine.run`, with
    `filters.posts.DuplicatePosts.scan(reader)` as the first stage to reject repeated posts."""
    return PostReader(path, batch_size=batch_size)
