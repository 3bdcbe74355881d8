"""SSRF guard: a webhook target must resolve only to global addresses (unless allowed).

A target is refused when any address its host resolves to is not globally reachable
(:attr:`ipaddress.IPv4Address.is_global` false: loopback, private, link-local, shared address
space 100.64.0.0/10, documentation, benchmarking, reserved, multicast …; IPv4 embedded in
IPv4-mapped, NAT64, 6to4 and Teredo IPv6 addresses counts as itself), and always — even when
allowed — when it names a cloud metadata service by address or by name. The check runs when an
endpoint is saved and again before every delivery, and the delivery connects to the address
that check approved (:mod:`helpline.webhook.pinning`): the name is never resolved a second
time, so a DNS answer that changes between check and connect (DNS rebinding) cannot redirect it.

``HELPLINE_WEBHOOK_ALLOWED_HOSTS`` names hosts or addresses that may be non-global (tests and
development: ``127.0.0.1``); the name is still resolved, and the connection pinned, as for any
other target.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from helpline.webhook.errors import WebhookTargetRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) → the addresses it resolves to, as strings; injectable for tests.
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Cloud metadata services (they hand out credentials): refused even when "allowed". Most are
# also non-global; the list says so explicitly and covers the names.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle …
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS DNS resolver
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IMDS over IPv6
    )
)
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# IANA special-purpose ranges that are not globally reachable but that older Pythons' is_global
# still calls global (3.13 knows them): IETF protocol assignments but for the two anycast
# services in it, local-use NAT64, SRv6 SIDs.
NOT_GLOBAL = tuple(ipaddress.ip_network(n) for n in ("192.0.0.0/24", "64:ff9b:1::/48", "5f00::/16"))
GLOBAL_EXCEPTIONS = frozenset(ipaddress.ip_address(a) for a in ("192.0.0.9", "192.0.0.10"))


@dataclass(frozen=True, slots=True)
class CheckedTarget:
    """A target that passed the check: its host (as the URL names it) and the address the
    delivery must connect to."""

    host: str
    address: str


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _metadata(address: Address) -> bool:
    embedded = _embedded_ipv4(address)
    return address in METADATA_ADDRESSES or embedded in METADATA_ADDRESSES


def _forbidden(address: Address) -> bool:
    """True for every address that is not globally reachable, or is a metadata service."""
    embedded = _embedded_ipv4(address)
    if embedded is not None and _forbidden(embedded):
        return True
    if _metadata(address) or not address.is_global or address.is_multicast:
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return True
    return address not in GLOBAL_EXCEPTIONS and any(
        address.version == n.version and address in n for n in NOT_GLOBAL
    )


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def check_target(
    url: str, allowed_hosts: list[str], *, resolve: Resolver | None = None
) -> CheckedTarget:
    """The address to deliver ``url`` to, or WebhookTargetRefused unless every address its
    host resolves to may be called."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        raise WebhookTargetRefused("The URL must be http(s)://host/...")
    if host in METADATA_NAMES or host.endswith(".metadata.google.internal"):
        raise WebhookTargetRefused(f"The host {host!r} is a cloud metadata service.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookTargetRefused("The URL's port is not valid.") from exc
    try:
        resolved = await (resolve or system_resolve)(host, port)
    except OSError as exc:
        raise WebhookTargetRefused(f"The host {host!r} does not resolve.") from exc
    if not resolved:
        raise WebhookTargetRefused(f"The host {host!r} does not resolve.")
    host_allowed = host in allowed_hosts
    for raw in resolved:
        address = ipaddress.ip_address(raw.split("%")[0])
        if _metadata(address):
            raise WebhookTargetRefused(
                f"The host {host!r} resolves to {address}, a cloud metadata service."
            )
        if _forbidden(address) and not host_allowed and str(address) not in allowed_hosts:
            raise WebhookTargetRefused(
                f"The host {host!r} resolves to {address}, a non-public address."
            )
    return CheckedTarget(host=host, address=resolved[0].split("%")[0])
