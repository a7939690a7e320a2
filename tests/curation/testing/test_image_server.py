import subprocess
import sys
import time

import httpx
import pytest

from curation.testing.image_server import ImageServer, Response, synthetic_image

PNG = synthetic_image(32, 32)


def test_scripted_responses_come_in_turn_and_requests_are_counted():
    with ImageServer() as server:
        url = server.route("/flaky.png", Response.error(500), Response.image(PNG))
        statuses = [httpx.get(url).status_code for _ in range(3)]
        assert statuses == [500, 200, 200]
        assert httpx.get(server.url("/nothing.png")).status_code == 404
        assert server.counts == {"/flaky.png": 3, "/nothing.png": 1}


def test_folder_files_are_served_with_their_type_and_nothing_outside(tmp_path):
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "dog.png").write_bytes(PNG)
    (tmp_path / "secret.txt").write_text("private")
    with ImageServer(root=tmp_path / "public") as server:
        response = httpx.get(server.url("/dog.png"))
        assert response.content == PNG and response.headers["content-type"] == "image/png"
        assert httpx.get(server.url("/../secret.txt")).status_code == 404


def test_faults_truncated_huge_slow_wrong_type_and_redirect():
    with ImageServer() as server:
        truncated = server.route("/cut.png", Response.truncated(PNG, keep=50))
        huge = server.route("/huge.png", Response.huge(PNG, 3_000_000, declare_length=False))
        slow = server.route("/slow.png", Response.image(PNG, delay=0.3))
        html = server.route("/page.png", Response.image(PNG, content_type="text/html"))
        moved = server.route("/old.png", Response.redirect(slow))

        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(truncated)
        with httpx.stream("GET", huge) as response:
            assert "content-length" not in response.headers
            assert sum(len(chunk) for chunk in response.iter_bytes()) == 3_000_000
        started = time.monotonic()
        assert httpx.get(slow).content == PNG and time.monotonic() - started >= 0.3
        assert httpx.get(html).headers["content-type"] == "text/html"
        response = httpx.get(moved, follow_redirects=True)
        assert response.url == slow and [r.status_code for r in response.history] == [302]


def test_opt_out_modes_and_another_loopback_host():
    with ImageServer(host="127.0.0.2", headers={"X-Robots-Tag": "noai"}) as server:
        server.robots("User-agent: *\nDisallow: /\n")
        server.tdmrep([{"location": "/", "tdm-reservation": 1}])
        tagged = server.route("/t.png", Response.image(PNG, headers={"tdm-reservation": "1"}))
        assert server.base_url.startswith("http://127.0.0.2:")
        assert httpx.get(server.url("/robots.txt")).text == "User-agent: *\nDisallow: /\n"
        assert httpx.get(server.url("/.well-known/tdmrep.json")).json()[0]["tdm-reservation"] == 1
        assert httpx.get(tagged).headers["tdm-reservation"] == "1"
        assert [path for path, _ in server.log] == ["/robots.txt", "/.well-known/tdmrep.json", "/t.png"]


def test_the_command_line_server_publishes_opt_outs(tmp_path):
    (tmp_path / "dog.png").write_bytes(PNG)
    command = [sys.executable, "-m", "curation.testing.image_server", "--root", str(tmp_path), "--port", "0",
               "--host", "127.0.0.3", "--disallow", "/", "--x-robots-tag", "noai", "--tdm-reservation"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        base = process.stdout.readline().split(" at ")[1].strip()
        assert base.startswith("http://127.0.0.3:")
        assert httpx.get(f"{base}/robots.txt").text == "User-agent: *\nDisallow: /\n"
        headers = httpx.get(f"{base}/dog.png").headers
        assert headers["x-robots-tag"] == "noai" and headers["tdm-reservation"] == "1"
    finally:
        process.kill()
        process.wait()
