"""Engagement: a like-count floor, and an optional score normalised per author or per month.

Raw likes mix artists with large followings and amateurs. `normalise="author"` scores a post by
`like_count / median likes of its author`; `"month"` by the median of its calendar month (likes
grow with the platform). Medians come from a reference table over the whole corpus (one row per
post, see `engagement_reference`), so every batch is scored alike; groups with fewer than
`min_group_posts` posts use the corpus median instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from curation.errors import StageError
from curation.stage import reject_where

NORMALISATIONS = ("none", "author", "month")


def group_key(normalise: str) -> pl.Expr:
    if normalise == "author":
        return pl.col("author").alias("_group")
    return pl.col("created_at").dt.truncate("1mo").cast(pl.Utf8).alias("_group")


def engagement_reference(batches: Iterable[pl.DataFrame], normalise: str) -> pl.DataFrame:
    """Median likes and post count per group (`_group`), counting each post once; the corpus-wide
    median is the row whose `_group` is null."""
    columns = ["post_id", "like_count", "author" if normalise == "author" else "created_at"]
    posts = pl.concat([b.select(columns) for b in batches]).drop_nulls("like_count").unique("post_id")
    groups = (
        posts.group_by(group_key(normalise))
        .agg(pl.col("like_count").median().alias("_median"), pl.len().alias("_posts"))
        .drop_nulls("_group")
    )
    overall = posts.select(
        pl.lit(None, pl.Utf8).alias("_group"),
        pl.col("like_count").median().alias("_median"),
        pl.len().cast(pl.UInt32).alias("_posts"),
    )
    return pl.concat([groups.with_columns(pl.col("_posts").cast(pl.UInt32)).sort("_group"), overall])


@dataclass
class EngagementFilter:
    """Add `engagement_score` (and `engagement_median` when normalised); reject `low_likes` below
    `min_likes` and `low_engagement` below `min_score`; rows without a like count are rejected."""

    min_likes: int = 0
    normalise: str = "none"
    min_score: float | None = None
    reference: pl.DataFrame | None = None
    min_group_posts: int = 3
    name: str = "engagement"
    reads: tuple[str, ...] = ("like_count",)
    adds: tuple[str, ...] = ("engagement_score", "engagement_median")

    def __post_init__(self) -> None:
        if self.normalise not in NORMALISATIONS:
            raise StageError(
                f"engagement normalisation must be one of {NORMALISATIONS}, not '{self.normalise}'"
            )
        if self.normalise != "none":
            self.reads = ("post_id", "like_count", "author" if self.normalise == "author" else "created_at")

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        batch = batch.with_columns(self._medians(batch)).with_columns(
            (pl.col("like_count") / pl.col("engagement_median").clip(lower_bound=1.0)).alias(
                "engagement_score"
            )
        )
        batch = reject_where(batch, pl.col("like_count").is_null(), "missing_like_count")
        batch = reject_where(
            batch,
            pl.col("like_count") < self.min_likes,
            "low_likes",
            pl.format("{} likes < {}", pl.col("like_count"), pl.lit(self.min_likes)),
        )
        if self.min_score is not None:
            batch = reject_where(
                batch,
                pl.col("engagement_score") < self.min_score,
                "low_engagement",
                pl.format("score {} < {}", pl.col("engagement_score").round(3), pl.lit(self.min_score)),
            )
        return batch

    def _medians(self, batch: pl.DataFrame) -> pl.Expr:
        if self.normalise == "none":
            return pl.lit(1.0).alias("engagement_median")
        reference = (
            self.reference if self.reference is not None else engagement_reference([batch], self.normalise)
        )
        overall = reference.filter(pl.col("_group").is_null())["_median"]
        fallback = float(overall[0]) if overall.len() and overall[0] is not None else 1.0
        trusted = reference.filter(
            pl.col("_group").is_not_null() & (pl.col("_posts") >= self.min_group_posts)
        )
        lookup = dict(zip(trusted["_group"], trusted["_median"], strict=True))
        key = group_key(self.normalise)
        return key.replace_strict(lookup, default=fallback, return_dtype=pl.Float64).alias(
            "engagement_median"
        )
