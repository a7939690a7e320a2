"""The local Hub layout: `OUT/<revision>/README.md`, `OUT/<revision>/data/train-0000i-of-0000N.parquet`,
extra files beside the card, and `OUT/build.json` summarising every revision."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import polars as pl

from curation.errors import CurationError

DEFAULT_ROWS_PER_SHARD = 50_000
BUILD_SUMMARY = "build.json"


def shard_names(rows: int, rows_per_shard: int) -> list[str]:
    """`train-00000-of-00002.parquet`, ...: at least one shard, even for an empty revision."""
    if rows_per_shard < 1:
        raise CurationError(f"rows per shard must be positive, not {rows_per_shard}")
    total = max(1, math.ceil(rows / rows_per_shard))
    return [f"train-{i:05d}-of-{total:05d}.parquet" for i in range(total)]


def write_shards(frame: pl.DataFrame, revision_dir: Path, rows_per_shard: int = DEFAULT_ROWS_PER_SHARD,
                 on_shard=None) -> list[Path]:
    """Replace `revision_dir/data/` with the frame's Parquet shards; returns their paths."""
    data_dir = revision_dir / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    paths = []
    for index, name in enumerate(shard_names(frame.height, rows_per_shard)):
        path = data_dir / name
        frame.slice(index * rows_per_shard, rows_per_shard).write_parquet(path, compression="zstd")
        paths.append(path)
        if on_shard:
            on_shard(path)
    return paths


def write_card(text: str, revision_dir: Path) -> Path:
    path = revision_dir / "README.md"
    path.write_text(text, encoding="utf-8")
    return path


def write_build_summary(out: Path, summary: dict[str, Any]) -> Path:
    path = out / BUILD_SUMMARY
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def read_build_summary(out: Path) -> dict[str, Any]:
    path = Path(out) / BUILD_SUMMARY
    if not path.exists():
        raise CurationError(f"{path} not found: run `curate poems build` first")
    return json.loads(path.read_text())
