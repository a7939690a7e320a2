import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image

from curation.engine import run
from filters.posts.model_stages import PostModelConfig, build_model_stages
from filters.posts.probe import fit_probe
from tests.filters.posts.clip_helpers import labelled_folder, noisy_texture, save, scene, tiny_clip_config


def tiny_config(**options) -> PostModelConfig:
    return PostModelConfig(clip_model=tiny_clip_config(), clip_pretrained=None, device="cpu", batch_size=8,
                           **options)


@pytest.fixture
def post_batches(tmp_path) -> list[pl.DataFrame]:
    """Two batches of posts: distinct pictures, a recompressed repost, and one broken file."""
    rng = np.random.default_rng(7)
    paths = [save(scene(rng, (200, 260)) if i % 2 else noisy_texture(rng, (200, 260)),
                  tmp_path / f"{i}.jpg", quality=90) for i in range(10)]
    repost = tmp_path / "repost.jpg"
    Image.open(paths[1]).resize((130, 100)).save(repost, quality=70)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    rows = pl.DataFrame({"row_id": [f"r{i}" for i in range(12)],
                         "post_id": [str(1000 + i) for i in range(12)],
                         "like_count": [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 5, 7],
                         "image_path": [str(p) for p in [*paths, repost, broken]]})
    return [rows[:6], rows[6:]]


def test_stages_come_in_pipeline_order_with_optional_probes(tmp_path):
    names = [s.name for s in build_model_stages(tiny_config())]
    assert names == ["embed", "artwork", "protection", "near_duplicates"]

    folder = labelled_folder(tmp_path / "ai", per_class=6, names=("human", "ai"))
    embedder = build_model_stages(tiny_config())[0]
    probe = fit_probe(folder, embedder, positive="ai").save(tmp_path / "ai.safetensors")
    stages = build_model_stages(tiny_config(ai_probe=probe, protection_shift=True))
    assert [s.name for s in stages] == ["embed", "artwork", "ai_probe", "protection", "near_duplicates"]
    assert "protection_shift" in stages[0].adds and "protection_shift" in stages[3].reads


def test_near_duplicate_threshold_is_a_share_of_the_hash_bits():
    assert tiny_config(near_duplicate_threshold=0.1).near_duplicate_bits == 6
    assert build_model_stages(tiny_config(near_duplicate_threshold=0.2))[-1].max_distance == 12


def test_the_engine_runs_every_model_stage_and_the_manifest_balances(post_batches, tmp_path):
    every_class = ("finished_illustration", "rough_sketch", "game_screenshot", "photo", "meme",
                   "text_screenshot", "comic_page", "3d_render")
    stages = build_model_stages(tiny_config(artwork_keep=every_class))

    manifest = run(post_batches, stages, tmp_path / "out", command="posts models test", progress=False)

    assert manifest.balanced and manifest.rows_in == 12
    saved = json.loads(Path(tmp_path / "out" / "manifest.json").read_text())
    reasons = {s["name"]: s["reasons"] for s in saved["stages"]}
    assert reasons["embed"] == {"image_unreadable": 1}
    assert reasons["near_duplicates"] == {"near_duplicate": 1}
    rejected = pl.read_parquet(tmp_path / "out" / "rejected" / "near_duplicates-*.parquet")
    assert rejected["post_id"].to_list() == ["1010"] and rejected["reject_detail"][0] == "kept copy: 1001"
    kept = pl.read_parquet(tmp_path / "out" / "kept" / "*.parquet")
    assert kept.height == 10
    added = {"clip_embedding", "artwork_class", "artwork_score", "protection_score", "phash"}
    assert added <= set(kept.columns)
