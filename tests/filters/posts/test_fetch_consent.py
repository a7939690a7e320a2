"""Each opt-out signal, published by a real local server, refuses its images before anything is stored."""

import functools
import time
from pathlib import Path

import polars as pl
import pytest

from curation.engine import run
from curation.testing.c2pa_images import signed_image
from curation.testing.image_server import ImageServer, Response, synthetic_image
from filters.posts.consent import ConsentPolicy
from filters.posts.fetch import FetchImages

JPEG = synthetic_image(96, 72, seed=5, fmt="JPEG")
LOCAL = ("127.0.0.1/32",)
ROBOTS = "User-agent: *\nDisallow: /private/\n\nUser-agent: otherbot\nDisallow: /\n"
EXPECTED = {
    "ok": None,
    "noai_header": "opt_out:x-robots-tag",
    "noai_for_another_bot": None,
    "tdm_header": "opt_out:tdmrep",
    "tdmrep_file": "opt_out:tdmrep",
    "robots_disallow": "opt_out:robots",
    "c2pa_not_allowed": "opt_out:c2pa",
    "c2pa_allowed": None,
}
SIGNAL_OF = {"x_robots_tag": "opt_out:x-robots-tag", "tdmrep": "opt_out:tdmrep", "robots": "opt_out:robots",
             "c2pa": "opt_out:c2pa"}


def fetcher(images: Path, **consent) -> FetchImages:
    return FetchImages(images, workers=4, timeout=2, attempts=2, backoff_initial=0.01, backoff_max=0.05,
                       consent=ConsentPolicy(**consent), allow_networks=LOCAL)


@functools.cache
def signed(use: str) -> bytes:
    return signed_image(JPEG, {"c2pa.ai_training": use})


def publish(server: ImageServer) -> dict[str, str]:
    """A host that publishes every signal; returns name -> image URL."""
    server.robots(ROBOTS)
    server.tdmrep([{"location": "/reserved/*", "tdm-reservation": 1, "tdm-policy": "https://example.org/tdm"}])
    routes = {
        "ok": ("/ok.jpg", Response.image(JPEG)),
        "noai_header": ("/noai.jpg", Response.image(JPEG, headers={"X-Robots-Tag": "noai, noimageai"})),
        "noai_for_another_bot": ("/other.jpg",
                                 Response.image(JPEG, headers={"X-Robots-Tag": "otherbot: noai"})),
        "tdm_header": ("/tdm.jpg", Response.image(JPEG, headers={"tdm-reservation": "1"})),
        "tdmrep_file": ("/reserved/a.jpg", Response.image(JPEG)),
        "robots_disallow": ("/private/b.jpg", Response.image(JPEG)),
        "c2pa_not_allowed": ("/c2pa.jpg", Response.image(signed("notAllowed"))),
        "c2pa_allowed": ("/c2pa_ok.jpg", Response.image(signed("allowed"))),
    }
    return {name: server.route(path, response) for name, (path, response) in routes.items()}


def fetch(stage: FetchImages, urls: dict[str, str]) -> pl.DataFrame:
    batch = pl.DataFrame({"name": list(urls), "image_url": list(urls.values()),
                          "image_path": [None] * len(urls)}, schema_overrides={"image_path": pl.Utf8})
    try:
        return stage(batch)
    finally:
        stage.close()


@pytest.fixture
def host():
    with ImageServer() as server:
        yield server, publish(server)


def stored_files(images: Path) -> set[str]:
    return {p.name for p in images.rglob("*") if p.is_file() and p.suffix in (".jpg", ".png")}


