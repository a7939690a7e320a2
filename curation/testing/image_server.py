"""A real HTTP image server on 127.0.0.1, scriptable per path, that counts requests per path.

Each path answers with its scripted `Response`s in turn (the last one repeats): an image body, a
status (404, 500...), a delay, a body cut short of its declared length, a huge generated body, a
wrong content type or a redirect. Files under `root` are served too, with the type their extension
names, so a folder of images can stand in for a CDN.

    with ImageServer() as server:
        server.route("/slow.png", Response.image(png_bytes, delay=0.3))
        server.route("/flaky.png", Response.error(500), Response.image(png_bytes))
        ...  # fetch server.url("/slow.png"), then read server.counts
"""

from __future__ import annotations

import argparse
import contextlib
import mimetypes
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

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

    @classmethod
    def image(cls, body: bytes, content_type: str | None = None, delay: float = 0.0) -> Response:
        return cls(body=body, content_type=content_type or sniff_content_type(body), delay=delay)

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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: ImageServer

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up early (size cap, timeout) is expected: no traceback on stderr."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ImageServer:
    """Serve on 127.0.0.1 in a background thread: `with ImageServer(root=folder) as server: ...`."""

    def __init__(self, root: str | Path | None = None, port: int = 0) -> None:
        self.root = None if root is None else Path(root).resolve()
        self.port = port
        self._routes: dict[str, list[Response]] = {}
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def route(self, path: str, *responses: Response) -> str:
        """Script `path` (answers in turn, the last repeats); returns its URL."""
        with self._lock:
            self._routes["/" + path.lstrip("/")] = list(responses)
        return self.url(path)

    @property
    def counts(self) -> Counter[str]:
        """Requests received per path so far."""
        with self._lock:
            return Counter(self._counts)

    def next_response(self, path: str) -> Response:
        with self._lock:
            seen = self._counts[path]
            self._counts[path] += 1
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
            body=body, content_type=mimetypes.guess_type(file.name)[0] or sniff_content_type(body)
        )

    def start(self) -> ImageServer:
        self._server = _Server(("127.0.0.1", self.port), _Handler)
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
    """`python -m curation.testing.image_server --root DIR --port 8765`: serve a folder until Ctrl-C."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--root", type=Path, required=True, help="folder whose files are served")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    server = ImageServer(root=args.root, port=args.port).start()
    print(f"serving {args.root} at {server.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)
    server.stop()


if __name__ == "__main__":
    main()
