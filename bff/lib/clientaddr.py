"""The client's address: the TCP peer, or what a trusted reverse proxy says in ``X-Forwarded-For``.

One place decides, for the whole app: uvicorn's own ``proxy_headers`` is off (``bff/__main__.py``), and this
middleware rewrites ``scope["client"]`` (and ``scope["scheme"]`` from ``X-Forwarded-Proto``) before anything reads
it, so rate limits and logs see the same address.

``X-Forwarded-For`` is believed only when the direct peer is in ``TRUSTED_PROXIES``; then the list is read from the
right (each proxy appends the address it saw) and the first address that is not itself a trusted proxy is the
client. Anything to the left of that was written by the client and is ignored, so a forged header cannot choose the
address a limit counts. A header from an untrusted peer is ignored entirely.

The default ``127.0.0.1,::1`` trusts a reverse proxy on the same machine (uvicorn's own default, so operators get
what they expect) and nothing else: only a process on the host itself can connect from loopback.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable, Sequence

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=4096)  # parsed twice per request (peer and hop); the same few addresses come back
def parse_address(text: str) -> Address | None:
    """An IP address as proxies write it: plain, ``[v6]``, ``[v6]:port`` or ``v4:port``; None when it is not one."""
    value = text.strip()
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class Networks:
    """A set of networks (``"127.0.0.1/32"``, ``"::1"``, …); ``in`` takes an address or its text."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(n.strip(), strict=False)
                                                   for n in networks if n.strip())

    def __contains__(self, address: Address | str | None) -> bool:
        if isinstance(address, str):
            address = parse_address(address)
        return address is not None and any(address in network for network in self.networks)


class TrustedProxies(Networks):
    """The networks whose ``X-Forwarded-For`` is believed."""

    def client(self, peer: str, forwarded_for: Sequence[str]) -> str:
        """The client's address for a request from ``peer`` carrying these ``X-Forwarded-For`` values."""
        if parse_address(peer) not in self or not forwarded_for:
            return peer
        hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
        nearest = peer
        for hop in reversed(hops):
            address = parse_address(hop)
            if address is None:  # garbage where a proxy should have written an address: keep the last one believed
                return nearest
            nearest = str(address)
            if address not in self:
                return nearest
        return nearest  # every hop is a proxy of ours: the left-most is as far as anyone can tell


def client_address_middleware_factory(trusted: TrustedProxies) -> Callable[[ASGIApp], ASGIApp]:
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] not in (ScopeType.HTTP, ScopeType.WEBSOCKET) or not trusted.networks:
                await app(scope, receive, send)
                return
            peer, port = scope.get("client") or ("", 0)
            if parse_address(peer) not in trusted:
                await app(scope, receive, send)
                return
            headers = scope.get("headers", [])
            forwarded = [v.decode("latin-1") for k, v in headers if k.lower() == b"x-forwarded-for"]
            scope["client"] = (trusted.client(peer, forwarded), port)
            proto = [v.decode("latin-1").split(",")[-1].strip().lower()
                     for k, v in headers if k.lower() == b"x-forwarded-proto"]
            if proto and proto[-1] in ("http", "https"):
                secure = proto[-1] == "https"
                if scope["type"] == ScopeType.WEBSOCKET:
                    scope["scheme"] = "wss" if secure else "ws"
                else:
                    scope["scheme"] = proto[-1]
            await app(scope, receive, send)

        return middleware

    return factory


@functools.lru_cache(maxsize=4096)  # every limited request asks; the same clients come back
def limit_key(address: str) -> str:
    """What a per-address limit counts: the address, or for IPv6 its /64 (one household or phone gets a whole /64,
    so counting single IPv6 addresses would let one device take as many turns as it likes)."""
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed) if parsed is not None else address
