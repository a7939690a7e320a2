"""A posts run over ten hosts, one of which opts out in its robots.txt: the manifest says which signals
were honoured and how many posts each removed."""

import contextlib
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.posts import app
from curation.testing.image_server import ImageServer, Response, synthetic_image

HOSTS = [f"127.0.0.{n}" for n in range(11, 21)]
IMAGES_PER_HOST = 3


@pytest.fixture(scope="module")
def ten_hosts(tmp_path_factory):
    """Ten image hosts on loopback addresses; the last disallows this crawler; one post per image."""
    posts = tmp_path_factory.mktemp("posts") / "posts.jsonl"
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(ImageServer(host=host)) for host in HOSTS]
        servers[-1].robots("User-agent: aesthetic-curation\nDisallow: /\n")
        lines = []
        for h, server in enumerate(servers):
            for i in range(IMAGES_PER_HOST):
                body = synthetic_image(120, 90, seed=10 * h + i, fmt="JPEG")
                url = server.route(f"/art/{i}.jpg", Response.image(body))
                post = {"post_id": str(100 * h + i), "author": f"a{h}", "like_count": 10, "image_url": url}
                lines.append(json.dumps(post))
        posts.write_text("\n".join(lines) + "\n")
        yield servers, posts


def clean(posts: Path, out: Path, *options: str) -> dict:
    args = ["clean", str(posts), "--out", str(out), "--no-models", "--json",
            "--allow-private-hosts", "127.0.0.0/24"]
    result = CliRunner().invoke(app, [*args, *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_tenth_of_the_hosts_opting_out_removes_their_posts(ten_hosts, tmp_path):
    servers, posts = ten_hosts
    manifest = clean(posts, tmp_path / "out")
    fetch = next(s for s in manifest["stages"] if s["name"] == "fetch")
    assert fetch["reasons"] == {"opt_out:robots": IMAGES_PER_HOST}
    assert manifest["rows_kept"] == (len(HOSTS) - 1) * IMAGES_PER_HOST
    assert manifest["params"]["consent"]["honoured"] == ["robots", "x-robots-tag", "tdmrep", "c2pa"]
    rejected = pl.read_parquet(tmp_path / "out" / "rejected")
    assert rejected["reject_detail"].str.contains("Disallow: / for 'aesthetic-curation'").all()
    assert all(servers[-1].counts[f"/art/{i}.jpg"] == 0 for i in range(IMAGES_PER_HOST))
    assert [s.counts["/robots.txt"] for s in servers] == [1] * len(HOSTS), "one robots.txt fetch per host"


def test_switching_robots_off_is_recorded_and_keeps_every_post(ten_hosts, tmp_path):
    _, posts = ten_hosts
    manifest = clean(posts, tmp_path / "out", "--no-robots")
    assert manifest["rows_kept"] == len(HOSTS) * IMAGES_PER_HOST
    assert manifest["params"]["consent"]["honoured"] == ["x-robots-tag", "tdmrep", "c2pa"]


@pytest.fixture(scope="module")
def every_signal(tmp_path_factory):
    """One host publishing every signal (see test_fetch_consent), one post per image."""
    from tests.filters.posts.test_fetch_consent import publish

    posts = tmp_path_factory.mktemp("signals") / "posts.jsonl"
    with ImageServer() as server:
        urls = publish(server)
        lines = [json.dumps({"post_id": str(n), "text": name, "like_count": 10, "image_url": url})
                 for n, (name, url) in enumerate(urls.items())]
        posts.write_text("\n".join(lines) + "\n")
        yield posts


def fetch_reasons(out: Path, *options: str, posts: Path) -> dict:
    manifest = clean(posts, out, *options)
    return next(s for s in manifest["stages"] if s["name"] == "fetch")["reasons"]


@pytest.mark.parametrize(
    ("options", "reasons"),
    [
        ((), {"opt_out:tdmrep": 2, "opt_out:x-robots-tag": 1, "opt_out:robots": 1, "opt_out:c2pa": 1}),
        (("--no-robots",), {"opt_out:tdmrep": 2, "opt_out:x-robots-tag": 1, "opt_out:c2pa": 1}),
        (("--no-x-robots-tag",), {"opt_out:tdmrep": 2, "opt_out:robots": 1, "opt_out:c2pa": 1}),
        (("--no-tdmrep",), {"opt_out:x-robots-tag": 1, "opt_out:robots": 1, "opt_out:c2pa": 1}),
        (("--no-c2pa",), {"opt_out:tdmrep": 2, "opt_out:x-robots-tag": 1, "opt_out:robots": 1}),
        (("--x-robots-directives", "noindex"), {"opt_out:tdmrep": 2, "opt_out:robots": 1, "opt_out:c2pa": 1}),
        (("--user-agent", "otherbot/2.0"), {"opt_out:robots": 8}),
    ],
)
def test_the_consent_options_of_the_command_line(every_signal, tmp_path, options, reasons):
    assert fetch_reasons(tmp_path / "out", *options, posts=every_signal) == reasons