def test_every_signal_refuses_with_evidence_and_nothing_refused_is_stored(host, tmp_path):
    server, urls = host
    out = fetch(fetcher(tmp_path / "images"), urls)
    reasons = dict(zip(out["name"], out["reject_reason"], strict=True))
    assert reasons == EXPECTED
    detail = dict(zip(out["name"], out["reject_detail"], strict=True))
    assert detail["noai_header"] == "X-Robots-Tag: noai, noimageai (noai)"
    assert detail["tdm_header"] == "tdm-reservation: 1"
    assert "tdmrep.json" in detail["tdmrep_file"] and '"location": "/reserved/*"' in detail["tdmrep_file"]
    assert "Disallow: /private/" in detail["robots_disallow"]
    assert "c2pa.ai_training: notAllowed" in detail["c2pa_not_allowed"]

    kept = out.filter(pl.col("reject_reason").is_null())
    assert stored_files(tmp_path / "images") == {Path(p).name for p in kept["image_path"]}
    assert out.filter(pl.col("reject_reason").is_not_null())["image_path"].is_null().all()
    counts = server.counts
    assert counts["/private/b.jpg"] == 0 and counts["/reserved/a.jpg"] == 0, "refused before any request"
    assert counts["/robots.txt"] == 1 and counts["/.well-known/tdmrep.json"] == 1, "once per host"


@pytest.mark.parametrize("signal", list(SIGNAL_OF))
def test_each_signal_can_be_switched_off_alone(host, tmp_path, signal):
    _, urls = host
    out = fetch(fetcher(tmp_path / "images", **{signal: False}), urls)
    reasons = dict(zip(out["name"], out["reject_reason"], strict=True))
    assert reasons == {name: None if reason == SIGNAL_OF[signal] else reason
                       for name, reason in EXPECTED.items()}


def test_a_rerun_under_another_policy_decides_again(host, tmp_path):
    _, urls = host
    images = tmp_path / "images"
    assert fetch(fetcher(images), urls)["reject_reason"].null_count() == 3
    assert fetch(fetcher(images, robots=False), urls)["reject_reason"].null_count() == 4


def test_an_unreachable_robots_txt_refuses_the_host_until_asked_again(tmp_path):
    with ImageServer() as server:
        server.route("/robots.txt", Response.error(503))
        url = server.route("/a.jpg", Response.image(JPEG))
        out = fetch(fetcher(tmp_path / "images"), {"a": url})
        assert out["reject_reason"].to_list() == ["robots_unreachable"]
        assert "complete disallow assumed" in out["reject_detail"][0]
        assert server.counts["/a.jpg"] == 0 and server.counts["/robots.txt"] == 2, "tried `attempts` times"

        server.route("/robots.txt", Response.error(404))
        again = fetch(FetchImages(tmp_path / "images", retry_failed=True, allow_networks=LOCAL), {"a": url})
        assert again["reject_reason"].to_list() == [None], "a 404 robots.txt means no rules"


def test_crawl_delay_spaces_the_requests_to_a_host(tmp_path):
    with ImageServer() as server:
        server.robots("User-agent: *\nCrawl-delay: 0.3\n")
        pictures = [synthetic_image(80, 80, seed=n, fmt="JPEG") for n in range(4)]
        urls = {f"i{n}": server.route(f"/{n}.jpg", Response.image(body)) for n, body in enumerate(pictures)}
        started = time.monotonic()
        out = fetch(fetcher(tmp_path / "images"), urls)
        elapsed = time.monotonic() - started
        assert out["reject_reason"].null_count() == 4
        assert elapsed >= 3 * 0.3, "four requests on four threads, yet one at a time, 0.3 s apart"
        arrivals = [t for path, t in server.log if path.endswith(".jpg")]
        assert arrivals[-1] - arrivals[0] >= 2 * 0.3, "spaced at the server too (one delay's worth of jitter)"


def test_the_manifest_counts_what_each_signal_removed(host, tmp_path):
    _, urls = host
    posts = pl.DataFrame({"row_id": list(urls), "post_id": list(urls), "image_url": list(urls.values()),
                          "image_path": [None] * len(urls)}, schema_overrides={"image_path": pl.Utf8})
    stage = fetcher(tmp_path / "images")
    manifest = run([posts], [stage], tmp_path / "out", progress=False)
    stage.close()
    assert dict(manifest.stage("fetch").reasons) == {"opt_out:x-robots-tag": 1, "opt_out:tdmrep": 2,
                                                     "opt_out:robots": 1, "opt_out:c2pa": 1}
