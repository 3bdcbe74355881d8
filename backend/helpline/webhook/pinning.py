"""Webhook connections go to the address the SSRF check approved — never to a second lookup.

The delivery client's connection pool gets a network backend that never resolves names: it
connects a host only to the address :func:`helpline.webhook.targets.check_target` returned for
it (pinned just before the request), and refuses a host nothing pinned. Everything else stays
httpx's own: the URL, the ``Host`` header, TLS SNI and certificate verification all use the
name, keep-alive connections are pooled per name, and redirects are not followed. Proxies from
the environment are ignored (a proxy would resolve the name itself).
"""

from __future__ import annotations

import typing

import httpcore
import httpx

from helpline.webhook.targets import CheckedTarget


def pin_key(url: str) -> str:
    """The name as the connection pool sees it (IDNA-encoded, lower case, IPv6 unbracketed)."""
    return httpx.URL(url).raw_host.decode("ascii").lower()


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects a name only to its pinned address."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()
        self._pins: dict[str, str] = {}

    def pin(self, url: str, target: CheckedTarget) -> None:
        """Connections to ``url``'s host go to the checked address from now on. (A concurrent
        delivery may re-pin the name: whichever wins, its address passed the check too.)"""
        self._pins[pin_key(url)] = target.address

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 — httpcore's interface
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = self._pins.get(host.lower())
        if address is None:
            raise httpcore.ConnectError(f"{host!r} was not checked; not connecting")
        return await self._inner.connect_tcp(
            address, port, timeout=timeout, local_address=local_address,
            socket_options=socket_options,
        )  # fmt: skip

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 — httpcore's interface
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not delivered over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a :class:`PinnedBackend` (the one pool option httpx does not
    expose is its network backend, so the pool is rebuilt with it)."""

    def __init__(self, backend: PinnedBackend) -> None:
        super().__init__(trust_env=False)
        limits = httpx.Limits()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def pinned_client() -> tuple[httpx.AsyncClient, PinnedBackend]:
    """The worker's webhook client and the backend to pin checked addresses on."""
    backend = PinnedBackend()
    client = httpx.AsyncClient(
        transport=PinnedTransport(backend), follow_redirects=False, trust_env=False
    )
    return client, backend
