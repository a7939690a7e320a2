"""`curate posts clean --engine ray` against the local engine on a small post sample: the same kept
and rejected rows (order aside), the same reject reasons and the same manifest counts."""

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.posts import app
from curation.testing.image_server import ImageServer
from curation.writers import read_shards

pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[2]
POSTS = 48
MIN_LIKES = 1_000


def extra_posts(image_url: str, repeated: dict) -> list[str]:
    """Lines that reach the stages the WeRateDogs page alone does not: a malformed line (rejected at
    `read`), a repeated post (at `duplicates`) and a post with an AI hashtag (at `text_signals`)."""
    hashtag = {"id": "1", "author": "someone", "text": "made this #aiart", "like_count": 9_999,
               "created_at": "2016-01-01T00:00:00Z", "image_url": image_url}
    return ["{not json", json.dumps(repeated), json.dumps(hashtag)]


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


def clean(posts: Path, out: Path, *options: str) -> dict:
    args = ["clean", str(posts), "--out", str(out), "--no-models", "--json", "--min-likes", str(MIN_LIKES),
            "--allow-private-hosts", "127.0.0.1/32"]  # the image server is local; the default refuses it
    result = CliRunner().invoke(app, [*args, *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rows(out: Path, part: str) -> pl.DataFrame:
    """A part's rows in a stable order, without `image_path` (each run has its own images folder)."""
    frame = read_shards(out / part).drop("image_path")
    return frame.select(sorted(frame.columns)).sort("row_id")


def test_ray_matches_local_on_a_post_sample(post_sample, tmp_path):
    server, posts = post_sample
    local = clean(posts, tmp_path / "local", "--engine", "local")
    requests = sum(server.counts.values())
    on_ray = clean(posts, tmp_path / "ray", "--engine", "ray", "--workers", "2")

    assert sum(server.counts.values()) == 2 * requests, "the Ray run fetched every image itself"
    for part in ("kept", "rejected"):
        assert rows(tmp_path / "ray", part).equals(rows(tmp_path / "local", part)), part
    assert on_ray["stages"] == local["stages"] and on_ray["balanced"] and local["balanced"]
    assert on_ray["rows_kept"] == local["rows_kept"] > 0
    rejected_at = {s["name"] for s in local["stages"] if s["rejected"]}
    assert rejected_at == {"read", "duplicates", "fetch", "decode", "engagement", "text_signals",
                           "ai_metadata"}
    print(f"\nposts on both engines: {local['rows_in']} rows, {local['rows_kept']} kept; "
          + "; ".join(f"{s['name']}: {s['reasons']}" for s in local["stages"] if s["reasons"]))


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
