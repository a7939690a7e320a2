"""Untrusted URLs stay outside: every hop's address is checked, and the connection goes to the address
checked. Every request here stays on the loopback range; blocked ones send no packet at all."""

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from curate.posts import app
from curation.testing.certificates import issue
from curation.testing.image_server import ImageServer, Response, synthetic_image
from filters.posts.addresses import Resolver
from filters.posts.fetch import FetchImages

JPEG = synthetic_image(96, 72, seed=7, fmt="JPEG")


def fetch(stage: FetchImages, urls: list[str]) -> pl.DataFrame:
    batch = pl.DataFrame({"image_url": urls, "image_path": [None] * len(urls)},
                         schema_overrides={"image_path": pl.Utf8})
    try:
        return stage(batch)
    finally:
        stage.close()


def clean(posts: Path, out: Path, *options: str) -> dict:
    args = ["clean", str(posts), "--out", str(out), "--no-models", "--json", *options]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_redirect_from_an_allowed_host_to_a_private_one_is_refused(tmp_path):
    with ImageServer(host="127.0.0.1") as inside, ImageServer(host="127.0.0.2") as allowed:
        secret = inside.route("/latest/meta-data.jpg", Response.image(JPEG))
        start = allowed.route("/a.jpg", Response.redirect(secret))
        posts = tmp_path / "posts.jsonl"
        posts.write_text(json.dumps({"post_id": "1", "like_count": 5, "image_url": start}) + "\n")

        manifest = clean(posts, tmp_path / "out", "--allow-private-hosts", "127.0.0.2/32")

        rejected = pl.read_parquet(tmp_path / "out" / "rejected")
        assert rejected["reject_reason"].to_list() == ["blocked_address"]
        assert rejected["reject_detail"][0].startswith("127.0.0.1 resolves to 127.0.0.1 (loopback)")
        assert allowed.counts["/a.jpg"] == 1
        assert sum(inside.counts.values()) == 0, "not even its robots.txt was asked for"
        assert manifest["params"]["consent"]["addresses"] == "public only, 127.0.0.2/32"


def test_loopback_private_and_metadata_addresses_are_refused_by_default(tmp_path):
    with ImageServer() as server:
        urls = [server.route("/a.jpg", Response.image(JPEG)),
                f"http://[::ffff:127.0.0.1]:{server.port}/a.jpg",
                "http://169.254.169.254/latest/meta-data/iam",
                "http://10.0.0.1/x.jpg",
                f"http://localhost:{server.port}/a.jpg"]
        out = fetch(FetchImages(tmp_path / "images", attempts=1), urls)
        assert out["reject_reason"].to_list() == ["blocked_address"] * len(urls)
        details = out["reject_detail"].to_list()
        assert "(loopback)" in details[0] and "(link-local)" in details[2] and "(private)" in details[3]
        assert sum(server.counts.values()) == 0


def test_the_connection_goes_to_the_address_that_was_checked(tmp_path):
    """A name that resolves to an allowed address: the request reaches that address, with the name
    in its Host header; the resolver was asked once for the host."""

    class OneAnswer(Resolver):
        asked: list = []

        def resolve(self, host: str, port: int) -> str:
            self.asked.append(host)
            return "127.0.0.2"

    with ImageServer(host="127.0.0.2") as server:
        server.route("/a.jpg", Response.image(JPEG))
        stage = FetchImages(tmp_path / "images", allow_networks=("127.0.0.2/32",), attempts=1)
        stage.runtime.client.resolver = OneAnswer()
        out = fetch(stage, [f"http://images.example:{server.port}/a.jpg"])
        assert out["reject_reason"].to_list() == [None]
        assert server.counts["/a.jpg"] == 1 and set(OneAnswer.asked) == {"images.example"}


def test_a_rerun_with_the_host_allowed_fetches_what_was_refused(tmp_path):
    with ImageServer() as server:
        url = server.route("/a.jpg", Response.image(JPEG))
        refused = fetch(FetchImages(tmp_path / "images", attempts=1), [url])
        assert refused["reject_reason"].to_list() == ["blocked_address"]
        allowed = fetch(FetchImages(tmp_path / "images", allow_networks=("127.0.0.1/32",)), [url])
        assert allowed["reject_reason"].to_list() == [None] and server.counts["/a.jpg"] == 1


def test_https_is_pinned_too_with_the_name_checked_in_the_certificate(tmp_path, monkeypatch):
    """TLS to the checked address: SNI and the certificate check use the URL's host name."""
    chain, key, ca = issue("images.test", "tls", names=("images.test",))
    for name, data in {"chain.pem": chain, "key.pem": key, "ca.pem": ca}.items():
        (tmp_path / name).write_bytes(data)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))  # trust the test CA, in this test only

    class OneAnswer(Resolver):
        def resolve(self, host: str, port: int) -> str:
            return "127.0.0.2"

    with ImageServer(host="127.0.0.2", tls=(tmp_path / "chain.pem", tmp_path / "key.pem")) as server:
        server.route("/a.jpg", Response.image(JPEG))
        urls = [f"https://images.test:{server.port}/a.jpg", f"https://other.test:{server.port}/a.jpg"]
        stage = FetchImages(tmp_path / "images", allow_networks=("127.0.0.2/32",), attempts=1)
        stage.runtime.client.resolver = OneAnswer()
        out = fetch(stage, urls)
        assert out["reject_reason"].to_list() == [None, "tls_error"], "other.test is not in the certificate"
        assert server.counts["/a.jpg"] == 1
