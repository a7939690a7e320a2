"""Strip copyright footers and trailing author notes from poems, keeping what was removed.

- Copyright: everything from the first line that holds `©` or begins with `(c)` or `Copyright`
  on; when that line is the title line (the first), only that line.
- Separators: lines of spaced dashes (`- - - - -`) are removed. The text after the last one is an
  author note when the separator is headed by `About...` or `...:` lines, or when it is the only
  separator in the body and what follows is shorter than what precedes it. A separator under the
  title line is only an underline. Several separators in a body are stanza breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from curation.stage import reject_where

COPYRIGHT_LINE = r"[^\n]*©|[ \t]*\(c\)|[ \t]*copyright"
COPYRIGHT_FOOTER = rf"(?ims)^(?:{COPYRIGHT_LINE}).*\z"
COPYRIGHT_TITLE = rf"(?i)\A\s*(?:{COPYRIGHT_LINE})[^\n]*(?:\n|\z)"
SEPARATOR_LINE = re.compile(r"(?m)^[ \t]*-(?:[ \t]+-){2,}")
NOTE_HEADER = re.compile(r"^\s*(?:about\b.*|.*:\s*)$", re.IGNORECASE)


def split_author_note(text: str) -> tuple[str, str]:
    """Return (poem, removed) for a text that has separator lines."""
    lines = text.split("\n")
    separators = [i for i, line in enumerate(lines) if SEPARATOR_LINE.match(line)]
    nonempty = [i for i, line in enumerate(lines) if line.strip()]
    body = [i for i in separators if i not in nonempty[:2]]
    note_start = None
    if body:
        last = body[-1]
        header = last
        while header > 0 and NOTE_HEADER.match(lines[header - 1]) and lines[header - 1].strip():
            header -= 1
        words_before = sum(len(line.split()) for line in lines[:header])
        words_after = sum(len(line.split()) for line in lines[last + 1:])
        if header < last or (len(body) == 1 and words_after < words_before):
            note_start = header
    end = len(lines) if note_start is None else note_start
    kept = [line for i, line in enumerate(lines[:end]) if i not in separators]
    removed = [line for i, line in enumerate(lines[:end]) if i in separators] + lines[end:]
    return "\n".join(kept), "\n".join(removed)


@dataclass
class StripFooter:
    """Remove footers and notes from `text` into `removed_text`; reject poems left empty."""

    name: str = "strip_footer"
    reads: tuple[str, ...] = ("text",)
    adds: tuple[str, ...] = ("text", "removed_text")

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        title = pl.col("text").str.extract(f"({COPYRIGHT_TITLE})", 1)
        batch = batch.with_columns(pl.col("text").str.strip_prefix(title.fill_null("")),
                                   title.alias("title_note"))
        footer = pl.col("text").str.extract(f"({COPYRIGHT_FOOTER})", 1)
        batch = batch.with_columns(pl.col("text").str.strip_suffix(footer.fill_null("")),
                                   pl.concat_str("title_note", footer, separator="\n", ignore_nulls=True)
                                   .alias("footer"))
        has_separator = pl.col("text").str.contains(SEPARATOR_LINE.pattern, literal=False)
        split = pl.when(has_separator).then(pl.col("text").map_elements(_split_struct, return_dtype=SPLIT))
        batch = batch.with_columns(split.alias("split")).with_columns(
            pl.coalesce(pl.col("split").struct.field("poem"), "text").str.strip_chars().alias("text"),
            pl.concat_str(pl.col("split").struct.field("note"), "footer", separator="\n", ignore_nulls=True)
            .str.strip_chars().replace("", None).alias("removed_text"),
        ).drop("split", "footer", "title_note")
        return reject_where(batch, pl.col("text").str.len_chars() == 0, "empty_text")


SPLIT = pl.Struct({"poem": pl.Utf8, "note": pl.Utf8})


def _split_struct(text: str) -> dict[str, str]:
    poem, note = split_author_note(text)
    return {"poem": poem, "note": note}
