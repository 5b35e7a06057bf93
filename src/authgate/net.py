"""Who is calling, and over what: the peer address, believing proxies only when trusted."""

import ipaddress
from functools import cached_property

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientResolver:
    """Client IP and scheme; X-Forwarded-* are believed only from `trusted_proxies`."""

    def __init__(self, trusted_proxies: list[str]) -> None:
        self._spec = trusted_proxies

    @cached_property
    def _networks(self) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in self._spec)

    def _is_trusted(self, address: str) -> bool:
        if not self._spec:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def client_ip(self, conn: HTTPConnection) -> str:
        peer = conn.client.host if conn.client else ""
        if not self._is_trusted(peer):
            return peer
        # Walk X-Forwarded-For from the right: the first hop that is not one of our proxies
        # is the client; anything to its left was written by the client and proves nothing.
        hops = [h.strip() for h in conn.headers.get("x-forwarded-for", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                return hop if _is_ip(hop) else peer
        return hops[0] if hops and _is_ip(hops[0]) else peer

    def is_https(self, conn: HTTPConnection) -> bool:
        if conn.scope.get("scheme") in ("https", "wss"):
            return True
        peer = conn.client.host if conn.client else ""
        if self._is_trusted(peer):
            proto = conn.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
            return proto == "https"
        return False


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
