import json
from pathlib import Path

import polars as pl
import pytest

from curation.engine import run
from curation.testing.image_server import ImageServer, Response, synthetic_image
from filters.posts.fetch import FetchImages, image_kind
from filters.posts.ingest import read_posts

PNG = synthetic_image(64, 48, seed=1)
JPEG = synthetic_image(80, 60, seed=2, fmt="JPEG")
MAX_BYTES = 1_000_000
HOST_FILES = {"/robots.txt", "/.well-known/tdmrep.json"}


def fetcher(images_dir: Path, **overrides) -> FetchImages:
    options = {
        "timeout": 1.0,  # robots.txt, tdmrep.json and each image must answer in time, even under load
        "attempts": 2,
        "backoff_initial": 0.02,
        "backoff_max": 0.1,
        "max_bytes": MAX_BYTES,
        "workers": 8,
        "allow_networks": ("127.0.0.1/32",),
    } | overrides
    return FetchImages(images_dir, **options)


def script(server: ImageServer) -> dict[str, tuple[str, str | None]]:
    """Post id -> (image URL, expected reject reason or None for kept)."""
    routes = {
        "ok_png": (Response.image(PNG), None),
        "ok_jpeg": (Response.image(JPEG), None),
        "slow_but_in_time": (Response.image(PNG, delay=0.2), None),
        "too_slow": (Response.image(JPEG, delay=3.0), "timeout"),
        "missing": (Response.error(404), "http_404"),
        "server_error": (Response.error(500), "http_error"),
        "cut_short": (Response.truncated(PNG, keep=100), "incomplete_body"),
        "huge_declared": (Response.huge(PNG, 8 * MAX_BYTES), "too_large"),
        "huge_streamed": (Response.huge(JPEG, 8 * MAX_BYTES, declare_length=False), "too_large"),
        "html_type": (Response.image(PNG, content_type="text/html"), "bad_content_type"),
        "not_an_image": (Response.image(b"<html>hello</html>", content_type="image/png"), "not_an_image"),
        "redirect_to_file": (Response.redirect("file:///etc/passwd"), "bad_scheme"),
    }
    posts = {
        name: (server.route(f"/{name}.img", response), reason) for name, (response, reason) in routes.items()
    }
    server.route("/flaky.img", Response.error(503), Response.image(PNG))
    server.route("/moved.img", Response.redirect(server.url("/ok_jpeg.img")))
    posts |= {
        "flaky": (server.url("/flaky.img"), None),
        "moved": (server.url("/moved.img"), None),
        "same_url_again": (server.url("/ok_png.img"), None),
        "ftp": ("ftp://127.0.0.1/x.png", "bad_scheme"),
        "file": ("file:///etc/hosts", "bad_scheme"),
    }
    return posts


def write_posts(path: Path, posts: dict[str, tuple[str, str | None]]) -> Path:
    lines = [
        json.dumps(
            {
                "post_id": str(1_900_000_000_000_000_000 + n),
                "author": "a",
                "text": name,
                "like_count": n,
                "image_url": url,
            }
        )
        for n, (name, (url, _)) in enumerate(posts.items())
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def outcomes(out: Path) -> dict[str, str | None]:
    kept = pl.read_parquet(out / "kept")
    rejected = pl.read_parquet(out / "rejected") if (out / "rejected").exists() else kept.clear()
    found = dict.fromkeys(kept["text"].to_list())
    found |= dict(zip(rejected["text"], rejected["reject_reason"], strict=True))
    return found


@pytest.fixture
def served(tmp_path):
    with ImageServer() as server:
        posts = script(server)
        yield server, posts, write_posts(tmp_path / "posts.jsonl", posts)


def test_every_post_ends_kept_or_rejected_with_its_reason_and_a_rerun_fetches_nothing(served, tmp_path):
    server, posts, posts_file = served
    images = tmp_path / "images"

    manifest = run(read_posts(posts_file), [fetcher(images)], tmp_path / "first", progress=False)
    assert manifest.balanced and manifest.rows_in == len(posts)
    assert outcomes(tmp_path / "first") == {name: reason for name, (_, reason) in posts.items()}

    first = server.counts
    assert first["/missing.img"] == 1, "a 404 is not retried"
    assert first["/server_error.img"] == 2, "a 5xx is retried"
    assert first["/cut_short.img"] == 2, "a broken body is retried"
    assert first["/flaky.img"] == 2 and first["/ok_png.img"] == 1, "one request per URL, even when shared"

    rerun = run(read_posts(posts_file), [fetcher(images)], tmp_path / "second", progress=False)
    assert server.counts == first, "the re-run requested nothing"
    assert outcomes(tmp_path / "second") == outcomes(tmp_path / "first")
    assert rerun.stage("fetch").reasons == manifest.stage("fetch").reasons


def test_kept_images_are_content_addressed_files(served, tmp_path):
    _, _, posts_file = served
    run(read_posts(posts_file), [fetcher(tmp_path / "images")], tmp_path / "out", progress=False)
    kept = pl.read_parquet(tmp_path / "out" / "kept")
    for path, digest, size in kept.select("image_path", "image_sha256", "image_bytes").iter_rows():
        assert Path(path) == tmp_path / "images" / digest[:2] / f"{digest}{Path(path).suffix}"
        assert Path(path).stat().st_size == size
    moved = kept.filter(pl.col("text") == "moved")["image_sha256"]
    assert moved.to_list() == kept.filter(pl.col("text") == "ok_jpeg")["image_sha256"].to_list()


def test_retry_failed_requests_only_the_transient_failures_again(served, tmp_path):
    server, _, posts_file = served
    images = tmp_path / "images"
    run(read_posts(posts_file), [fetcher(images)], tmp_path / "first", progress=False)
    before = server.counts
    run(read_posts(posts_file), [fetcher(images, retry_failed=True)], tmp_path / "again", progress=False)
    asked_again = server.counts - before
    assert set(asked_again) - HOST_FILES == {"/server_error.img", "/cut_short.img", "/too_slow.img"}
    assert all(asked_again[path] == 1 for path in HOST_FILES), "a new run reads the host's rules once"


def test_a_deleted_image_file_is_fetched_again(served, tmp_path):
    server, _, posts_file = served
    images = tmp_path / "images"
    run(read_posts(posts_file), [fetcher(images)], tmp_path / "first", progress=False)
    kept = pl.read_parquet(tmp_path / "first" / "kept")
    Path(kept.filter(pl.col("text") == "ok_png")["image_path"][0]).unlink()
    before = server.counts["/ok_png.img"]
    run(read_posts(posts_file), [fetcher(images)], tmp_path / "second", progress=False)
    assert server.counts["/ok_png.img"] > before  # fetched again (a retry under load may add one)


def test_local_image_paths_are_hashed_not_fetched(tmp_path):
    picture = tmp_path / "local.png"
    picture.write_bytes(PNG)
    batch = pl.DataFrame(
        {"image_url": [None, None], "image_path": [str(picture), str(tmp_path / "gone.png")]}
    )
    out = fetcher(tmp_path / "images")(batch)
    assert out["image_path"][0] == str(picture) and out["image_bytes"][0] == len(PNG)
    assert out["reject_reason"].to_list() == [None, "missing_file"]


def test_magic_bytes_name_the_format():
    assert [
        image_kind(b)
        for b in (PNG, JPEG, synthetic_image(fmt="GIF"), synthetic_image(fmt="WEBP"), b"%PDF-1.7")
    ] == ["png", "jpg", "gif", "webp", None]
