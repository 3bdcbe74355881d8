"""SSRF guard: a webhook target must resolve only to public addresses (unless allowed)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from helpline.webhook.errors import WebhookTargetRefused

# Cloud metadata services answer on these even where they are not "link-local".
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address in METADATA
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


async def check_target(url: str, allowed_hosts: list[str]) -> None:
    """Raise WebhookTargetRefused unless every address ``url`` resolves to may be called."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise WebhookTargetRefused("The URL must be http(s)://host/...")
    if host in allowed_hosts:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise WebhookTargetRefused(f"The host {host!r} does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if _forbidden(address) and str(address) not in allowed_hosts:
            raise WebhookTargetRefused(
                f"The host {host!r} resolves to {address}, a non-public address."
            )
