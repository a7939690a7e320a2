"""The text-column rule, and which texts a reader lets through.

The rule: the text every stage reads, and every output holds, is the column `text`. Choosing
another input column X (`--text-column X`) copies X into `text` and leaves X as it was. An input
that has a `text` column of its own as well keeps it, unchanged, as `input_text`: the only column
name this rule ever changes. No column is dropped.

A reader may also reject unfit texts at stage `read`, before any stage tokenises them:
`missing_text` (null or absent), `not_a_string` (a number, list, ...: the row keeps the value as
its JSON text) and `too_long` (over `max_chars` characters).
"""

from __future__ import annotations

import json

import polars as pl

from curation.errors import InputError
from curation.schema import with_bookkeeping
from curation.stage import reject_where

TEXT = "text"
INPUT_TEXT = "input_text"
MISSING_TEXT, NOT_A_STRING, TOO_LONG = "missing_text", "not_a_string", "too_long"

# The text as duplicate checks compare it: lower case, letters and digits only, single spaces.
NORMALISED = (pl.col(TEXT).str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ")
              .str.strip_chars())


def use_text_column(frame: pl.DataFrame, column: str, *, path: str | None = None) -> pl.DataFrame:
    """`frame` with its `column` as `text`, by the rule above; an `InputError` names `path` when
    `column` is missing, or when `text` cannot be kept because `input_text` is taken too."""
    if column not in frame.columns:
        raise InputError(f"no '{column}' column (columns: {frame.columns}); choose one with --text-column",
                         path=path, field=column)
    if column == TEXT:
        return frame
    if TEXT in frame.columns:
        if INPUT_TEXT in frame.columns:
            raise InputError(f"has '{TEXT}' and '{INPUT_TEXT}' columns, so the text chosen from '{column}' "
                             f"has no free name; rename one of them", path=path, field=TEXT)
        frame = frame.rename({TEXT: INPUT_TEXT})
    return frame.with_columns(pl.col(column).alias(TEXT))


def as_json_text(value: object) -> str | None:
    """A non-string value as JSON text (`42`, `[1, 2]`), so a rejected row keeps it."""
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def reject_unfit_text(frame: pl.DataFrame, *, max_chars: int | None = None, strings_only: bool = False,
                      column: str = TEXT) -> pl.DataFrame:
    """Mark rows (not yet rejected) whose `text` is missing or not a string (with `strings_only`),
    or longer than `max_chars` characters; `column` names the input column in the details."""
    frame = with_bookkeeping(frame)
    if strings_only:
        dtype = frame.schema[TEXT]
        if dtype != pl.String:
            values = frame[TEXT].to_list() if dtype != pl.Null else [None] * frame.height
            frame = frame.with_columns(pl.Series(TEXT, [as_json_text(v) for v in values], pl.String))
            frame = reject_where(frame, pl.col(TEXT).is_not_null(), NOT_A_STRING,
                                 pl.lit(f"'{column}' holds {dtype}, not a string"))
        frame = reject_where(frame, pl.col(TEXT).is_null(), MISSING_TEXT, pl.lit(f"no text in '{column}'"))
    if max_chars is not None and frame.schema[TEXT] == pl.String:
        length = pl.col(TEXT).str.len_chars()
        frame = reject_where(frame, length > max_chars, TOO_LONG,
                             pl.format("{} characters, over the limit of {} (--max-chars)",
                                       length, pl.lit(max_chars)))
    return frame
