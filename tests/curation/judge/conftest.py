import socket

import polars as pl
import pytest

from curation.judge import OpenAIConfig
from curation.testing.chat_server import ChatServer


def poems_frame(count: int, prefix: str = "poem") -> pl.DataFrame:
    return pl.DataFrame({"row_id": [f"r{i}" for i in range(count)],
                         "text": [f"{prefix} {i}\nthe moon over the water" for i in range(count)]})


def fast_config(server: ChatServer, **options) -> OpenAIConfig:
    """A config for tests: short timeouts and back-off so failures surface in well under a second."""
    defaults = {"base_url": server.base_url, "model": "test-judge", "api_key": "sk-test-secret-123",
                "concurrency": 8, "timeout": 2.0, "max_retries": 2, "max_reasks": 1,
                "backoff_initial": 0.01, "backoff_max": 0.05}
    return OpenAIConfig(**{**defaults, **options})


@pytest.fixture
def server():
    with ChatServer() as running:
        yield running


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: bound, noted and closed again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
