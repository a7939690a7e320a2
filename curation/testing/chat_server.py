"""A real OpenAI-compatible chat-completions HTTP server on 127.0.0.1, scriptable per poem.

It answers `POST /v1/chat/completions` with asyncio and h11, so thousands of slow requests can be in
flight at once. Each poem is found in the first user message (between the default rubric's
"Poem to evaluate:" and "Scoring criteria" lines, else the whole message) and gets, request after
request, the replies scripted for it (the last one repeats) or the default reply: a valid judgement
whose score is `expected_score(poem)`. The server counts requests per poem.
A stand-in judge for trying `curate poems score` offline, or a broken one (`--mode all-500|drop|hang`):

    python -m curation.testing.chat_server --port 8817 --latency 0.05 &

    with ChatServer(latency=0.05, script={"a poem": [Reply.rate_limited(0.2), Reply.ok(4)]}) as server:
        ...  # point the judge at server.base_url, then read server.counts
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass

import h11

POEM_PATTERN = re.compile(r"Poem to evaluate:\n(.*?)\n\nScoring criteria", re.DOTALL)
HANG_SECONDS = 3600.0


def expected_score(poem: str) -> int:
    """The score the default reply gives `poem`: deterministic, spread over 1-5."""
    return int(hashlib.sha256(poem.encode("utf-8")).hexdigest(), 16) % 5 + 1


def poem_of(prompt: str) -> str:
    match = POEM_PATTERN.search(prompt)
    return match.group(1) if match else prompt


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `content` None means a valid judgement with `score` (or expected_score)."""

    status: int = 200
    content: str | None = None
    score: int | None = None
    retry_after: str | None = None
    latency: float | None = None
    hang: bool = False
    drop: bool = False

    @classmethod
    def ok(cls, score: int | None = None, latency: float | None = None) -> Reply:
        return cls(score=score, latency=latency)

    @classmethod
    def prose(cls, score: int) -> Reply:
        payload = json.dumps({"thinking": "Vivid imagery; some cliché.", "score": score})
        return cls(content=f"Rationale: vivid imagery, uneven rhythm.\nScore: {score}\n"
                           f"```json\n{payload}\n```\nI hope this helps!")

    @classmethod
    def invalid_json(cls) -> Reply:
        return cls(content='{"thinking": "Strong imagery", "score": 4')

    @classmethod
    def out_of_range(cls, score: int = 7) -> Reply:
        return cls(content=json.dumps({"thinking": "Beyond words.", "score": score}))

    @classmethod
    def error(cls, status: int = 500, retry_after: str | None = None) -> Reply:
        return cls(status=status, content=json.dumps({"error": {"message": f"scripted {status}"}}),
                   retry_after=retry_after)

    @classmethod
    def rate_limited(cls, retry_after: float = 0.2) -> Reply:
        return cls.error(429, retry_after=f"{retry_after:g}")

    @classmethod
    def hang_up(cls) -> Reply:
        """Never answer: the client times out."""
        return cls(hang=True)

    @classmethod
    def dropped(cls) -> Reply:
        """Close the connection without answering."""
        return cls(drop=True)


MODES = {"ok": Reply.ok(), "all-500": Reply.error(500), "drop": Reply.dropped(), "hang": Reply.hang_up()}


