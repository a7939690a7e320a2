"""Read posts (JSONL/JSON, CSV, Parquet; flat rows or X API v2 pages) into the post schema.

One output row per image. A post without images, without an id, with an id stored as a float, or
repeated, is kept as a row rejected at stage `read` with its reason. An X API v2 page is a JSON
object with `data[]` (posts with `public_metrics` and `attachments.media_keys`) and `includes`
(`media[]` with `media_key`, `type`, `url`/`preview_image_url`; `users[]` with `id`, `username`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from curation.errors import InputError
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
        found += [{"image_path": str(p), "media_type": None} for p in as_list(record.get(field))]
    return found


def image_rows(
    record: dict,
    *,
    source: Path,
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


def page_rows(page: dict, source: Path, source_row: int) -> list[dict]:
    """Rows of an X API v2 response page (`data` + `includes`)."""
    includes = page.get("includes") or {}
    media_index = {str(m.get("media_key")): m for m in includes.get("media") or [] if isinstance(m, dict)}
    users = {str(u.get("id")): u.get("username") for u in includes.get("users") or [] if isinstance(u, dict)}
    rows = []
    for record in page.get("data") or []:
        rows += image_rows(record, source=source, source_row=source_row, media_index=media_index, users=users)
    return rows


def record_rows(record: Any, source: Path, source_row: int) -> list[dict]:
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


class PostReader(Reader):
    """Stream posts from a .jsonl/.json/.csv/.parquet file (or Parquet folder) as post-schema batches."""

    kind = "posts"

    def __init__(self, path: str | Path, batch_size: int = 256) -> None:
        super().__init__(Path(path), batch_size=batch_size)
        self.format = self._format()
        self.kind = f"posts-{self.format}"
        self._seen: set[str] = set()

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

    def files(self) -> list[Path]:
        return ParquetReader(self.path).files() if self.format == "parquet" else [self.path]

    def batches(self) -> Iterator[pl.DataFrame]:
        self._seen.clear()
        rows: list[dict] = []
        for chunk in self._row_chunks():
            rows += chunk
            if len(rows) >= self.batch_size:
                yield self._frame(rows)
                rows = []
        if rows:
            yield self._frame(rows)

    def _row_chunks(self) -> Iterator[list[dict]]:
        if self.format in ("jsonl", "json"):
            yield from self._json_chunks()
        else:
            yield from self._table_chunks()

    def _json_chunks(self) -> Iterator[list[dict]]:
        if self.path.stat().st_size == 0:
            raise InputError("empty file", path=str(self.path))
        if self.format == "json":
            try:
                document = json.loads(self.path.read_bytes())
            except ValueError as error:
                raise InputError(f"not valid JSON ({error})", path=str(self.path)) from None
            records = document if isinstance(document, list) else [document]
            for number, record in enumerate(records):
                yield record_rows(record, self.path, number)
            return
        with open(self.path, "rb") as handle:
            for number, line in enumerate(handle):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as error:
                    yield [
                        {
                            ROW_ID: f"{self.path.name}:{number}",
                            SOURCE_FILE: str(self.path),
                            SOURCE_ROW: number,
                            REJECT_REASON: "malformed_json",
                            REJECT_DETAIL: f"{error}: {line[:200]!r}",
                        }
                    ]
                    continue
                yield record_rows(record, self.path, number)

    def _table_chunks(self) -> Iterator[list[dict]]:
        if self.format == "csv":
            reader: Reader = CsvReader(
                self.path, batch_size=self.batch_size, text_column=self._csv_text_column()
            )
        else:
            reader = ParquetReader(
                self.path, batch_size=self.batch_size, text_column=self._parquet_text_column()
            )
        for frame in reader.batches():
            self._refuse_float_ids(frame)
            for record in frame.to_dicts():
                source, number = Path(record.get(SOURCE_FILE) or self.path), record.get(SOURCE_ROW) or 0
                if record.get(REJECT_REASON):
                    yield [
                        {
                            k: record.get(k)
                            for k in (ROW_ID, SOURCE_FILE, SOURCE_ROW, REJECT_REASON, REJECT_DETAIL)
                        }
                    ]
                else:
                    yield record_rows({k: v for k, v in record.items() if k != ROW_ID}, source, number)

    def _csv_text_column(self) -> str:
        header = CsvReader(self.path)._header()
        return next((c for c in TEXT_FIELDS if c in header), header[0])

    def _parquet_text_column(self) -> str:
        import pyarrow.parquet as pq

        names = pq.read_schema(self.files()[0]).names
        return next((c for c in TEXT_FIELDS if c in names), names[0])

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
        for row in rows:
            key = row.get(ROW_ID)
            if row.get(REJECT_REASON) is None and row.get("post_id") is not None:
                if key in self._seen:
                    row[REJECT_REASON], row[REJECT_DETAIL] = "duplicate_post", f"{key} seen earlier"
                self._seen.add(key)
        schema = {name: (pl.Utf8 if name == "created_at" else dtype) for name, dtype in POST_COLUMNS.items()}
        schema |= {"media_key": pl.Utf8, REJECT_REASON: pl.Utf8, REJECT_DETAIL: pl.Utf8}
        frame = pl.DataFrame(rows, schema=schema, strict=False)
        return conform(frame).with_columns(pl.lit(None, dtype=pl.Utf8).alias("reject_stage"))


def read_posts(path: str | Path, batch_size: int = 256) -> PostReader:
    """A reader of posts in any supported shape; pass it to `curation.engine.run`."""
    return PostReader(path, batch_size=batch_size)
