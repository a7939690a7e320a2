"""Stages that break the stage contract on purpose, shared by the engine and adapter tests."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass
class RowDropper:
    """Drops every row but the first instead of rejecting them: every runner must refuse it."""

    name: str = "dropper"
    reads: tuple[str, ...] = ()
    adds: tuple[str, ...] = ()

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        return batch.head(1)
