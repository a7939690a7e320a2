"""Stop a judge run when the endpoint stops answering, instead of failing every poem one by one.

A request "gets no response" when the connection is refused or reset, the host name does not
resolve, or it times out. Any HTTP response, even a 500, shows the endpoint is there and ends the
streak. The run stops once `limit` requests in a row got no response, or once requests have got none
for `window` seconds (at least two of them: a small run with few requests stops as fast as a large
one). The judgements stored so far are kept, so re-running the same command resumes.
"""

from __future__ import annotations

import time

from curation.errors import CurationError

DEFAULT_MAX_CONNECTION_FAILURES = 16
DEFAULT_UNREACHABLE_WINDOW = 5.0


class JudgeUnreachableError(CurationError):
    """The endpoint gave no response to many requests in a row (closed port, DNS, resets, timeouts)."""


class ConnectionBreaker:
    """Watches the current streak of requests without a response; `limit` 0 never stops the run."""

    def __init__(self, base_url: str, limit: int = DEFAULT_MAX_CONNECTION_FAILURES,
                 window: float = DEFAULT_UNREACHABLE_WINDOW) -> None:
        self.base_url, self.limit, self.window = base_url, limit, window
        self.in_a_row = 0
        self._since = 0.0

    def responded(self) -> None:
        self.in_a_row = 0

    def no_response(self, detail: str) -> None:
        """Count one request without a response; raise JudgeUnreachableError when the streak is too long."""
        now = time.monotonic()
        if self.in_a_row == 0:
            self._since = now
        self.in_a_row += 1
        if not self.limit:
            return
        lasted = now - self._since
        if self.in_a_row >= self.limit or (self.in_a_row >= 2 and lasted >= self.window):
            raise JudgeUnreachableError(
                f"judge endpoint {self.base_url} unreachable: {self.in_a_row} requests in a row (over "
                f"{lasted:.1f} s) got no response (last: {' '.join(detail.split())}); stopped. Judgements "
                "so far are stored: fix the endpoint (--base-url, --timeout) and re-run the same command "
                "to resume")
