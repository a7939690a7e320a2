"""Rank axes from a few extremes against a ridge regression: WeRateDogs tweet texts vs like counts.

    python benchmarks/rank_axes.py [--draws 20 --per-end 1,5,25,all --seed 0]

Tweets (retweets and replies out) joined to their like counts; texts embedded with the shipped
all-MiniLM-L6-v2. Half the tweets (seeded) fit the axes, the other half is scored: Spearman between
the projection and log1p(likes). An axis from k examples per end draws k tweets at random from the
lowest and from the highest quarter of likes of the fitting half (difference of the two means),
--draws times; `all` takes the whole quarters. The ridge fits every like count of the fitting half.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table
from scipy.stats import spearmanr

from curation.rank_axis import axis_from_extremes, axis_from_labels, extreme_rows
from filters.rank import text_embeddings

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DATA", REPO.parent / "shared" / "data"))


def tweets(shared: Path) -> pl.DataFrame:
    folder = shared / "weratedogs-likes"
    likes = pl.DataFrame(json.loads((folder / "tweet_public_metrics.json").read_text()))
    archive = pl.read_csv(folder / "twitter-archive-enhanced.csv", schema_overrides={"tweet_id": pl.Utf8},
                          infer_schema_length=0)
    return (archive.filter(pl.col("retweeted_status_id").is_null()
                           & pl.col("in_reply_to_status_id").is_null())
            .select("tweet_id", pl.col("text").str.replace_all(r"https?://\S+", "").str.strip_chars())
            .join(likes.select(pl.col("tweet_id").cast(pl.Utf8), "like_count"), on="tweet_id")
            .filter(pl.col("like_count") > 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--per-end", default="1,5,25,all")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = tweets(SHARED)
    features = text_embeddings(data["text"].to_list())
    labels = np.log1p(data["like_count"].to_numpy().astype(np.float64))
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(data.height)
    fit_rows, test_rows = order[: data.height // 2], order[data.height // 2:]

    def spearman(axis) -> float:
        return float(spearmanr(axis.score(features[test_rows]), labels[test_rows]).statistic)

    table = Table(title=f"WeRateDogs: {data.height:,} tweets (fit on {len(fit_rows):,}, Spearman on "
                        f"{len(test_rows):,}), MiniLM text embeddings vs log1p(likes)")
    for column in ("axis", "examples per end", "Spearman (mean ± sd)", "draws"):
        table.add_column(column, justify="right" if column != "axis" else "left")
    for k in args.per_end.split(","):
        per_end = None if k == "all" else int(k)
        draws = 1 if per_end is None else args.draws
        values = []
        for _ in range(draws):
            low, high = extreme_rows(labels[fit_rows], per_end, rng=rng)
            values.append(spearman(axis_from_extremes(features[fit_rows], low, high)))
        size = len(extreme_rows(labels[fit_rows], None)[0])
        table.add_row("difference of end means", f"{k} (of {size})" if per_end else f"all {size}",
                      f"{np.mean(values):.3f} ± {np.std(values):.3f}", str(draws))
    ridge = spearman(axis_from_labels(features[fit_rows], labels[fit_rows]))
    table.add_row("ridge regression, every label", f"all {len(fit_rows)} labels", f"{ridge:.3f}", "1")
    Console().print(table)


if __name__ == "__main__":
    main()
