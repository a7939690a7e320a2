"""The post schema: one row per image of a post, shared by every posts stage.

`post_id` is always text: a 19-digit id pushed through a float loses its last digits.
Fetch adds `image_path`, `image_sha256`, `image_bytes`; decode adds `width`, `height`, `image_format`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curation.schema import ROW_ID, SOURCE_FILE, SOURCE_ROW

UTC_DATETIME = pl.Datetime("us", "UTC")

EMBEDDING = "clip_embedding"  # the L2-normalised open_clip image embedding the model stages share

POST_COLUMNS: dict[str, pl.DataType] = {
    ROW_ID: pl.Utf8,
    "post_id": pl.Utf8,
    "author": pl.Utf8,
    "text": pl.Utf8,
    "created_at": UTC_DATETIME,
    "like_count": pl.Int64,
    "retweet_count": pl.Int64,
    "reply_count": pl.Int64,
    "image_index": pl.Int32,
    "image_url": pl.Utf8,
    "image_path": pl.Utf8,
    "media_type": pl.Utf8,
    SOURCE_FILE: pl.Utf8,
    SOURCE_ROW: pl.Int64,
}

FETCH_COLUMNS: dict[str, pl.DataType] = {
    "image_path": pl.Utf8,
    "image_sha256": pl.Utf8,
    "image_bytes": pl.Int64,
}
DECODE_COLUMNS: dict[str, pl.DataType] = {"width": pl.Int32, "height": pl.Int32, "image_format": pl.Utf8}

DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%a %b %d %H:%M:%S %z %Y")


def parse_created_at(column: str = "created_at") -> pl.Expr:
    """ISO 8601 (X API v2), `2017-08-01 16:23:56 +0000` (archives) or the v1.1 format, as UTC."""
    text = pl.col(column).cast(pl.Utf8)
    attempts = [text.str.to_datetime(time_zone="UTC", strict=False)]
    attempts += [text.str.to_datetime(fmt, time_zone="UTC", strict=False) for fmt in DATETIME_FORMATS]
    return pl.coalesce(attempts).alias(column)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast to the post schema (adding missing columns as nulls), schema columns first."""
    columns = []
    for name, dtype in POST_COLUMNS.items():
        if name not in frame.columns:
            columns.append(pl.lit(None, dtype=dtype).alias(name))
        elif name == "created_at":
            columns.append(_as_utc(frame.schema[name]))
        else:
            columns.append(pl.col(name).cast(dtype, strict=False))
    extra = [c for c in frame.columns if c not in POST_COLUMNS]
    out = frame.with_columns(columns)
    return out.select([*POST_COLUMNS, *extra])


def _as_utc(dtype: pl.DataType) -> pl.Expr:
    column = pl.col("created_at")
    if isinstance(dtype, pl.Datetime):
        return (
            column.dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else column.dt.convert_time_zone("UTC")
        ).dt.cast_time_unit("us")
    if dtype == pl.Date:
        return column.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return parse_created_at("created_at")


def embedding_matrix(column: pl.Series) -> np.ndarray:
    """A `clip_embedding` column (Array or List of floats) as a float32 (N, D) matrix."""
    if isinstance(column.dtype, pl.Array):
        return column.to_numpy().astype(np.float32, copy=False)
    return np.asarray(column.to_list(), dtype=np.float32)
