"""One HTTP client for a whole run: urllib3 pools, connections pinned to checked addresses, redirects
followed by hand so that every hop is checked.

Each hop's host is resolved once (`Resolver`), the address is checked against the `AddressPolicy`,
and the request goes to that address: the pool is keyed by the address, the URL's host travels in
the `Host` header and, for https, in SNI and the certificate check. A DNS answer that changes
between check and connect cannot move the connection. `before_hop` runs before each request (the
consent checks use it for robots.txt, TDMRep and crawl-delay). Only http/https are requested.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError, ProtocolError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from filters.posts.addresses import AddressPolicy, Resolver

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
CHUNK = 256 * 1024
DRAIN_LIMIT = 64 * 1024


class FetchFailure(Exception):
    """A URL that gives no image, with the reject reason, its evidence and whether a retry may help."""

    def __init__(self, reason: str, detail: str, transient: bool = False) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.transient = reason, detail, transient


@dataclass
class Fetched:
    """A response whose headers have arrived and whose body has not been read."""

    url: str
    address: str
    response: urllib3.BaseHTTPResponse

    @property
    def status(self) -> int:
        return self.response.status

    def header(self, name: str) -> str:
        return ", ".join(self.response.headers.getlist(name))

    def read(self, max_bytes: int, deadline: float, timeout: float, truncate: bool = False) -> bytes:
        """The body, refused past `max_bytes` (or cut there, with `truncate`) or past the deadline;
        the connection is released."""
        body = bytearray()
        try:
            for chunk in self.response.stream(CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    if truncate:
                        return bytes(body[:max_bytes])
                    raise FetchFailure("too_large", f"body over {max_bytes:,} bytes; download aborted")
                if time.monotonic() > deadline:
                    raise FetchFailure("timeout", f"body not complete after {timeout:g} s", True)
        except (HTTPError, OSError) as error:
            raise as_failure(error, timeout) from None
        finally:
            self.close()
        return bytes(body)

    def close(self, drain: bool = True) -> None:
        """Give the connection back: a short unread body is drained to keep the connection, anything
        else (or `drain=False`, for a refused response) closes it unread."""
        remaining = self.response.length_remaining
        if drain and remaining is not None and remaining <= DRAIN_LIMIT:
            self.response.drain_conn()
        else:
            self.response.close()
        self.response.release_conn()


def as_failure(error: Exception, timeout: float) -> FetchFailure:
    """The reject reason for a urllib3 or socket error."""
    if isinstance(error, MaxRetryError) and error.reason is not None:
        error = error.reason
    name = type(error).__name__
    if isinstance(error, Urllib3Timeout | TimeoutError):
        return FetchFailure("timeout", f"{name} after {timeout:g} s", True)
    if isinstance(error, ProtocolError) and "IncompleteRead" in str(error):
        return FetchFailure("incomplete_body", f"{name}: {error}", True)
    if isinstance(error, SSLError):
        return FetchFailure("tls_error", f"{name}: {error}")
    return FetchFailure("connection_error", f"{name}: {error}", True)


@dataclass(frozen=True)
class Target:
    """A URL split into what a request needs; only http/https with a host."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    host_header: str

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            raise FetchFailure("bad_scheme", f"only http/https are fetched, not '{scheme}:' ({url[:200]})")
        if not parts.hostname:
            raise FetchFailure("bad_url", f"no host in {url[:200]}")
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError as error:
            raise FetchFailure("bad_url", f"{error} in {url[:200]}") from None
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(url, scheme, parts.hostname, port, path, host if parts.port is None else f"{host}:{port}")


class PinnedClient:
    """GET with address checks and pinning on every hop; thread-safe, one per process and run."""

    def __init__(self, policy: AddressPolicy, timeout: float = 10.0, pool_size: int = 16,
                 user_agent: str = "aesthetic-curation", max_redirects: int = 5, hosts: int = 64) -> None:
        self.policy, self.timeout, self.max_redirects = policy, timeout, max_redirects
        self.headers = {"User-Agent": user_agent}
        self.resolver = Resolver()
        self.pools = urllib3.PoolManager(num_pools=hosts, maxsize=pool_size, block=False, retries=False,
                                         timeout=urllib3.Timeout(connect=timeout, read=timeout))

    def get(self, url: str, before_hop: Callable[[str], None] | None = None) -> Fetched:
        """The response to `url` after redirects, headers read, body not; raises FetchFailure."""
        for _ in range(self.max_redirects + 1):
            target = Target.parse(url)
            if before_hop is not None:
                before_hop(url)
            fetched = self._request(target)
            location = fetched.response.headers.get("location")
            if fetched.status not in REDIRECT_STATUSES or not location:
                return fetched
            fetched.close()
            url = urljoin(url, location.strip())
        raise FetchFailure("http_error", f"more than {self.max_redirects} redirects")

    def _request(self, target: Target) -> Fetched:
        address = self._checked_address(target.host, target.port)
        pool_kwargs = {"server_hostname": target.host, "assert_hostname": target.host} \
            if target.scheme == "https" else {}
        pool = self.pools.connection_from_host(address, target.port, target.scheme, pool_kwargs=pool_kwargs)
        try:
            headers = {**self.headers, "Host": target.host_header}
            response = pool.urlopen("GET", target.path, headers=headers, redirect=False, retries=False,
                                    preload_content=False, assert_same_host=False)
        except (HTTPError, OSError) as error:
            raise as_failure(error, self.timeout) from None
        return Fetched(target.url, address, response)

    def _checked_address(self, host: str, port: int) -> str:
        try:
            address = self.resolver.resolve(host, port)
        except OSError as error:
            raise FetchFailure("dns_error", f"{host}: {error}", transient=True) from None
        category = self.policy.refusal(address)
        if category is not None:
            raise FetchFailure("blocked_address", f"{host} resolves to {address} ({category}); "
                               "allow it with --allow-private-hosts")
        return address

    def close(self) -> None:
        self.pools.clear()
