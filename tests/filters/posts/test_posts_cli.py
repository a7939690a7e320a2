import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.posts import app
from curation.testing.image_server import ImageServer

REPO = Path(__file__).resolve().parents[3]
LOCAL = ("--allow-private-hosts", "127.0.0.1/32")  # the image server is local; the default refuses it
FAULT_REASONS = {
    "missing": "http_404",
    "tiny": "too_small",
    "banner": "extreme_aspect_ratio",
    "truncated": "truncated_image",
    "sd_parameters": "ai_metadata",
}


def make_sample(out: Path, server: ImageServer, *options: str) -> None:
    command = [sys.executable, str(REPO / "scripts" / "make_weratedogs_sample.py"), "--out", str(out),
               "--base-url", server.base_url, *options]
    subprocess.run(command, check=True, capture_output=True)


@pytest.fixture(scope="module")
def weratedogs(shared_data, tmp_path_factory):
    """300 real WeRateDogs posts (ids, likes, text) whose synthetic images a local server serves."""
    sample = tmp_path_factory.mktemp("weratedogs")
    with ImageServer(root=sample / "images") as server:
        make_sample(sample, server, "--data", str(shared_data / "weratedogs-likes"), "--posts", "300")
        yield server, sample


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """40 synthetic posts, made without any shared data, whose images a local server serves."""
    sample = tmp_path_factory.mktemp("synthetic")
    with ImageServer(root=sample / "images") as server:
        make_sample(sample, server, "--data", str(sample / "no-such-folder"), "--posts", "40")
        yield server, sample


def read_all(folder: Path) -> pl.DataFrame:
    """Every shard of a folder; rejected shards of different stages have different columns."""
    return pl.concat([pl.read_parquet(p) for p in sorted(folder.glob("*.parquet"))], how="diagonal_relaxed")


def clean(posts: Path, out: Path, *options: str) -> dict:
    result = CliRunner().invoke(
        app, ["clean", str(posts), "--out", str(out), "--no-models", "--json", *LOCAL, *options]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_clean_weratedogs_end_to_end(weratedogs, tmp_path, shared_data):
    server, sample = weratedogs
    manifest = clean(sample / "posts.jsonl", tmp_path / "clean", "--min-likes", "1")
    kept = read_all(tmp_path / "clean" / "kept")
    rejected = read_all(tmp_path / "clean" / "rejected")

    assert manifest["balanced"] and manifest["rows_in"] == 300 == kept.height + rejected.height
    assert [s["name"] for s in manifest["stages"]] == [
        "read",
        "duplicates",
        "fetch",
        "decode",
        "engagement",
        "text_signals",
        "ai_metadata",
    ]
    faults = json.loads((sample / "faults.json").read_text())
    reasons = dict(zip(rejected["post_id"], rejected["reject_reason"], strict=True))
    assert {post: reasons.get(post) for post in faults} == {p: FAULT_REASONS[f] for p, f in faults.items()}
    assert {r for p, r in reasons.items() if p not in faults} <= {"low_likes"}

    metrics = {
        m["tweet_id"]: m["like_count"]
        for m in json.loads((shared_data / "weratedogs-likes" / "tweet_public_metrics.json").read_text())
    }
    assert kept.schema["post_id"] == pl.Utf8
    assert all(
        metrics[p] == likes and likes >= 1 for p, likes in kept.select("post_id", "like_count").iter_rows()
    )
    assert kept["author"].unique().to_list() == ["dog_rates"]
    assert kept["width"].min() >= 64 and kept["image_sha256"].n_unique() == kept.height
    print(
        f"\nweratedogs sample: {manifest['rows_in']} posts, {manifest['rows_kept']} kept, "
        f"{manifest['rows_rejected']} rejected, balanced={manifest['balanced']}; "
        + "; ".join(f"{s['name']}: {s['reasons']}" for s in manifest["stages"] if s["reasons"])
    )

    requests = sum(server.counts.values())
    again = clean(
        sample / "posts.jsonl",
        tmp_path / "again",
        "--min-likes",
        "1",
        "--images-dir",
        str(tmp_path / "clean" / "images"),
    )
    assert sum(server.counts.values()) == requests, "the second run is served from the fetch index"
    assert again["rows_kept"] == manifest["rows_kept"]


def test_ingest_writes_the_post_schema(weratedogs, tmp_path):
    _, sample = weratedogs
    result = CliRunner().invoke(
        app, ["ingest", str(sample / "posts.jsonl"), "--out", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    posts = pl.read_parquet(tmp_path / "kept")
    assert posts.height == 300 and posts["image_url"].str.starts_with("http://127.0.0.1:").all()
    assert posts.schema["created_at"] == pl.Datetime("us", "UTC") and posts.schema["like_count"] == pl.Int64


def test_author_normalisation_from_the_command_line(weratedogs, tmp_path):
    _, sample = weratedogs
    manifest = clean(
        sample / "posts.jsonl",
        tmp_path,
        "--normalise",
        "month",
        "--min-score",
        "0.5",
        "--images-dir",
        str(tmp_path / "images"),
    )
    engagement = next(s for s in manifest["stages"] if s["name"] == "engagement")
    assert manifest["balanced"] and engagement["reasons"].get("low_engagement", 0) > 0
    kept = pl.read_parquet(tmp_path / "kept")
    assert (kept["engagement_score"] >= 0.5).all()


def test_synthetic_posts_need_no_shared_data(synthetic):
    _, sample = synthetic
    pages = [json.loads(line) for line in (sample / "posts.jsonl").read_text().splitlines()]
    posts = [post for page in pages for post in page["data"]]
    assert len(posts) == 40 and all(isinstance(p["id"], str) and len(p["id"]) == 18 for p in posts)
    assert len({p["public_metrics"]["like_count"] for p in posts}) > 30
    assert set(json.loads((sample / "faults.json").read_text())) <= {p["id"] for p in posts}


def test_clean_run_elsewhere_stores_image_paths_that_open_from_anywhere(synthetic, tmp_path, monkeypatch):
    _, sample = synthetic
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    posts = str(sample / "posts.jsonl")
    result = CliRunner().invoke(app, ["clean", posts, "--out", "../clean", "--no-models", *LOCAL])
    assert result.exit_code == 0, result.output
    assert "40/40" in result.output  # the progress bar knows its total
    monkeypatch.chdir(sample)
    paths = [Path(p) for p in pl.read_parquet(tmp_path / "clean" / "kept")["image_path"]]
    assert len(paths) > 30 and all(p.is_absolute() and p.is_file() for p in paths)
