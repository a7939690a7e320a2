"""A real HTTP image server on a loopback address, scriptable per path, that counts requests per path.

Each path answers with its scripted `Response`s in turn (the last one repeats): an image body, a
status (404, 500...), a delay, a body cut short of its declared length, a huge generated body, a
wrong content type, a redirect, or extra headers. Files under `root` are served too, with the type
their extension names, so a folder of images can stand in for a CDN.

The opt-out modes a host can publish: `robots(text)` serves a robots.txt, `tdmrep(rules)` a
/.well-known/tdmrep.json, `headers=` adds headers (`X-Robots-Tag: noai`, `tdm-reservation: 1`) to
every file; a route's `Response(headers=...)` adds them to one path, and a 503 route for
/robots.txt makes it unreachable. `host=` binds another loopback address (127.0.0.2...), so that
tests can run several hosts, and redirects between them.

    with ImageServer() as server:
        server.route("/slow.png", Response.image(png_bytes, delay=0.3))
        server.route("/flaky.png", Response.error(500), Response.image(png_bytes))
        server.robots("User-agent: *\nDisallow: /private/\n")
        ...  # fetch server.url("/slow.png"), then read server.counts
"""

from __future__ import annotations

import argparse
import contextlib
import json
import mimetypes
import ssl
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from curation.testing.loopback import LoopbackHTTPServer

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Response:
    """One scripted answer. `truncate_to` sends that many bytes of `body` and closes the connection
    although the full length was declared; `generated_size` streams that many filler bytes after
    `body`; `declare_length=False` leaves out Content-Length (the body ends when the connection does)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "image/png"
    delay: float = 0.0
    truncate_to: int | None = None
    generated_size: int = 0
    declare_length: bool = True
    location: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def image(cls, body: bytes, content_type: str | None = None, delay: float = 0.0,
              headers: dict[str, str] | None = None) -> Response:
        return cls(body=body, content_type=content_type or sniff_content_type(body), delay=delay,
                   headers=tuple((headers or {}).items()))

    @classmethod
    def text(cls, body: str, content_type: str = "text/plain") -> Response:
        return cls(body=body.encode(), content_type=content_type)

    @classmethod
    def error(cls, status: int = 500, delay: float = 0.0) -> Response:
        return cls(status=status, body=f"scripted {status}".encode(), content_type="text/plain", delay=delay)

    @classmethod
    def truncated(cls, body: bytes, keep: int) -> Response:
        return cls(body=body, content_type=sniff_content_type(body), truncate_to=keep)

    @classmethod
    def huge(cls, body: bytes, size: int, declare_length: bool = True) -> Response:
        return cls(
            body=body,
            content_type=sniff_content_type(body),
            generated_size=size - len(body),
            declare_length=declare_length,
        )

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Response:
        return cls(status=status, content_type="text/plain", location=location)

    @property
    def length(self) -> int:
        return len(self.body) + self.generated_size


def synthetic_image(
    width: int = 64, height: int = 48, seed: int = 0, fmt: str = "PNG", **save: object
) -> bytes:
    """A small deterministic picture (gradient and shapes) encoded as `fmt`; needs Pillow."""
    import io

    from PIL import Image, ImageDraw

    rng = (seed * 2654435761) & 0xFFFFFFFF
    colour = (rng & 255, (rng >> 8) & 255, (rng >> 16) & 255)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 5, height // 5, width * 4 // 5, height * 4 // 5), fill=colour)
    draw.rectangle((0, 0, width // 4, height // 4), fill=colour[::-1])
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def sniff_content_type(body: bytes) -> str:
    if body.startswith(b"\x89PNG"):
        return "image/png"
    if body.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if body.startswith(b"GIF8"):
        return "image/gif"
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        path = urlsplit(self.path).path
        response = self.server.owner.next_response(path)
        with contextlib.suppress(ConnectionError, TimeoutError):
            time.sleep(response.delay)
            self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        if response.location:
            self.send_header("Location", response.location)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.declare_length:
            self.send_header("Content-Length", str(response.length))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        body = response.body if response.truncate_to is None else response.body[: response.truncate_to]
        self.wfile.write(body)
        remaining = response.generated_size
        while remaining > 0:
            self.wfile.write(b"\0" * min(CHUNK, remaining))
            remaining -= CHUNK
        if response.truncate_to is not None:
            self.wfile.flush()
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(LoopbackHTTPServer):
    owner: ImageServer

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up early (size cap, timeout) is expected: no traceback on stderr."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ImageServer:
    """Serve on `host` (127.0.0.1) in a background thread: `with ImageServer(root=folder) as server: ...`.
    `headers` are added to every file served from `root`; `tls` (certificate chain file, key file)
    serves https."""

    def __init__(self, root: str | Path | None = None, port: int = 0, host: str = "127.0.0.1",
                 headers: dict[str, str] | None = None, tls: tuple[Path, Path] | None = None) -> None:
        self.root = None if root is None else Path(root).resolve()
        self.port, self.host, self.tls = port, host, tls
        self.file_headers = tuple((headers or {}).items())
        self._routes: dict[str, list[Response]] = {}
        self._counts: Counter[str] = Counter()
        self._log: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def route(self, path: str, *responses: Response) -> str:
        """Script `path` (answers in turn, the last repeats); returns its URL."""
        with self._lock:
            self._routes["/" + path.lstrip("/")] = list(responses)
        return self.url(path)

    def robots(self, text: str) -> str:
        """Publish a robots.txt; returns its URL."""
        return self.route("/robots.txt", Response.text(text))

    def tdmrep(self, rules: list[dict]) -> str:
        """Publish /.well-known/tdmrep.json (a list of {location, tdm-reservation, tdm-policy})."""
        return self.route("/.well-known/tdmrep.json", Response.text(json.dumps(rules), "application/json"))

    @property
    def counts(self) -> Counter[str]:
        """Requests received per path so far."""
        with self._lock:
            return Counter(self._counts)

    @property
    def log(self) -> list[tuple[str, float]]:
        """(path, time.monotonic() on arrival) of every request so far, in order."""
        with self._lock:
            return list(self._log)

    def next_response(self, path: str) -> Response:
        with self._lock:
            seen = self._counts[path]
            self._counts[path] += 1
            self._log.append((path, time.monotonic()))
            responses = self._routes.get(path)
        if responses:
            return responses[min(seen, len(responses) - 1)]
        return self._file_response(path)

    def _file_response(self, path: str) -> Response:
        if self.root is None:
            return Response.error(404)
        file = (self.root / path.lstrip("/")).resolve()
        if not file.is_file() or not file.is_relative_to(self.root):
            return Response.error(404)
        body = file.read_bytes()
        return Response(
            body=body,
            content_type=mimetypes.guess_type(file.name)[0] or sniff_content_type(body),
            headers=self.file_headers,
        )

    def start(self) -> ImageServer:
        self._server = _Server((self.host, self.port), _Handler)
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self) -> ImageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    """`python -m curation.testing.image_server --root DIR --port 8765`: serve a folder until Ctrl-C.
    The opt-out options make the host publish a signal, for demos of the consent checks."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--root", type=Path, required=True, help="folder whose files are served")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (127.0.0.2, ...)")
    parser.add_argument("--disallow", action="append", default=[], metavar="PATH",
                        help="serve a robots.txt with 'User-agent: * / Disallow: PATH' (repeatable)")
    parser.add_argument("--x-robots-tag", help="send 'X-Robots-Tag: VALUE' with every file, e.g. noai")
    parser.add_argument("--tdm-reservation", action="store_true",
                        help="send 'tdm-reservation: 1' with every file")
    args = parser.parse_args()
    headers = {"X-Robots-Tag": args.x_robots_tag} if args.x_robots_tag else {}
    headers |= {"tdm-reservation": "1"} if args.tdm_reservation else {}
    server = ImageServer(root=args.root, port=args.port, host=args.host, headers=headers).start()
    if args.disallow:
        server.robots("User-agent: *\n" + "".join(f"Disallow: {path}\n" for path in args.disallow))
    print(f"serving {args.root} at {server.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)
    server.stop()


if __name__ == "__main__":
    main()
