"""Stop a judge run when the endpoint is down, instead of failing every poem one by one.

A request fails the endpoint when it gets no answer (connection refused or reset, DNS failure,
timeout) or a server error (HTTP 5xx). Any other answer (a reply, a 4xx, a 429) ends the streak. The
run stops once `limit` requests in a row failed, or once requests for at least two poems have got no
answer for `window` seconds (so a small run stops as fast as a large one; a server error for one
poem, or one slow poem, never trips the window alone). The judgements stored so far are kept, so
re-running the same command resumes.
"""

from __future__ import annotations

import time

from curation.errors import CurationError

DEFAULT_MAX_FAILURES_IN_A_ROW = 16
DEFAULT_UNANSWERED_WINDOW = 5.0


class JudgeUnavailableError(CurationError):
    """The endpoint failed many requests in a row: no answer (closed port, DNS, resets, timeouts) or 5xx."""


class EndpointBreaker:
    """Watches the current streak of failed requests; `limit` 0 never stops the run."""

    def __init__(self, base_url: str, limit: int = DEFAULT_MAX_FAILURES_IN_A_ROW,
                 window: float = DEFAULT_UNANSWERED_WINDOW) -> None:
        self.base_url, self.limit, self.window = base_url, limit, window
        self.in_a_row = 0
        self._since = 0.0
        self._unanswered: set[str] = set()

    def answered(self) -> None:
        self.in_a_row = 0
        self._unanswered.clear()

    def no_answer(self, key: str, detail: str) -> None:
        """Count a request for poem `key` that got no answer; raise when the streak is too long."""
        self._unanswered.add(key)
        self._count(detail)

    def server_error(self, detail: str) -> None:
        """Count a request answered with a 5xx; raise when the streak is too long."""
        self._count(detail)

    def _count(self, detail: str) -> None:
        now = time.monotonic()
        if self.in_a_row == 0:
            self._since = now
        self.in_a_row += 1
        lasted = now - self._since
        if not self.limit:
            return
        if self.in_a_row >= self.limit or (len(self._unanswered) >= 2 and lasted >= self.window):
            raise JudgeUnavailableError(
                f"judge endpoint {self.base_url} is down: {self.in_a_row} requests in a row (over "
                f"{lasted:.1f} s) failed (last: {' '.join(detail.split())}); stopped. Judgements so far are "
                "stored: fix the endpoint (--base-url, --timeout) and re-run the same command to resume")
