"""The domain-free cache kit: circuit breaker, metrics text, idempotency rules."""

from __future__ import annotations

import pytest

from helpline.errors import IdempotencyKeyInvalid
from helpline.idempotency import service as idempotency
from helpline.kit.cache import BreakerState, CircuitBreaker
from helpline.kit.metrics import Registry

pytestmark = pytest.mark.unit


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestCircuitBreaker:
    def test_opens_after_consecutive_failures_and_probes_once(self):
        clock = FakeMonotonic()
        breaker = CircuitBreaker(failure_threshold=3, reset_after_s=2.0, clock=clock)
        breaker.failure()
        breaker.success()  # a success resets the count
        for _ in range(3):
            assert breaker.allow()
            breaker.failure()
        assert breaker.state is BreakerState.open
        assert not breaker.allow()
        clock.now += 2.0
        assert breaker.allow()  # the single half-open probe
        assert breaker.state is BreakerState.half_open
        assert not breaker.allow()
        breaker.failure()
        assert breaker.state is BreakerState.open
        assert not breaker.allow()
        clock.now += 2.0
        assert breaker.allow()
        breaker.success()
        assert breaker.state is BreakerState.closed
        assert breaker.allow()
        assert breaker.allow()


class TestMetricsText:
    def test_prometheus_exposition(self):
        registry = Registry()
        hits = registry.counter("x_hits_total", "Hits.")
        hits.inc(cache="ticket")
        hits.inc(2, cache="list")
        registry.gauge("x_state", "State.", callback=lambda: {(("b", 'r"1'),): 1.0})
        assert registry.render() == (
            "# HELP x_hits_total Hits.\n# TYPE x_hits_total counter\n"
            'x_hits_total{cache="list"} 2\nx_hits_total{cache="ticket"} 1\n'
            "# HELP x_state State.\n# TYPE x_state gauge\n"
            'x_state{b="r\\"1"} 1\n'
        )


class TestIdempotencyRules:
    @pytest.mark.parametrize("key", ["a", "k" * 255, "order-42:retry_1", "~!@#"])
    def test_valid_keys(self, key):
        assert idempotency.check_key(key) == key

    @pytest.mark.parametrize("key", ["", "k" * 256, "a b", "a\tb", "caf\xe9", "\x7f"])
    def test_invalid_keys(self, key):
        with pytest.raises(IdempotencyKeyInvalid):
            idempotency.check_key(key)

    def test_fingerprint_covers_method_path_query_and_body(self):
        base = idempotency.fingerprint("POST", "/a", "", b"{}")
        assert base == idempotency.fingerprint("POST", "/a", "", b"{}")
        assert len({base, idempotency.fingerprint("POST", "/b", "", b"{}"),
                    idempotency.fingerprint("POST", "/a", "x=1", b"{}"),
                    idempotency.fingerprint("POST", "/a", "", b"{ }")}) == 4  # fmt: skip

    @pytest.mark.parametrize(
        ("status", "stored"),
        [(201, True), (200, True), (400, True), (404, True), (422, True), (401, False),
         (403, False), (409, False), (412, False), (429, False), (500, False), (503, False)],
    )  # fmt: skip
    def test_which_responses_are_replayed(self, status, stored):
        assert idempotency.should_store(status) is stored
