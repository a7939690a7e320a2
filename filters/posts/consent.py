"""Opt-out signals checked before an image body is downloaded: robots.txt, X-Robots-Tag, TDMRep.

Per origin (scheme, host, port), robots.txt and /.well-known/tdmrep.json are fetched once (through
the same pinned client, so their hosts pass the address policy too) and cached for the run; the
crawl-delay (or request-rate) of robots.txt spaces the requests to that origin. The response
headers (`X-Robots-Tag`, `tdm-reservation`) are checked before the body is read. A refusal is a
`FetchFailure` with reason `opt_out:<signal>` and its evidence. C2PA assertions, which live inside
the image, are checked after the download and before anything is stored (`filters.posts.c2pa_consent`).

robots.txt follows RFC 9309: a 2xx body is parsed (with protego, first 500 KiB); a 4xx (or more than
five redirects) means no rules; a 5xx, 429 or an unreachable host means complete disallow, rejected
as `robots_unreachable` (transient: `--retry-failed` asks again). tdmrep.json: the first rule whose
`location` pattern matches the path decides; anything but a 2xx JSON list means no rules.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from protego import Protego

from filters.posts.http_client import Fetched, FetchFailure, PinnedClient

SIGNALS = ("robots", "x-robots-tag", "tdmrep", "c2pa")
DEFAULT_DIRECTIVES = ("noai", "noimageai", "noml", "none", "noindex", "noimageindex")
DEFAULT_USER_AGENT = "aesthetic-curation/0.1 (+https://github.com/aesthetic-curation)"
ROBOTS_LIMIT = 500 * 1024
TDMREP_LIMIT = 256 * 1024
HOST_FAILURES = ("blocked_address", "dns_error", "tls_error")  # the image itself would fail the same way
SCOPED_DIRECTIVES = ("unavailable_after", "max-snippet", "max-image-preview", "max-video-preview")


@dataclass(frozen=True)
class ConsentPolicy:
    """Which opt-out signals are honoured (all by default), the X-Robots-Tag directives that refuse,
    and the user agent sent and matched against robots.txt groups and X-Robots-Tag scopes."""

    robots: bool = True
    x_robots_tag: bool = True
    tdmrep: bool = True
    c2pa: bool = True
    directives: tuple[str, ...] = DEFAULT_DIRECTIVES
    user_agent: str = DEFAULT_USER_AGENT

    @property
    def token(self) -> str:
        """The product token of the user agent, lower case ('aesthetic-curation')."""
        return self.user_agent.split("/")[0].split()[0].strip().lower()

    @property
    def honoured(self) -> list[str]:
        flags = (self.robots, self.x_robots_tag, self.tdmrep, self.c2pa)
        return [name for name, on in zip(SIGNALS, flags, strict=True) if on]

    def describe(self) -> dict[str, Any]:
        return {"honoured": self.honoured, "x_robots_directives": list(self.directives),
                "user_agent": self.user_agent}

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode()).hexdigest()[:16]


def x_robots_refusal(values: list[str], directives: tuple[str, ...], token: str) -> str | None:
    """The first refusing directive in X-Robots-Tag header values, as evidence, or None. A value
    `bot: noai` applies only to the user agent `bot`; unscoped directives apply to everyone."""
    wanted = {d.lower() for d in directives}
    for value in values:
        scope, rest = None, value
        match = re.match(r"\s*([A-Za-z0-9_.-]+)\s*:\s*(.*)$", value, re.S)
        if match and match.group(1).lower() not in SCOPED_DIRECTIVES:
            scope, rest = match.group(1).lower(), match.group(2)
        if scope is not None and scope != token:
            continue
        found = [part.strip().lower() for part in rest.split(",") if part.strip().lower() in wanted]
        if found:
            return f"X-Robots-Tag: {value.strip()} ({found[0]})"
    return None


def tdm_header_refusal(value: str | None) -> str | None:
    """Evidence when a `tdm-reservation` header reserves TDM rights (value 1), else None."""
    if value is not None and value.strip() == "1":
        return f"tdm-reservation: {value.strip()}"
    return None


def location_pattern(location: str) -> re.Pattern:
    """A TDMRep `location` (a path pattern in robots.txt syntax: `*` wildcard, `$` end) as a regex."""
    path = urlsplit(location).path if "://" in location else location
    anchored = path.endswith("$")
    body = ".*".join(re.escape(part) for part in path.rstrip("$").split("*"))
    return re.compile(body + (r"\Z" if anchored else ""))


def tdmrep_rule(rules: list[dict], path: str) -> dict | None:
    """The first rule of a tdmrep.json list whose location matches `path`, or None."""
    for rule in rules:
        location = rule.get("location") if isinstance(rule, dict) else None
        if isinstance(location, str) and location_pattern(location).match(path):
            return rule
    return None


def robots_rule(text: str, url: str, token: str) -> str:
    """The Disallow line of a robots.txt that refuses `url` (found by testing each on its own)."""
    for line in text.splitlines():
        field_name, _, value = line.partition(":")
        if field_name.strip().lower() == "disallow" and value.strip():
            single = Protego.parse(f"User-agent: *\nDisallow: {value.strip()}\n")
            if not single.can_fetch(url, token):
                return f"Disallow: {value.split('#')[0].strip()}"
    return "disallowed"


class Slots(Protocol):
    def reserve(self, origin: str, delay: float) -> float:
        """The wall-clock time at which the next request to `origin` may start."""


@dataclass
class LocalSlots:
    """Crawl-delay slots within one process."""

    _next: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve(self, origin: str, delay: float) -> float:
        with self._lock:
            start = max(time.time(), self._next.get(origin, 0.0))
            self._next[origin] = start + delay
        return start


@dataclass
class HostRules:
    """What an origin publishes: its robots.txt (parsed, or why it is missing) and tdmrep.json rules."""

    robots: Protego | None = None
    robots_text: str = ""
    robots_problem: str | None = None
    tdmrep: list[dict] = field(default_factory=list)

    def delay(self, token: str) -> float:
        if self.robots is None:
            return 0.0
        rate = self.robots.request_rate(token)
        per_request = rate.seconds / rate.requests if rate and rate.requests else 0.0
        return max(self.robots.crawl_delay(token) or 0.0, per_request)


class Consent:
    """The consent checks of one run: `before_request(url)` per hop, `check_headers(fetched)` per response."""

    def __init__(self, policy: ConsentPolicy, client: PinnedClient, slots: Slots | None = None,
                 retry: Callable[[Callable[[], Any]], Any] = lambda call: call()) -> None:
        self.policy, self.client, self.retry = policy, client, retry
        self.slots = slots or LocalSlots()
        self._hosts: dict[str, Future] = {}
        self._lock = threading.Lock()

    def before_request(self, url: str) -> None:
        """Refuse `url` when its origin's robots.txt or tdmrep.json says so; else wait for its crawl slot."""
        if not (self.policy.robots or self.policy.tdmrep):
            return
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        rules = self.rules(origin)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if self.policy.robots:
            if rules.robots_problem is not None:
                raise FetchFailure("robots_unreachable", rules.robots_problem, transient=True)
            if rules.robots is not None and not rules.robots.can_fetch(url, self.policy.token):
                rule = robots_rule(rules.robots_text, url, self.policy.token)
                raise FetchFailure("opt_out:robots", f"{origin}/robots.txt: {rule} for "
                                   f"'{self.policy.token}' refuses {target[:200]}")
        if self.policy.tdmrep and (rule := tdmrep_rule(rules.tdmrep, target)) is not None \
                and str(rule.get("tdm-reservation")) == "1":
            evidence = f"{origin}/.well-known/tdmrep.json: {json.dumps(rule)[:300]}"
            raise FetchFailure("opt_out:tdmrep", evidence)
        delay = rules.delay(self.policy.token) if self.policy.robots else 0.0
        if delay > 0:
            time.sleep(max(0.0, self.slots.reserve(origin, delay) - time.time()))

    def check_headers(self, fetched: Fetched) -> None:
        """Refuse a response whose headers opt out, before its body is read."""
        if self.policy.x_robots_tag:
            values = fetched.response.headers.getlist("x-robots-tag")
            evidence = x_robots_refusal(values, self.policy.directives, self.policy.token)
            if evidence is not None:
                raise FetchFailure("opt_out:x-robots-tag", evidence)
        if self.policy.tdmrep:
            evidence = tdm_header_refusal(fetched.response.headers.get("tdm-reservation"))
            if evidence is not None:
                policy = fetched.response.headers.get("tdm-policy")
                raise FetchFailure("opt_out:tdmrep", evidence + (f"; tdm-policy: {policy}" if policy else ""))

    def rules(self, origin: str) -> HostRules:
        """The origin's rules, fetched by the first thread that asks; the others wait for them."""
        with self._lock:
            future = self._hosts.get(origin)
            owner = future is None
            if owner:
                future = self._hosts[origin] = Future()
        if owner:
            try:
                future.set_result(self._fetch_rules(origin))
            except BaseException as error:  # noqa: BLE001 (handed to every waiting thread)
                future.set_exception(error)
        return future.result()

    def _fetch_rules(self, origin: str) -> HostRules:
        rules = HostRules()
        if self.policy.robots:
            rules.robots_text, rules.robots_problem = self._robots_text(origin)
            rules.robots = Protego.parse(rules.robots_text) if rules.robots_problem is None else None
        if self.policy.tdmrep:
            rules.tdmrep = self._tdmrep_rules(origin)
        return rules

    def _robots_text(self, origin: str) -> tuple[str, str | None]:
        """(text, problem): '' for no rules; a problem when robots.txt is unreachable."""
        url = f"{origin}/robots.txt"
        try:
            return self.retry(lambda: self._read_robots(url))
        except FetchFailure as failure:
            if failure.reason in HOST_FAILURES:
                raise
            if failure.reason == "http_error" and "redirects" in failure.detail:
                return "", None
            return "", f"{url} unreachable ({failure.reason}: {failure.detail[:200]}); " \
                       "complete disallow assumed (RFC 9309)"

    def _read_robots(self, url: str) -> tuple[str, None]:
        fetched = self.client.get(url)
        if fetched.status >= 500 or fetched.status == 429:
            fetched.close()
            raise FetchFailure("http_error", f"HTTP {fetched.status}", transient=True)
        if fetched.status >= 300:
            fetched.close()
            return "", None
        body = fetched.read(ROBOTS_LIMIT, time.monotonic() + self.client.timeout, self.client.timeout,
                            truncate=True)
        return body.decode("utf-8", errors="replace"), None

    def _tdmrep_rules(self, origin: str) -> list[dict]:
        try:
            fetched = self.client.get(f"{origin}/.well-known/tdmrep.json")
            if fetched.status >= 300:
                fetched.close()
                return []
            body = fetched.read(TDMREP_LIMIT, time.monotonic() + self.client.timeout, self.client.timeout)
            rules = json.loads(body)
        except FetchFailure as failure:
            if failure.reason in HOST_FAILURES:
                raise
            return []
        except ValueError:
            return []
        return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []
