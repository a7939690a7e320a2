"""`curate posts clean` on a small post sample gives one answer on every engine: local with 1 worker,
local with 2 workers and Ray give the same kept and rejected rows (order aside) and the same manifest
but for its timings, with the model stages on (a tiny open_clip ViT with random weights, on CPU)."""

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.posts import app
from curation.manifest import without_timings
from curation.testing.image_server import ImageServer
from curation.writers import read_shards
from tests.filters.posts.clip_helpers import tiny_clip_config
from tests.outputs import rows as run_rows

pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[2]
POSTS = 48
MIN_LIKES = 1_000
MODELS = ["--clip-model", tiny_clip_config(), "--clip-pretrained", "none", "--device", "cpu"]


def extra_posts(image_url: str, repeated: dict) -> list[str]:
    """Lines that reach the stages the WeRateDogs page alone does not: a malformed line (rejected at
    `read`), a repeated post (at `duplicates`), a post with an AI hashtag (at `text_signals`) and,
    last, a repost of a picture of the page with more likes, which near-duplicates keep over the
    page's copy however the shards fall."""
    hashtag = {"id": "1", "author": "someone", "text": "made this #aiart", "like_count": 9_999,
               "created_at": "2016-01-01T00:00:00Z", "image_url": image_url}
    repost = {"id": "2", "author": "someone", "text": "look at this good dog", "like_count": 10_000_000,
              "created_at": "2016-01-01T00:00:00Z", "image_url": image_url}
    return ["{not json", json.dumps(repeated), json.dumps(hashtag), json.dumps(repost)]


@pytest.fixture(scope="module")
def post_sample(shared_data, tmp_path_factory):
    """WeRateDogs posts (real ids, likes, text; synthetic images, a few faulty) served locally."""
    sample = tmp_path_factory.mktemp("posts")
    with ImageServer(root=sample / "images") as server:
        subprocess.run([sys.executable, str(REPO / "scripts" / "make_weratedogs_sample.py"),
                        "--data", str(shared_data / "weratedogs-likes"), "--out", str(sample),
                        "--posts", str(POSTS), "--base-url", server.base_url],
                       check=True, capture_output=True)
        posts = sample / "posts.jsonl"
        page = json.loads(posts.read_text())
        faults = json.loads((sample / "faults.json").read_text())
        sound = next(p for p in page["data"] if p["id"] not in faults)
        image_url = next(m["url"] for m in page["includes"]["media"]
                         if m["media_key"] in sound["attachments"]["media_keys"])
        repeated = {"id": sound["id"], "text": sound["text"], "like_count": 1, "image_url": image_url}
        with open(posts, "a") as handle:
            handle.write("\n".join(extra_posts(image_url, repeated)) + "\n")
        yield server, posts


def clean(posts: Path, out: Path, *options: str, models: bool = False) -> dict:
    args = ["clean", str(posts), "--out", str(out), "--json", "--min-likes", str(MIN_LIKES),
            "--allow-private-hosts", "127.0.0.1/32"]  # the image server is local; the default refuses it
    args += MODELS if models else ["--no-models"]
    result = CliRunner().invoke(app, [*args, *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rows(out: Path, part: str) -> pl.DataFrame:
    return run_rows(out, part, drop=["image_path"])  # each run has its own images folder


def test_an_unknown_engine_is_refused(post_sample, tmp_path):
    _, posts = post_sample
    result = CliRunner().invoke(app, ["clean", str(posts), "--out", str(tmp_path), "--no-models",
                                      "--engine", "spark"])
    assert result.exit_code != 0 and "--engine must be local or ray" in str(result.exception)


def test_a_rerun_keeps_the_complete_shard_unless_told_not_to(post_sample, tmp_path):
    _, posts = post_sample
    first = clean(posts, tmp_path)
    kept = {p: p.stat().st_mtime_ns for p in (tmp_path / "kept").glob("*.parquet")}
    again = clean(posts, tmp_path)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "kept").glob("*.parquet")} == kept
    assert again["stages"] == first["stages"]

    afresh = clean(posts, tmp_path, "--no-resume")
    assert all(p.stat().st_mtime_ns != mtime for p, mtime in kept.items())
    assert afresh["stages"] == first["stages"]


def comparable(manifest: dict) -> dict:
    """A manifest without timings, nor the images folder (each run has its own, under --out)."""
    manifest = without_timings(manifest)
    return {**manifest, "params": {k: v for k, v in manifest["params"].items() if k != "images_dir"}}


def test_local_1_local_2_and_ray_give_one_answer_with_the_model_stages_on(post_sample, tmp_path):
    server, posts = post_sample
    engines = {"local": ["--engine", "local"], "two": ["--workers", "2"],
               "ray": ["--engine", "ray", "--workers", "2"]}
    runs, requests = {}, [sum(server.counts.values())]
    for name, options in engines.items():
        runs[name] = clean(posts, tmp_path / name, "--shard-rows", "2", *options, models=True)
        requests.append(sum(server.counts.values()))

    # each run fetched every image itself (each worker process asks for robots.txt once more)
    fetched = [after - before for before, after in zip(requests, requests[1:], strict=False)]
    assert fetched[0] > 0 and min(fetched) >= fetched[0], fetched
    for name in ("two", "ray"):
        for part in ("kept", "rejected"):
            assert rows(tmp_path / name, part).equals(rows(tmp_path / "local", part)), (name, part)
        assert comparable(runs[name]) == comparable(runs["local"]), name
    local = runs["local"]
    assert local["balanced"] and len(local["outputs"]["kept"]) > 1  # more than one shard kept rows
    rejected_at = {s["name"] for s in local["stages"] if s["rejected"]}
    assert {"read", "duplicates", "fetch", "decode", "engagement", "text_signals", "ai_metadata",
            "near_duplicates"} <= rejected_at
    kept = read_shards(tmp_path / "local" / "kept")
    near = read_shards(tmp_path / "local" / "rejected").filter(pl.col("reject_stage") == "near_duplicates")
    assert "2" in kept["post_id"].to_list()  # the most-liked copy, in the last shard
    assert "kept copy: 2" in near["reject_detail"].to_list() and "2" not in near["post_id"].to_list()
    assert {t["name"] for t in local["timings"] if t["seconds"] > 0} >= {"read", "embed", "near_duplicates"}
    print(f"\nposts on every engine: {local['rows_in']} rows, {local['rows_kept']} kept; "
          + "; ".join(f"{s['name']}: {s['reasons']}" for s in local["stages"] if s["reasons"]))


def test_options_that_do_not_apply_to_the_local_engine_are_refused(post_sample, tmp_path):
    _, posts = post_sample
    for option in (["--ray-address", "auto"], ["--gpus-per-worker", "0.5"]):
        args = ["clean", str(posts), "--out", str(tmp_path), "--no-models", *option]
        result = CliRunner().invoke(app, args)
        assert result.exit_code != 0 and f"{option[0]} only apply to --engine ray" in str(result.exception)
