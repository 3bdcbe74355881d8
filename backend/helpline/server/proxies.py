"""Which address is the client's: the socket peer, or what trusted proxies say it was."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Trusted proxy addresses or CIDR ranges (``*`` is refused: it would trust everyone)."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def forwarded_client(
    peer: str, forwarded_for: bytes | None, forwarded: bytes | None, trusted: tuple[Network, ...]
) -> str:
    """The client address: the peer, unless the peer is a trusted proxy — then the right-most
    address in ``X-Forwarded-For`` (or ``Forwarded: for=``) that is not itself a trusted proxy."""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops: list[str] = []
    if forwarded_for:
        hops = [h.strip() for h in forwarded_for.decode("latin-1").split(",")]
    elif forwarded:
        for element in forwarded.decode("latin-1").split(","):
            for pair in element.split(";"):
                name, _, value = pair.strip().partition("=")
                if name.lower() == "for":
                    hops.append(value.strip('"').removeprefix("[").split("]")[0])
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return peer  # garbage in the header: trust the socket, not the header
        if not _is_trusted(address, trusted):
            return address
    return peer


def _address(text: str) -> str | None:
    text = text.strip()
    if text.count(":") == 1:  # IPv4 with a port
        text = text.split(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)
