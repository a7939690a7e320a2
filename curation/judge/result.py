"""What every judge back-end consumes and produces, whatever model sits behind it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from curation.judge.parse import ParsedReply, parse_reply

SCORED = "scored"
FAILED = "failed"
TRANSIENT_HTTP = {"http_408", "http_429"}


def is_transient(reason: str | None) -> bool:
    """A failure worth retrying by default on a re-run: timeouts, connection errors, 408, 429 and 5xx."""
    if not reason:
        return False
    return (reason == "timeout" or reason.startswith("connection_error") or reason in TRANSIENT_HTTP
            or (reason.startswith("http_5") and len(reason) == 8))


def judge_key(poem: str, prompt_sha: str, model: str) -> str:
    """sha256 of (poem text, prompt template, model): the store key; a changed poem gets a new key."""
    payload = json.dumps([poem, prompt_sha, model], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class JudgeRequest:
    key: str
    prompt: str


@dataclass(frozen=True)
class Judgement:
    key: str
    status: str
    score: int | None = None
    rationale: str | None = None
    reason: str | None = None
    raw_reply: str | None = None
    attempts: int = 1

    @classmethod
    def failed(cls, key: str, reason: str, raw_reply: str | None = None, attempts: int = 1) -> Judgement:
        return cls(key=key, status=FAILED, reason=reason, raw_reply=raw_reply, attempts=attempts)

    @classmethod
    def from_reply(cls, key: str, reply: str, attempts: int = 1) -> Judgement:
        """A scored judgement when `reply` passes strict parsing, else a failed one keeping the raw reply."""
        return cls.from_parsed(key, parse_reply(reply), reply, attempts)

    @classmethod
    def from_parsed(cls, key: str, parsed: ParsedReply, reply: str, attempts: int = 1) -> Judgement:
        if not parsed.ok:
            return cls.failed(key, parsed.error, raw_reply=reply, attempts=attempts)
        return cls(key=key, status=SCORED, score=parsed.score, rationale=parsed.rationale, attempts=attempts)


ResultCallback = Callable[[Judgement], None]


class Judge(Protocol):
    """A back-end: judges every request exactly once, handing each result to `on_result` as it arrives."""

    model: str

    def judge(self, requests: Iterable[JudgeRequest], on_result: ResultCallback) -> None: ...
