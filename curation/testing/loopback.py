"""The base of the project's threaded test HTTP servers (images, the Hub)."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class LoopbackHTTPServer(ThreadingHTTPServer):
    """Handler threads that never keep the process alive, and a listen backlog for clients that
    connect many at once (a fetcher's threads, huggingface_hub's transfers): past socketserver's
    backlog of 5 the kernel drops SYNs, and such a client waits a second for its retransmit, a
    connect timeout that the server caused."""

    daemon_threads = True
    request_queue_size = 128