def completion_body(model: str, content: str) -> dict:
    return {"id": "chatcmpl-local", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


class ChatServer:
    """Serve on 127.0.0.1 in a background thread (`with ChatServer() as s`) or in the foreground (`serve`)."""

    def __init__(self, latency: float = 0.0, script: dict[str, list[Reply]] | None = None,
                 default: Reply | None = None, api_key: str | None = None, port: int = 0) -> None:
        self.latency, self.default, self.api_key, self.port = latency, default or Reply.ok(), api_key, port
        self.script = dict(script or {})
        self._counts: Counter[str] = Counter()
        self._arrivals: dict[str, list[float]] = {}
        self._authorizations: set[str] = set()
        self._lock = threading.Lock()
        self._connections: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def counts(self) -> Counter[str]:
        """Requests received per poem so far."""
        with self._lock:
            return Counter(self._counts)

    def arrivals(self, poem: str) -> list[float]:
        """`time.monotonic()` of each request for `poem`."""
        with self._lock:
            return list(self._arrivals.get(poem, []))

    @property
    def authorizations(self) -> set[str]:
        with self._lock:
            return set(self._authorizations)

    def __enter__(self) -> ChatServer:
        ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self.serve(ready)), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("chat server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def serve(self, ready: threading.Event | None = None) -> None:
        """Listen until stopped; `self.port` holds the bound port once `ready` is set."""
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        server = await asyncio.start_server(self._track, "127.0.0.1", self.port, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        if ready is not None:
            ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)

    async def _track(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections.add(task)
        try:
            await self._connection(reader, writer)
        except (ConnectionError, h11.ProtocolError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = h11.Connection(h11.SERVER)
        while True:
            request, body = await self._read_request(connection, reader)
            if request is None:
                return
            response = await self._respond(request, body)
            if response is None:
                return
            status, headers, payload = response
            headers = [("content-type", "application/json"), ("content-length", str(len(payload))), *headers]
            writer.write(connection.send(h11.Response(status_code=status, headers=headers)))
            writer.write(connection.send(h11.Data(data=payload)) + connection.send(h11.EndOfMessage()))
            await writer.drain()
            if connection.our_state is h11.MUST_CLOSE:
                return
            connection.start_next_cycle()

    @staticmethod
    async def _read_request(connection: h11.Connection, reader: asyncio.StreamReader
                            ) -> tuple[h11.Request | None, bytes]:
        request, chunks = None, []
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                if not data and request is None:
                    return None, b""
                connection.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return request, b"".join(chunks)
            elif isinstance(event, h11.ConnectionClosed):
                return None, b""

    async def _respond(self, request: h11.Request, body: bytes) -> tuple[int, list, bytes] | None:
        """Status, headers and body of the answer; None to drop the connection unanswered."""
        if request.method == b"GET" and request.target == b"/stats":
            counts = self.counts
            return 200, [], json.dumps({"requests": sum(counts.values()), "poems": len(counts)}).encode()
        if request.method != b"POST" or request.target.split(b"?")[0] != b"/v1/chat/completions":
            return 404, [], b'{"error": {"message": "not found"}}'
        authorization = dict(request.headers).get(b"authorization", b"").decode()
        with self._lock:
            self._authorizations.add(authorization)
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            return 401, [], b'{"error": {"message": "invalid api key"}}'
        try:
            completion = json.loads(body)
            poem = poem_of(completion["messages"][0]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            return 400, [], b'{"error": {"message": "bad request"}}'
        reply = self._next_reply(poem)
        latency = self.latency if reply.latency is None else reply.latency
        await asyncio.sleep(HANG_SECONDS if reply.hang else latency)
        if reply.drop:
            return None
        headers = [("retry-after", reply.retry_after)] if reply.retry_after else []
        if reply.status != 200:
            return reply.status, headers, reply.content.encode()
        content = reply.content
        if content is None:
            score = expected_score(poem) if reply.score is None else reply.score
            content = json.dumps({"thinking": f"Scored {score} by the local test server.", "score": score})
        return 200, headers, json.dumps(completion_body(completion.get("model", ""), content)).encode()

    def _next_reply(self, poem: str) -> Reply:
        with self._lock:
            seen = self._counts[poem]
            self._counts[poem] += 1
            self._arrivals.setdefault(poem, []).append(time.monotonic())
        replies = self.script.get(poem)
        if not replies:
            return self.default
        return replies[min(seen, len(replies) - 1)]


def main() -> None:
    """`python -m curation.testing.chat_server --latency 0.05`: serve in the foreground, print the URL."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each reply")
    parser.add_argument("--mode", choices=sorted(MODES), default="ok",
                        help="ok: a valid judgement; all-500: HTTP 500 to every request; drop: close the "
                             "connection unanswered; hang: never answer")
    args = parser.parse_args()
    server = ChatServer(latency=args.latency, port=args.port, default=MODES[args.mode])
    ready = threading.Event()
    threading.Thread(target=lambda: (ready.wait(), print(server.base_url, flush=True)), daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve(ready))


if __name__ == "__main__":
    main()
