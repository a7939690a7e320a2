"""README "Rank axes": the block's five inputs made as a user would have them (WeRateDogs tweets with
their likes, judged poems, posts with image files, rows with a feature file, a clean output), then
every fit and score line run as written; open_clip gets a tiny random model (no weights offline)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from curation.testing.image_server import synthetic_image
from tests.e2e.conftest import UserShell
from tests.filters.posts.clip_helpers import tiny_clip_config

CLIP_LINE = "--embedder clip --column image_path"
FORMS = ("ballad", "blank-verse", "bucolic", "aubade", "allegory")  # a user's few forms
IMAGES = 100  # 25 per end are drawn from the lowest and highest quarters


def make_inputs(user: UserShell, shared_data) -> None:
    clone, rng = user.clone, np.random.default_rng(0)
    likes = pl.read_json(shared_data / "weratedogs-likes" / "tweet_public_metrics.json")
    tweets = pl.read_csv(shared_data / "weratedogs-likes" / "twitter-archive-enhanced.csv",
                         schema_overrides={"tweet_id": pl.Utf8})
    tweets.join(likes, on="tweet_id").select("text", "like_count").head(120).write_parquet(
        clone / "tweets.parquet")
    forms = " ".join(f"samples/poems/forms/{form}" for form in FORMS)
    user.run_command(f"mkdir -p corpus/forms && cp -r {forms} corpus/forms/ && "
                     "curate poems clean corpus --out out/poems")
    poems = pl.read_parquet(sorted((clone / "out/poems/kept").glob("*.parquet"))).head(60)
    scores = pl.Series(rng.integers(1, 6, poems.height))
    poems.select("text").with_columns(aesthetic_score=scores).write_parquet(clone / "poems.parquet")
    (clone / "images").mkdir()
    paths = []
    for index in range(IMAGES):
        path = clone / "images" / f"{index}.png"
        path.write_bytes(synthetic_image(seed=index))
        paths.append(str(path))
    posts = pl.DataFrame({"image_path": paths, "likes": rng.integers(0, 5000, IMAGES)})
    posts.write_parquet(clone / "posts.parquet")
    pl.DataFrame({"likes": rng.integers(0, 5000, 50)}).write_parquet(clone / "rows.parquet")
    np.save(clone / "feats.npy", rng.normal(size=(50, 16)).astype(np.float32))


@pytest.fixture(scope="module")
def ranked(module_user: UserShell, shared_data) -> UserShell:
    make_inputs(module_user, shared_data)
    tiny = f"{CLIP_LINE} --clip-model {tiny_clip_config()} --clip-pretrained none"
    module_user.run("rank", replace={CLIP_LINE: tiny})
    return module_user


def test_every_fit_writes_an_axis_with_its_metadata(ranked: UserShell) -> None:
    for name, embedder in (("likes", "minilm"), ("judge", "minilm"), ("img", "clip"), ("f", "features")):
        meta = json.loads((ranked.clone / "axes" / f"{name}.json").read_text())
        assert (ranked.clone / "axes" / f"{name}.safetensors").stat().st_size > 0
        assert embedder in json.dumps(meta), (name, meta)


def test_score_adds_rank_score_and_min_score_filters_on_it(ranked: UserShell) -> None:
    everything = json.loads((ranked.clone / "out/ranked/manifest.json").read_text())
    filtered = json.loads((ranked.clone / "out/ranked-3.5/manifest.json").read_text())
    assert everything["balanced"] and filtered["balanced"]
    assert everything["rows_kept"] == everything["rows_in"] == filtered["rows_in"] > 20
    kept = pl.read_parquet(sorted((ranked.clone / "out/ranked-3.5/kept").glob("*.parquet")))
    assert kept.height == filtered["rows_kept"] and (kept["rank_score"] >= 3.5).all()
