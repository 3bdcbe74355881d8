"""Pure pieces of the hot path: the principal cache's trust rules and client-address resolution."""

from __future__ import annotations

import gc
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from helpline.auth.permissions import ROLE_SCOPES
from helpline.auth.principal import Principal
from helpline.auth.principal_cache import PrincipalCache, generation_deliverer, redis_publisher
from helpline.models.enums import Role
from helpline.runtime import GC_THRESHOLDS, tune_gc
from helpline.server.proxies import forwarded_client, parse_networks

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY = "p:auth:generation"


def principal() -> Principal:
    return Principal(
        user_id=uuid.uuid4(),
        role=Role.agent,
        scopes=ROLE_SCOPES[Role.agent],
        api_key_id=uuid.uuid4(),
    )


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tick() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def cache(tick: FakeMonotonic) -> PrincipalCache:
    c = PrincipalCache(key="p:auth:generation", ttl_s=30, max_entries=2, monotonic=tick)
    assert c.observe(b"g1") is False  # the first read is a change from "never seen"
    return c


class TestPrincipalCache:
    def test_hit_until_the_generation_moves(self, cache: PrincipalCache):
        p = principal()
        cache.put(b"k", p, expires_at=None, generation=cache.generation)
        assert cache.get(b"k", NOW) is p
        assert cache.observe(b"g1") is True
        assert cache.get(b"k", NOW) is p
        assert cache.observe(b"g2") is False
        assert cache.get(b"k", NOW) is None
        assert len(cache) == 0

    def test_a_fill_that_raced_a_change_is_not_kept(self, cache: PrincipalCache):
        before = cache.generation
        cache.observe(b"g2")  # a change was seen while the lookup ran
        cache.put(b"k", principal(), expires_at=None, generation=before)
        assert cache.get(b"k", NOW) is None

    def test_the_credentials_expiry_is_checked_per_request(self, cache: PrincipalCache):
        cache.put(b"k", principal(), expires_at=NOW + timedelta(seconds=1), generation=b"g1")
        assert cache.get(b"k", NOW) is not None
        assert cache.get(b"k", NOW + timedelta(seconds=1)) is None

    def test_entries_die_after_the_ttl(self, cache: PrincipalCache, tick: FakeMonotonic):
        cache.put(b"k", principal(), expires_at=None, generation=b"g1")
        tick.now += 30.5
        cache.observe(b"g1")
        assert cache.get(b"k", NOW) is None

    def test_unreadable_generation_trusts_nothing(self, cache: PrincipalCache):
        cache.put(b"k", principal(), expires_at=None, generation=b"g1")
        cache.unobserved()
        assert cache.check_due is True
        assert cache.get(b"k", NOW) is None

    def test_check_falls_due_after_the_interval(self, cache: PrincipalCache, tick: FakeMonotonic):
        assert cache.check_due is False
        tick.now += cache.check_interval_s
        assert cache.check_due is True

    def test_bounded_lru(self, cache: PrincipalCache):
        for name in (b"a", b"b", b"c"):
            cache.put(name, principal(), expires_at=None, generation=b"g1")
        assert len(cache) == 2
        assert cache.get(b"a", NOW) is None
        assert cache.get(b"c", NOW) is not None


TRUSTED = parse_networks(["10.0.0.0/8", "192.0.2.7"])


class FakeRedis:
    """Just SET: stores, or fails as a partitioned client would."""

    def __init__(self, *, reachable: bool) -> None:
        self.reachable = reachable
        self.values: dict[str, str] = {}

    async def set(self, key: str, value: str) -> None:
        if not self.reachable:
            raise ConnectionError("cut off")
        self.values[key] = value


class TestPublishingAChange:
    async def test_a_change_redis_cannot_hear_is_recorded_for_delivery(self, cache: PrincipalCache):
        recorded: list[str] = []

        async def record() -> None:
            recorded.append("principals")

        cache.put(b"k", principal(), expires_at=None, generation=cache.generation)
        publish = redis_publisher(FakeRedis(reachable=False), KEY, cache, on_lost=record)
        await publish()
        assert recorded == ["principals"]
        assert len(cache) == 0
        assert cache.check_due  # trusts nothing until the generation can be read again

    async def test_a_change_redis_hears_is_not_recorded(self, cache: PrincipalCache):
        redis = FakeRedis(reachable=True)
        recorded: list[str] = []

        async def record() -> None:
            recorded.append("principals")

        await redis_publisher(redis, KEY, cache, on_lost=record)()
        assert recorded == []
        assert len(redis.values[KEY]) == 16

    async def test_delivering_a_recorded_change_replaces_the_generation_or_raises(
        self, cache: PrincipalCache
    ):
        cache.put(b"k", principal(), expires_at=None, generation=cache.generation)
        with pytest.raises(ConnectionError):  # the outbox keeps the row for the next look
            await generation_deliverer(FakeRedis(reachable=False), KEY, cache, timeout_s=1)()
        assert len(cache) == 1
        redis = FakeRedis(reachable=True)
        await generation_deliverer(redis, KEY, cache, timeout_s=1)()
        assert KEY in redis.values
        assert len(cache) == 0


class TestForwardedClient:
    @pytest.mark.parametrize(
        ("peer", "xff", "fwd", "expected"),
        [
            ("203.0.113.9", b"198.51.100.1", None, "203.0.113.9"),  # untrusted peer: ignored
            ("192.0.2.7", b"198.51.100.1", None, "198.51.100.1"),
            ("192.0.2.7", b"198.51.100.1, 10.1.2.3", None, "198.51.100.1"),  # skip our proxies
            ("192.0.2.7", b"6.6.6.6, 198.51.100.1", None, "198.51.100.1"),  # spoofed left part
            ("192.0.2.7", b"not-an-ip", None, "192.0.2.7"),
            ("192.0.2.7", None, b'for="[2001:db8::1]:4711";proto=https', "2001:db8::1"),
            ("192.0.2.7", None, b"for=198.51.100.2:1234", "198.51.100.2"),
            ("192.0.2.7", None, None, "192.0.2.7"),
        ],
    )
    def test_resolution(self, peer, xff, fwd, expected):
        assert forwarded_client(peer, xff, fwd, TRUSTED) == expected

    def test_nothing_trusted_by_default(self):
        assert forwarded_client("127.0.0.1", b"198.51.100.1", None, ()) == "127.0.0.1"


class TestTuneGc:
    def test_freezes_the_start_up_heap_and_collects_young_objects_less_often(self):
        before = gc.get_threshold()
        try:
            tune_gc()
            assert gc.get_threshold() == GC_THRESHOLDS
            assert GC_THRESHOLDS[0] > 700  # CPython's default for the young generation
            assert gc.get_freeze_count() > 1000  # this process's modules, at least
        finally:
            gc.unfreeze()
            gc.set_threshold(*before)
