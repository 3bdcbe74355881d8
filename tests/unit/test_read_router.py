"""ReadRouter decisions without I/O: fake engines, an in-memory marker store, a fake clock."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from helpline.kit.replicas import ReadRouter, Replica

pytestmark = pytest.mark.unit

PRIMARY: Any = object()


class Markers:
    def __init__(self, values: dict[str, int] | None = None, fail: bool = False) -> None:
        self.values = values or {}
        self.fail = fail

    async def get(self, key: str) -> bytes | None:
        if self.fail:
            raise ConnectionError("redis down")
        value = self.values.get(key)
        return None if value is None else str(value).encode()


def replica(name: str, lsn: int, lag: float = 0.0, **extra: Any) -> Replica:
    return Replica(name=name, engine=object(), replay_lsn=lsn, lag_s=lag, in_recovery=True, **extra)  # type: ignore[arg-type]


def router(*replicas: Replica, markers: Markers | None = None, now: float = 100.0) -> ReadRouter:
    return ReadRouter(
        primary=PRIMARY,
        replicas=list(replicas),
        redis=markers or Markers(),
        key_prefix="p",
        max_lag_s=5.0,
        clock=lambda: now,
    )


class TestChoose:
    async def test_no_replicas(self):
        route = await router().choose("user:1")
        assert (route.engine, route.replica, route.reason) == (PRIMARY, None, "no-replicas")

    async def test_round_robin_over_usable_replicas(self):
        r = router(replica("a", 10), replica("b", 10))
        names = [(await r.choose(None)).replica for _ in range(4)]
        assert names == ["a", "b", "a", "b"]

    @pytest.mark.parametrize(
        "state",
        [
            {"lag": 5.1},
            {"lag": None},
            {"in_recovery": False},  # promoted or misconfigured: never read from it as a replica
            {"down_until": 100.5},
        ],
    )
    async def test_unusable_replicas_send_reads_to_the_primary(self, state: dict[str, Any]):
        bad = replica("a", 10, lag=state.get("lag", 0.0), down_until=state.get("down_until", 0.0))
        if "in_recovery" in state:
            bad.in_recovery = state["in_recovery"]
        route = await router(bad).choose(None)
        assert (route.engine, route.reason) == (PRIMARY, "unavailable")

    async def test_a_rested_replica_is_tried_again(self):
        route = await router(replica("a", 10, down_until=99.0)).choose(None)
        assert route.reason == "replica"

    async def test_read_your_writes_needs_the_replay_position(self):
        markers = Markers({"p:ryw:user:1": 20})
        r = router(replica("behind", 19), replica("ahead", 20), markers=markers)
        assert {(await r.choose("user:1")).replica for _ in range(4)} == {"ahead"}
        assert {(await r.choose("user:2")).replica for _ in range(4)} == {"behind", "ahead"}

    async def test_every_replica_behind_the_write_means_primary(self):
        r = router(replica("a", 19), markers=Markers({"p:ryw:user:1": 20}))
        route = await r.choose("user:1")
        assert (route.engine, route.reason) == (PRIMARY, "behind-own-write")

    async def test_marker_store_down_means_primary_for_principals_only(self):
        r = router(replica("a", 50), markers=Markers(fail=True))
        assert (await r.choose("user:1")).reason == "marker-unavailable"
        assert (await r.choose(None)).reason == "replica"

    def test_status_reports_each_replica(self):
        r = router(replica("a", 10, lag=0.5), replica("b", 3, lag=9.0))
        assert [(s["name"], s["usable"], s["lag_s"]) for s in r.status()] == [
            ("a", True, 0.5),
            ("b", False, 9.0),
        ]


class ServerError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


class TestRunRead:
    @staticmethod
    def failing_on_replica(r: ReadRouter, error: BaseException) -> list[object]:
        engines: list[object] = []

        async def run(engine: Any, fn: Any) -> str:
            engines.append(engine)
            if engine is not PRIMARY:
                raise error
            return "from primary"

        r._run = run  # type: ignore[method-assign]
        return engines

    @pytest.mark.parametrize(
        "error",
        [
            OSError("connection refused"),
            DBAPIError("SELECT 1", None, ServerError("08006")),
            DBAPIError("SELECT 1", None, ServerError("57P01")),  # admin shutdown
        ],
    )
    async def test_a_lost_replica_rests_and_the_read_reruns_on_the_primary(
        self, error: BaseException
    ):
        r = router(replica("a", 10))
        engines = self.failing_on_replica(r, error)
        assert await r.run_read(None, lambda s: s) == "from primary"
        assert engines[-1] is PRIMARY
        assert r.replicas[0].down_until == 100.0 + r.retry_s
        assert r.status()[0]["usable"] is False

    async def test_a_recovery_conflict_reruns_on_the_primary_without_resting(self):
        r = router(replica("a", 10))
        self.failing_on_replica(r, DBAPIError("SELECT 1", None, ServerError("40001")))
        assert await r.run_read(None, lambda s: s) == "from primary"
        assert r.status()[0]["usable"] is True

    async def test_an_error_in_the_query_is_the_callers(self):
        r = router(replica("a", 10))
        engines = self.failing_on_replica(r, DBAPIError("SELECT x", None, ServerError("42703")))
        with pytest.raises(DBAPIError):
            await r.run_read(None, lambda s: s)
        assert len(engines) == 1
        assert r.status()[0]["usable"] is True
