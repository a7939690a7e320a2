"""The rank score stage: under the engine, and on text through the real shipped MiniLM."""

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr

from curation.engine import run
from curation.rank_axis import axis_from_extremes, extreme_rows
from curation.writers import read_shards
from filters.rank import RankScore, column_matrix, rank_stages, text_embeddings


def embedded_rows(n: int = 120, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.normal(size=n)
    features = rng.normal(size=(n, 8)).astype(np.float32)
    features[:, 0] += 3 * labels
    frame = pl.DataFrame({"row_id": [str(i) for i in range(n)], "text": [f"row {i}" for i in range(n)],
                          "embedding": features.tolist()})
    return frame, labels


def test_the_stage_runs_in_the_engine_and_can_filter(tmp_path):
    frame, labels = embedded_rows()
    axis = axis_from_extremes(column_matrix(frame["embedding"]), *extreme_rows(labels, 3),
                              metadata={"embedder": "column"}).save(tmp_path / "axis.safetensors")
    batches = [frame.slice(0, 50), frame.slice(50, 70)]
    manifest = run(batches, rank_stages(axis, "column", "embedding", min_score=0.0), tmp_path / "out",
                   progress=False)
    kept, rejected = read_shards(tmp_path / "out" / "kept"), read_shards(tmp_path / "out" / "rejected")
    assert manifest.rows_in == 120 and kept.height + rejected.height == 120
    assert kept["rank_score"].min() >= 0 and set(rejected["reject_reason"]) == {"below_rank_threshold"}
    scored = pl.concat([kept, rejected.select(kept.columns)]).sort(pl.col("row_id").cast(int))
    assert spearmanr(scored["rank_score"], labels).statistic > 0.6


def test_an_axis_from_another_embedder_is_refused(tmp_path):
    frame, labels = embedded_rows()
    axis = axis_from_extremes(column_matrix(frame["embedding"]), *extreme_rows(labels, 3),
                              metadata={"embedder": "column"}).save(tmp_path / "axis.safetensors")
    with pytest.raises(Exception, match="fitted on column"):
        RankScore(axis, embedder="minilm")


def test_minilm_text_axis_from_two_extremes_separates_held_out_texts(tmp_path):
    texts = ["I hate this, it is awful and terrible.", "I love this, it is wonderful and brilliant!",
             "This is dreadful, the worst day ever.", "What a horrible, miserable evening.",
             "The best, happiest day of my life!", "A delightful, lovely surprise."]
    features = text_embeddings(texts)
    assert features.shape == (6, 384)
    axis = axis_from_extremes(features, np.array([0]), np.array([1]), {"embedder": "minilm"})
    out = RankScore(axis.save(tmp_path / "axis.safetensors"))(pl.DataFrame({"text": texts[2:]}))
    negative, positive = out["rank_score"][:2], out["rank_score"][2:]
    assert positive.min() > negative.max()
