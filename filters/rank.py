"""Score rows on a saved rank axis: a stage the engine runs, so a build can sort or filter by it.

Features come from the text through the shipped all-MiniLM-L6-v2 (mean-pooled last layer, the
sentence-transformers recipe), from image files through open_clip, or from an embedding column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from curation.errors import InputError
from curation.rank_axis import RankAxis
from curation.stage import reject_where
from curation.text_embeddings import text_embeddings
from filters.posts.clip_defaults import DEFAULT_CLIP_MODEL

__all__ = ["EMBEDDERS", "MINILM", "RankScore", "column_matrix", "image_embeddings", "rank_stages",
           "text_embeddings"]

MINILM = "minilm"
EMBEDDERS = (MINILM, "clip", "column")


def image_embeddings(paths: Sequence[str], clip_model: str, pretrained: str | None,
                     device: str = "auto") -> np.ndarray:
    """(N, D) open_clip embeddings of image files (the posts stages' embedder)."""
    from filters.posts.embedding import ImageEmbedder

    return ImageEmbedder(clip_model, pretrained, device).embed_files([Path(p) for p in paths])


def column_matrix(column: pl.Series) -> np.ndarray:
    from filters.posts.schema import embedding_matrix

    return embedding_matrix(column)


@dataclass
class RankScore:
    """Adds `rank_score` (the projection on the axis); with `min_score`, rejects rows below it."""

    axis_path: str | Path
    embedder: str = MINILM
    column: str = "text"
    min_score: float | None = None
    device: str = "cpu"
    name: str = "rank_score"
    adds: tuple[str, ...] = ("rank_score",)
    axis: RankAxis = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.embedder not in EMBEDDERS:
            raise InputError(f"embedder must be one of {EMBEDDERS}, not {self.embedder!r}")
        self.axis = RankAxis.load(self.axis_path)
        made_with = self.axis.metadata.get("embedder")
        if made_with and made_with != self.embedder:
            raise InputError(f"the axis was fitted on {made_with} embeddings, not {self.embedder}",
                             path=str(self.axis_path))

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.column,)

    def features(self, batch: pl.DataFrame) -> np.ndarray:
        values = batch[self.column]
        if self.embedder == MINILM:
            return text_embeddings(values.fill_null("").to_list(), device=self.device)
        if self.embedder == "clip":
            info = self.axis.metadata
            return image_embeddings(values.to_list(), info.get("clip_model", DEFAULT_CLIP_MODEL),
                                    info.get("clip_pretrained"), self.device)
        return column_matrix(values)

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        scores = self.axis.score(self.features(batch)) if batch.height else np.zeros(0)
        batch = batch.with_columns(pl.Series("rank_score", scores, dtype=pl.Float32))
        if self.min_score is None:
            return batch
        return reject_where(batch, pl.col("rank_score") < self.min_score, "below_rank_threshold",
                            pl.format("rank_score={}", pl.col("rank_score").round(4)))


def rank_stages(axis_path: str | Path, embedder: str = MINILM, column: str = "text",
                min_score: float | None = None, device: str = "cpu") -> list[RankScore]:
    """The stage list for the engine (a picklable factory: each worker builds its own)."""
    return [RankScore(axis_path, embedder, column, min_score, device)]
