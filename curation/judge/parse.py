"""Strict parsing of judge replies: find the `{"thinking": str, "score": int 1-5}` object or say why not.

The object may be wrapped in prose or a code fence; when a reply holds several JSON objects the last
one with a `score` wins (the rubric asks for rationale first, JSON last). Anything else is a failure
with a reason: never a silent 0 or a default score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

SCORE_RANGE = (1, 5)

EMPTY_REPLY = "empty_reply"
NO_JSON = "no_json"
INVALID_JSON = "invalid_json"
MISSING_SCORE = "missing_score"
SCORE_NOT_INTEGER = "score_not_integer"
SCORE_OUT_OF_RANGE = "score_out_of_range"
THINKING_NOT_STRING = "thinking_not_string"


@dataclass(frozen=True)
class ParsedReply:
    score: int | None = None
    rationale: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def json_objects(text: str) -> list[dict]:
    """Every JSON object that can be decoded starting at some `{` of `text`, outermost first."""
    decoder = json.JSONDecoder()
    objects, position = [], text.find("{")
    while position != -1:
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            objects.append(value)
        position = text.find("{", end)
    return objects


def parse_reply(text: str | None) -> ParsedReply:
    """Validate one reply against the rubric's JSON contract."""
    if text is None or not text.strip():
        return ParsedReply(error=EMPTY_REPLY)
    objects = json_objects(text)
    if not objects:
        return ParsedReply(error=INVALID_JSON if "{" in text else NO_JSON)
    scored = [obj for obj in objects if "score" in obj]
    if not scored:
        return ParsedReply(error=MISSING_SCORE)
    reply = scored[-1]
    score, thinking = reply["score"], reply.get("thinking")
    if isinstance(score, bool) or not isinstance(score, int):
        return ParsedReply(error=SCORE_NOT_INTEGER)
    if not SCORE_RANGE[0] <= score <= SCORE_RANGE[1]:
        return ParsedReply(error=SCORE_OUT_OF_RANGE)
    if not isinstance(thinking, str):
        return ParsedReply(error=THINKING_NOT_STRING)
    return ParsedReply(score=score, rationale=thinking.strip())
