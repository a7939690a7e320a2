"""Which addresses an untrusted URL may reach: public ones only, unless a network is allowed.

`address_category` names why an address is not public (loopback, private, link-local, multicast,
reserved...), looking through IPv4 addresses wrapped in IPv6 (mapped `::ffff:a.b.c.d`, NAT64
`64:ff9b::/96`, 6to4 `2002::/16`), and is a pure function. `AddressPolicy` adds the allow-list
(`--allow-private-hosts 127.0.0.1/32`). `Resolver` resolves a host once (cached for a minute) and
returns the address the connection is then made to, so the address checked is the address used.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
NAT64 = ipaddress.ip_network("64:ff9b::/96")
RESOLVE_TTL_S = 60.0


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64 or 6to4), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def address_category(address: str | IPAddress) -> str | None:
    """Why `address` is not a public unicast address ('loopback', 'private', ...), or None if it is."""
    ip = ipaddress.ip_address(address)
    inner = embedded_ipv4(ip)
    if inner is not None:
        return address_category(inner)
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("reserved", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def parse_networks(text: str | Iterable[str] | None) -> tuple[IPNetwork, ...]:
    """Networks from '127.0.0.1/32,10.0.0.0/8' (or a list of such strings); a bare address is a /32 (/128)."""
    if text is None:
        return ()
    parts = text.split(",") if isinstance(text, str) else [p for item in text for p in item.split(",")]
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in parts if p.strip())


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses only, plus the networks in `allow`."""

    allow: tuple[IPNetwork, ...] = ()

    def refusal(self, address: str) -> str | None:
        """The category that blocks `address`, or None when it may be contacted."""
        ip = ipaddress.ip_address(address)
        candidates = [ip] + ([inner] if (inner := embedded_ipv4(ip)) is not None else [])
        if any(candidate in network for candidate in candidates for network in self.allow
               if candidate.version == network.version):
            return None
        return address_category(ip)

    def describe(self) -> str:
        return "public only" + "".join(f", {network}" for network in self.allow)


@dataclass
class Resolver:
    """getaddrinfo once per host and port (cached `ttl_s` seconds); the first address is the one used."""

    ttl_s: float = RESOLVE_TTL_S
    _cache: dict[tuple[str, int], tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def resolve(self, host: str, port: int) -> str:
        """The address to connect to; raises OSError (socket.gaierror) when the host does not resolve."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get((host, port))
        if cached is not None and cached[1] > now:
            return cached[0]
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        address = str(infos[0][4][0]).split("%")[0]
        with self._lock:
            self._cache[(host, port)] = (address, now + self.ttl_s)
        return address
