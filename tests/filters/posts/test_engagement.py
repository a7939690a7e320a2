from datetime import UTC, datetime

import polars as pl
import pytest

from curation.errors import StageError
from filters.posts.engagement import EngagementFilter, engagement_reference


def posts() -> pl.DataFrame:
    """A popular artist (median 1,000 likes), an amateur (median 20) and a newcomer with one post."""
    rows = [
        ("p1", "star", 1000, 1),
        ("p2", "star", 900, 1),
        ("p3", "star", 1200, 2),
        ("p4", "star", 300, 2),
        ("a1", "amateur", 20, 1),
        ("a2", "amateur", 18, 2),
        ("a3", "amateur", 60, 3),
        ("n1", "newcomer", 50, 3),
        ("z1", "star", None, 3),
    ]
    return pl.DataFrame(
        {
            "post_id": [r[0] for r in rows],
            "author": [r[1] for r in rows],
            "like_count": [r[2] for r in rows],
            "created_at": [datetime(2024, r[3], 15, tzinfo=UTC) for r in rows],
        },
        schema_overrides={"like_count": pl.Int64},
    )


def test_like_floor_rejects_low_and_missing_counts():
    out = EngagementFilter(min_likes=50)(posts())
    reasons = dict(zip(out["post_id"], out["reject_reason"], strict=True))
    assert [p for p, r in reasons.items() if r == "low_likes"] == ["a1", "a2"]
    assert reasons["z1"] == "missing_like_count" and reasons["n1"] is None
    assert out["engagement_score"].to_list()[:2] == [1000.0, 900.0]


def test_per_author_normalisation_separates_a_good_amateur_post_from_a_weak_star_post():
    frame = posts()
    reference = engagement_reference([frame.head(4), frame.tail(5)], "author")
    out = EngagementFilter(normalise="author", min_score=1.5, reference=reference)(frame)
    scores = dict(zip(out["post_id"], out["engagement_score"], strict=True))
    assert scores["a3"] == pytest.approx(60 / 20) and scores["p4"] == pytest.approx(300 / 950)
    assert scores["n1"] == pytest.approx(50 / 180), "a one-post author is scored against the corpus median"
    kept = out.filter(pl.col("reject_reason").is_null())["post_id"].to_list()
    assert kept == ["a3"]


def test_reference_counts_each_post_once_though_it_has_several_images():
    frame = posts()
    images = pl.concat([frame, frame.filter(pl.col("post_id") == "p4")])
    assert engagement_reference([images], "author").equals(engagement_reference([frame], "author"))


def test_per_month_normalisation():
    out = EngagementFilter(normalise="month", min_group_posts=1)(posts())
    medians = dict(zip(out["post_id"], out["engagement_median"], strict=True))
    assert (medians["p1"], medians["p3"], medians["a3"]) == (900.0, 300.0, 55.0)


def test_unknown_normalisation_is_a_clear_error():
    with pytest.raises(StageError, match="one of"):
        EngagementFilter(normalise="follower")
