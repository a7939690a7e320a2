"""Parquet shard writers with bounded buffers."""

from __future__ import annotations

from pathlib import Path

import polars as pl


class ParquetShardWriter:
    """Buffer batches and write `prefix-00000.parquet`, ... every `rows_per_shard` rows."""

    def __init__(self, directory: Path, prefix: str = "part", rows_per_shard: int = 50_000) -> None:
        self.directory = Path(directory)
        self.prefix = prefix
        self.rows_per_shard = rows_per_shard
        self.files: list[Path] = []
        self._buffer: list[pl.DataFrame] = []
        self._buffered = 0

    def write(self, batch: pl.DataFrame) -> None:
        if batch.height == 0:
            return
        self._buffer.append(batch)
        self._buffered += batch.height
        if self._buffered >= self.rows_per_shard:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self.prefix}-{len(self.files):05d}.parquet"
        pl.concat(self._buffer, how="diagonal_relaxed").write_parquet(path, compression="zstd")
        self.files.append(path)
        self._buffer, self._buffered = [], 0

    def close(self) -> list[Path]:
        self.flush()
        return self.files

    def close_with(self, batch: pl.DataFrame) -> list[Path]:
        """Write a last batch and close."""
        self.write(batch)
        return self.close()


def read_shards(directory: Path) -> pl.DataFrame:
    """Read every shard of a folder into one frame; shards of different stages may differ in
    columns, which are filled with nulls."""
    files = sorted(Path(directory).glob("*.parquet"))
    if not files:
        return pl.DataFrame()
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
