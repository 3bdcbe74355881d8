"""One place that turns ``HELPLINE_REDIS_URL`` into a redis-py asyncio client.

Three shapes, the same URL schemes as the ``limits`` library's storages:

- ``redis://[user:pass@]host:port/db``, ``rediss://…``, ``unix://…``: one server;
- ``redis+cluster://[user:pass@]host:port,host:port[?…]`` (``rediss+cluster://`` for TLS): Redis
  Cluster; the hosts are seed nodes, the client learns the slot map and follows MOVED/ASK;
- ``redis+sentinel://[user:pass@]host:port,host:port/master-name[?db=0&sentinel_password=…]``:
  Sentinel; the client asks the Sentinels for the current master and reconnects after a failover.

Every multi-key command or script must keep its keys in one hash slot (``{…}`` hash tags) to
work on a cluster; that is the callers' business, not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

CLUSTER_SCHEMES = frozenset({"redis+cluster", "rediss+cluster"})
SENTINEL_SCHEMES = frozenset({"redis+sentinel"})


@dataclass(frozen=True, slots=True)
class RedisTopology:
    """What a Redis URL names: its kind, the addresses and the credentials."""

    kind: str  # "single" | "cluster" | "sentinel"
    hosts: list[tuple[str, int]] = field(default_factory=list)
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    master_name: str | None = None
    db: int = 0
    sentinel_password: str | None = None


def _hosts(netloc: str) -> tuple[list[tuple[str, int]], str | None, str | None]:
    userinfo, _, hostlist = netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, _, secret = userinfo.partition(":")
        username, password = (unquote(user) or None), (unquote(secret) or None)
    hosts = []
    for item in hostlist.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host:
            host, port = port, "6379"
        hosts.append((host.strip("[]"), int(port)))
    return hosts, username, password


def parse_redis_url(url: str) -> RedisTopology:
    """Classify a Redis URL; raise ValueError for a malformed cluster or Sentinel URL."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme in CLUSTER_SCHEMES:
        hosts, username, password = _hosts(parts.netloc)
        return RedisTopology(
            "cluster", hosts, username, password, ssl=parts.scheme.startswith("rediss")
        )
    if parts.scheme in SENTINEL_SCHEMES:
        hosts, username, password = _hosts(parts.netloc)
        path = [p for p in parts.path.split("/") if p]
        if not path:
            raise ValueError("a redis+sentinel:// URL names the master: …/master-name")
        db = int(query.get("db", path[1] if len(path) > 1 else 0))
        return RedisTopology(
            "sentinel",
            hosts,
            username,
            password,
            master_name=path[0],
            db=db,
            sentinel_password=query.get("sentinel_password"),
        )
    return RedisTopology("single")


def redis_from_url(url: str, **options: Any) -> Any:
    """A redis-py asyncio client for a single server, a Cluster or a Sentinel-managed master.

    ``options`` are connection options (``socket_timeout``, ``socket_connect_timeout``,
    ``health_check_interval``, …) applied to every connection the client makes.
    """
    topology = parse_redis_url(url)
    if topology.kind == "cluster":
        from redis.asyncio.cluster import ClusterNode, RedisCluster

        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in topology.hosts],
            username=topology.username,
            password=topology.password,
            ssl=topology.ssl,
            **options,
        )
    if topology.kind == "sentinel":
        from redis.asyncio.sentinel import Sentinel

        timeouts = {k: v for k, v in options.items() if k.startswith("socket_")}
        if topology.master_name is None:  # parse_redis_url refuses such a URL already
            raise ValueError("a redis+sentinel:// URL names the master")
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            topology.hosts,
            sentinel_kwargs={**timeouts, "password": topology.sentinel_password},
            **options,
        )
        return sentinel.master_for(
            topology.master_name,
            username=topology.username,
            password=topology.password,
            db=topology.db,
        )
    import redis.asyncio as redis

    return redis.from_url(url, **options)


def is_cluster(client: Any) -> bool:
    """True for a Redis Cluster client (pipelines and scripts must stay within one slot)."""
    from redis.asyncio.cluster import RedisCluster

    return isinstance(client, RedisCluster)
