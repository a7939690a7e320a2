"""The engine's output layout and shard writer: where kept and rejected rows of a shard go, and
how a processed frame is counted per stage.

A run writes `kept/part-<shard>-*.parquet` and `rejected/<stage>-<shard>-*.parquet`; when a global
stage still has to see the kept rows, the shards write them to `_map/kept/` and the global step
writes the final `kept/` (`curation.global_stages`). Markers live in `_state/` (`curation.shards`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from curation.schema import REJECT_REASON, REJECT_STAGE
from curation.writers import ParquetShardWriter


@dataclass(frozen=True)
class Layout:
    """Where a run writes: kept rows of the map go straight to `kept/` unless a global stage still
    has to see them (then `_map/kept/`)."""

    out_dir: Path
    has_globals: bool

    @property
    def kept_dir(self) -> Path:
        return self.out_dir / ("_map/kept" if self.has_globals else "kept")

    @property
    def final_kept_dir(self) -> Path:
        return self.out_dir / "kept"

    @property
    def rejected_dir(self) -> Path:
        return self.out_dir / "rejected"

    @property
    def output_dirs(self) -> list[Path]:
        return [self.final_kept_dir, self.out_dir / "_map", self.rejected_dir]

    def outputs(self) -> dict[str, list[str]]:
        """The final output files by part (`kept`, `rejected`), relative to the output folder."""
        return {part: sorted(str(path.relative_to(self.out_dir))
                             for path in (self.out_dir / part).glob("*.parquet"))
                for part in ("kept", "rejected")}


def file_stem(stage_name: str) -> str:
    return stage_name.replace("/", "_")


def count_stages(frame: pl.DataFrame, names: Sequence[str]) -> list[dict[str, Any]]:
    """Per-stage counts of a processed frame, from its `reject_stage` column."""
    counts, remaining = [], frame.height
    for name in names:
        hit = frame.filter(pl.col(REJECT_STAGE) == name)
        reasons = dict(hit[REJECT_REASON].value_counts(sort=True).iter_rows())
        counts.append({"name": name, "rows_in": remaining, "kept": remaining - hit.height,
                       "rejected": hit.height, "reasons": reasons})
        remaining -= hit.height
    return counts


def unused_late_columns(group: pl.DataFrame, stage_name: str,
                        stage_adds: Sequence[tuple[str, tuple[str, ...]]]) -> list[str]:
    """Columns only later stages add, all null in rows rejected at `stage_name` (they never saw them)."""
    names = [name for name, _ in stage_adds]
    cut = names.index(stage_name) + 1 if stage_name in names else 0
    earlier = {c for _, adds in stage_adds[:cut] for c in adds}
    later = {c for _, adds in stage_adds[cut:] for c in adds} - earlier
    return [c for c in later if c in group.columns and group[c].null_count() == group.height]


@dataclass(frozen=True)
class ShardWriter:
    """Writes processed frames of a shard; needs only the stage names and what they add."""

    layout: Layout
    names: tuple[str, ...]
    stage_adds: tuple[tuple[str, tuple[str, ...]], ...]
    rows_per_file: int

    def write(self, frame: pl.DataFrame, prefix: str) -> tuple[list[str], list[dict[str, Any]]]:
        """Write one processed frame; returns its files (relative to the output) and stage counts."""
        kept = ParquetShardWriter(self.layout.kept_dir, f"part-{prefix}", self.rows_per_file)
        paths = kept.close_with(frame.filter(pl.col(REJECT_STAGE).is_null()))
        for name in self.names:
            group = frame.filter(pl.col(REJECT_STAGE) == name)
            if group.height:
                writer = ParquetShardWriter(self.layout.rejected_dir, f"{file_stem(name)}-{prefix}",
                                            self.rows_per_file)
                paths += writer.close_with(group.drop(unused_late_columns(group, name, self.stage_adds)))
        files = [str(p.relative_to(self.layout.out_dir)) for p in paths]
        return files, count_stages(frame, self.names)
