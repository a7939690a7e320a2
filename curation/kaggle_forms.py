"""The Kaggle poems-by-form layout: `[forms/]<form>/<Form>Poems<Title>Poemby<Author>.txt`, one
poem per file (form from the folder, title and author from the file name)."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from curation.errors import InputError
from curation.reader_base import BATCH_TEXT_BYTES, Reader
from curation.schema import (
    BOOKKEEPING,
    POEM_COLUMNS,
    REJECT_DETAIL,
    REJECT_REASON,
    REJECT_STAGE,
    ROW_ID,
    SOURCE_FILE,
    SOURCE_ROW,
)
from curation.text_column import TOO_LONG

KAGGLE_NAME = re.compile(r"^(?P<form>.*?)Poems(?P<title>.*)Poemby(?P<author>.*)\.txt$")
CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
SCHEMA = {**POEM_COLUMNS, **dict.fromkeys(BOOKKEEPING, pl.Utf8)}


def split_camel_case(name: str) -> str:
    return CAMEL_BOUNDARY.sub(" ", name).strip()


def parse_kaggle_file_name(name: str) -> tuple[str | None, str | None]:
    """`SonnetPoemsAMemoryFromASonnetSequencePoembyRupertBrooke.txt` -> (title, author)."""
    match = KAGGLE_NAME.match(name)
    if not match:
        return None, None
    return split_camel_case(match["title"]) or None, split_camel_case(match["author"]) or None


class KaggleFormsReader(Reader):
    """The Kaggle poems-by-form layout: `[forms/]<form>/<Form>Poems<Title>Poemby<Author>.txt`."""

    kind = "kaggle-forms"
    _files: list[str] | None = None
    subset: list[str] | None = None  # set on a shard: its files

    def __getstate__(self) -> dict:
        """Shards travel to workers with their reader: leave the cached file list behind."""
        return {**self.__dict__, "_files": None}

    def shards(self, shard_rows: int) -> list[Reader]:
        """Groups of `shard_rows` consecutive files (poems)."""
        files, parts = self.files(), []
        for start in range(0, len(files), shard_rows):
            part = copy.copy(self)
            part.subset, part._files = files[start:start + shard_rows], None
            parts.append(part)
        return parts

    def files(self) -> list[str]:
        """Every `<form>/*.txt` file (or this shard's), sorted, as path strings: a listing of millions
        of poems stays a few hundred bytes per file (a `Path` costs several times that)."""
        if self.subset is not None:
            return self.subset
        if self._files is None:
            root = self.path / "forms" if (self.path / "forms").is_dir() else self.path
            self._files = sorted(entry.path for folder in os.scandir(root) if folder.is_dir()
                                 for entry in os.scandir(folder.path) if entry.name.endswith(".txt"))
            if not self._files:
                raise InputError("no poems found: expected <form>/<name>.txt files", path=str(root))
        return self._files

    def total_rows(self) -> int:
        return len(self.files())

    def columns(self) -> list[str]:
        return list(SCHEMA)

    def batches(self) -> Iterator[pl.DataFrame]:
        return read_kaggle_files(self, self.files())

    def _row(self, path: Path) -> dict:
        title, author = parse_kaggle_file_name(path.name)
        row = {ROW_ID: f"{path.parent.name}/{path.stem}", "form": path.parent.name, "title": title,
               "author": author, SOURCE_FILE: str(path), SOURCE_ROW: 0, "text": None,
               REJECT_REASON: None, REJECT_STAGE: None, REJECT_DETAIL: None}
        # UTF-8 takes at most 4 bytes a character: a larger file holds too many characters
        if self.max_chars is not None and (size := path.stat().st_size) > 4 * self.max_chars:
            row.update({REJECT_REASON: TOO_LONG, REJECT_STAGE: "read",
                        REJECT_DETAIL: f"{size:,} bytes, more than --max-chars {self.max_chars:,} characters "
                                       "can take; not read"})
            return row
        raw = path.read_bytes()
        try:
            row["text"] = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            row.update({REJECT_REASON: "undecodable_bytes", REJECT_STAGE: "read",
                        REJECT_DETAIL: f"{path}: invalid UTF-8 at byte {error.start}"})
        return row


def read_kaggle_files(reader: KaggleFormsReader, files: list[str]) -> Iterator[pl.DataFrame]:
    """The poems of `files` in batches of `batch_size` poems or `BATCH_TEXT_BYTES` of text, whichever
    comes first, so that a folder of long poems does not make larger batches (and more memory)."""
    rows, size = [], 0
    for path in files:
        rows.append(reader._row(Path(path)))
        size += len(rows[-1]["text"] or "")
        if len(rows) >= reader.batch_size or size >= BATCH_TEXT_BYTES:
            yield reader._reject_unfit(pl.DataFrame(rows, schema=SCHEMA))
            rows, size = [], 0
    if rows:
        yield reader._reject_unfit(pl.DataFrame(rows, schema=SCHEMA))
