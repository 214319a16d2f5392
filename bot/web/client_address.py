"""Who is signing in: the client's address, for counting failed sign-ins per address.

request.remote is the peer of the TCP connection. Behind a reverse proxy that is the proxy, so when the
peer is one of RIS3_WEB_TRUSTED_PROXIES the address comes from X-Forwarded-For instead: read from the
right, the first hop that is not a trusted proxy is the client as the last trusted proxy saw it. Hops to
its left were written by the client and are not believed."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from aiohttp import web

from bot.channels.limits import client_address as forwarded_client

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address
# One IPv6 subscriber usually holds a whole /64: counted per address, it would be a new client per guess.
IPV6_PREFIX = 64


def _parse(value: str) -> Address | None:
    try:
        return ip_address(value.strip())
    except ValueError:
        return None


def client_address(request: web.Request, trusted_proxies: Sequence[Network]) -> str:
    # The same rule as the Rasa server's channels (bot/channels/limits.py).
    remote = request.remote or ""
    if not remote:
        return remote
    return forwarded_client(remote, ", ".join(request.headers.getall("X-Forwarded-For", ())), trusted_proxies)


def address_key(address: str) -> str:
    """The unit failures are counted by: the address itself, or for IPv6 its /64."""
    parsed = _parse(address)
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is None:
        return str(ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False))
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return address
