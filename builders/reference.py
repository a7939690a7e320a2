"""The reference corpus whose length distribution the aligned revisions match.

Any text column of a local CSV, JSONL or Parquet file (or folder), a `save_to_disk` folder, or a
Hugging Face dataset id at a revision (the seed's is `minhuh/prh`, revision `wit_1024`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from builders.length_sampling import word_counts
from curation.errors import InputError
from curation.readers import HuggingFaceReader, Reader, open_reader
from curation.schema import REJECT_REASON

SEED_REFERENCE = "minhuh/prh"
SEED_REFERENCE_REVISION = "wit_1024"


@dataclass(frozen=True)
class Reference:
    """Word counts of every usable text in the reference, and where they came from."""

    source: str
    column: str
    lengths: np.ndarray
    revision: str | None = None
    split: str | None = None
    skipped: int = 0
    description: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"source": self.source, "column": self.column, "revision": self.revision, "split": self.split,
                "texts": int(self.lengths.size), "skipped_rows": self.skipped,
                "mean_words": round(float(self.lengths.mean()), 3),
                "median_words": float(np.median(self.lengths)), "input": self.description}


def open_reference(source: str | Path, column: str = "text", *, revision: str | None = None,
                   split: str = "train", batch_size: int = 10_000) -> Reader:
    """A reader for a local file/folder, or for a Hub dataset (`hf:ID` or `org/name`) at `revision`."""
    text = str(source)
    local = Path(text)
    if revision is not None and not local.exists():
        return HuggingFaceReader(text.removeprefix("hf:"), batch_size, column, split=split, revision=revision)
    reader = open_reader(text, text_column=column, batch_size=batch_size)
    if isinstance(reader, HuggingFaceReader):
        reader.split = split
    return reader


def first_texts(column: pl.Series) -> pl.Series:
    """The text of each row; for a list column (as `minhuh/prh`'s captions) its first element."""
    if isinstance(column.dtype, pl.List | pl.Array):
        column = column.list.first() if isinstance(column.dtype, pl.List) else column.arr.first()
    return column.cast(pl.Utf8)


def load_reference(source: str | Path, column: str = "text", *, revision: str | None = None,
                   split: str = "train") -> Reference:
    """Word counts of the `column` texts (the first text of a list, as the seed took `text[0]` of
    `minhuh/prh`); rows the reader could not parse or with no text are skipped."""
    reader = open_reference(source, column, revision=revision, split=split)
    lengths, skipped = [], 0
    for batch in reader.batches():
        usable = pl.col("text").is_not_null()
        if REJECT_REASON in batch.columns:
            usable &= pl.col(REJECT_REASON).is_null()
        kept = batch.filter(usable)
        skipped += batch.height - kept.height
        lengths.append(word_counts(first_texts(kept["text"])))
    counts = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    if counts.size == 0:
        raise InputError("the reference has no texts", path=str(source), field=column)
    return Reference(source=str(source), column=column, lengths=counts, revision=revision,
                     split=split if isinstance(reader, HuggingFaceReader) else None, skipped=skipped,
                     description=reader.describe())
