"""The reference corpus whose length distribution the aligned revisions match.

Any column of a local or fsspec-URL CSV, JSONL or Parquet file (or folder), a `save_to_disk` folder, or
a Hugging Face dataset id at a revision (the seed's is `minhuh/prh`, revision `wit_1024`). The chosen
column is read as it is, beside whatever other columns the file has; nothing is renamed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from builders.length_sampling import word_counts
from builders.provenance import folder_digest, public_input, public_name
from curation.errors import InputError
from curation.input_files import InputPath, open_binary
from curation.readers import HuggingFaceReader, Reader, open_reader

SEED_REFERENCE = "minhuh/prh"
SEED_REFERENCE_REVISION = "wit_1024"
BATCH_ROWS = 10_000


@dataclass(frozen=True)
class Reference:
    """Word counts of every usable text in the reference, and where they came from (no local paths)."""

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


def open_reference(source: str | Path, *, revision: str | None = None, split: str = "train") -> Reader:
    """A reader for a local file/folder or URL, or for a Hub dataset (`hf:ID` or `org/name`) at `revision`;
    it lists and hashes the files, and `column_batches` reads them."""
    text = str(source)
    if revision is not None and not Path(text).exists():
        return HuggingFaceReader(text.removeprefix("hf:"), BATCH_ROWS, split=split, revision=revision)
    reader = open_reader(text, batch_size=BATCH_ROWS)
    if isinstance(reader, HuggingFaceReader):
        reader.split = split
    return reader


def column_batches(reader: Reader, column: str) -> Iterator[pl.Series]:
    """The `column` of every row, batch by batch; rows that cannot be parsed come as nulls."""
    if isinstance(reader, HuggingFaceReader):
        yield from _dataset_column(reader, column)
        return
    formats = {"parquet": _parquet_column, "csv": _csv_column, "jsonl": _jsonl_column}
    if reader.kind not in formats:
        raise InputError(f"a {reader.kind} input cannot be a reference: give a CSV, JSONL or Parquet file, "
                         "or a Hugging Face dataset", path=str(reader.path))
    for file in reader.files():
        yield from formats[reader.kind](file, column)


def _missing(column: str, columns: list[str], path: object) -> InputError:
    return InputError(f"no '{column}' column (columns: {columns}); choose one with --reference-column",
                      path=str(path), field=column)


def _parquet_column(path: InputPath, column: str) -> Iterator[pl.Series]:
    try:
        with open_binary(path) as handle:
            parquet = pq.ParquetFile(handle)
            if column not in parquet.schema_arrow.names:
                raise _missing(column, parquet.schema_arrow.names, path)
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=[column]):
                yield pl.from_arrow(batch.column(0))
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(f"not a readable Parquet file ({str(error).splitlines()[0]})",
                         path=str(path)) from None


def _csv_column(path: InputPath, column: str) -> Iterator[pl.Series]:
    bad_rows = 0

    def skip(_row: pacsv.InvalidRow) -> str:
        nonlocal bad_rows
        bad_rows += 1
        return "skip"

    options = {"read_options": pacsv.ReadOptions(block_size=1 << 22),
               "parse_options": pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip),
               "convert_options": pacsv.ConvertOptions(column_types={column: pa.string()})}
    try:
        with open_binary(path) as handle:
            reader = pacsv.open_csv(handle, **options)
            if column not in reader.schema.names:
                raise _missing(column, reader.schema.names, path)
            for batch in reader:
                yield pl.from_arrow(batch.column(column))
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        raise InputError(f"not a readable CSV file ({str(error).splitlines()[0]})", path=str(path)) from None
    yield pl.Series([None] * bad_rows, dtype=pl.Utf8)


def _jsonl_column(path: InputPath, column: str) -> Iterator[pl.Series]:
    values, seen = [], False
    with open_binary(path) as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                record = None
            seen |= isinstance(record, dict) and column in record
            values.append(record.get(column) if isinstance(record, dict) else None)
            if len(values) >= BATCH_ROWS:
                yield pl.Series(values, strict=False)
                values = []
    if not seen:
        raise InputError(f"no '{column}' key in any line; choose one with --reference-column", path=str(path),
                         field=column)
    if values:
        yield pl.Series(values, strict=False)


def _dataset_column(reader: HuggingFaceReader, column: str) -> Iterator[pl.Series]:
    import datasets

    if (reader.path / "dataset_info.json").exists():
        dataset = datasets.load_from_disk(str(reader.path)).to_iterable_dataset()
    else:
        dataset = datasets.load_dataset(reader.name, split=reader.split, revision=reader.revision,
                                        streaming=True)
    names = dataset.column_names
    if names is not None and column not in names:
        raise _missing(column, names, reader.name)
    for batch in dataset.select_columns([column]).iter(batch_size=BATCH_ROWS):
        yield pl.Series(batch[column], strict=False)


def first_texts(column: pl.Series) -> pl.Series:
    """The text of each row; for a list column (as `minhuh/prh`'s captions) its first element."""
    if isinstance(column.dtype, pl.List | pl.Array):
        column = column.list.first() if isinstance(column.dtype, pl.List) else column.arr.first()
    return column.cast(pl.Utf8, strict=False)


def load_reference(source: str | Path, column: str = "text", *, revision: str | None = None,
                   split: str = "train") -> Reference:
    """Word counts of the `column` texts (the first text of a list, as the seed took `text[0]` of
    `minhuh/prh`); rows that could not be parsed or have no text are skipped."""
    reader = open_reference(source, revision=revision, split=split)
    lengths, skipped = [], 0
    for values in column_batches(reader, column):
        texts = first_texts(values).drop_nulls()
        skipped += values.len() - texts.len()
        lengths.append(word_counts(texts))
    counts = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    if counts.size == 0:
        raise InputError("the reference has no texts", path=str(source), field=column)
    description = public_input(reader.describe())
    if isinstance(reader, HuggingFaceReader) and reader.path.is_dir():
        description |= folder_digest(reader.path, ["**/*"])
    return Reference(source=public_name(source), column=column, lengths=counts, revision=revision,
                     split=split if isinstance(reader, HuggingFaceReader) else None, skipped=skipped,
                     description=description)
