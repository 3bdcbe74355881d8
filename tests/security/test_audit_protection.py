"""The runtime role cannot rewrite history; the owner can, but `audit verify` notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from helpline.audit import integrity
from helpline.models import AuditLog, AuditSeal, TicketHistory
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_audit_event

pytestmark = pytest.mark.security

RUNTIME = "helpline_runtime"
# table → a column to "update"
PROTECTED = {
    "audit_log": "action",
    "ticket_history": "request_id",
    "audit_seals": "row_count",
    "audit_archives": "row_count",
}


async def denied(session, sql: str) -> str:
    """Run `sql` in a savepoint; return the error message (the test fails if it succeeds)."""
    try:
        async with session.begin_nested():
            await session.execute(text(sql))
    except DBAPIError as exc:
        return str(exc.orig)
    pytest.fail(f"{sql!r} was allowed for {RUNTIME}")


async def current_partition(session) -> str:
    return (
        await session.execute(text("SELECT 'audit_log_p' || to_char(now(), 'YYYYMM')"))
    ).scalar_one()


class TestRuntimeRole:
    @pytest.mark.parametrize("table", list(PROTECTED))
    @pytest.mark.parametrize(
        "statement",
        ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}", "TRUNCATE {t}"],
    )
    async def test_cannot_change_audit_tables(self, session, cast: Cast, table, statement):
        await make_audit_event(session)
        await session.execute(text(f"SET LOCAL ROLE {RUNTIME}"))
        message = await denied(session, statement.format(t=table, c=PROTECTED[table]))
        assert f"permission denied for table {table}" in message

    async def test_cannot_touch_partitions_directly(self, session):
        partition = await current_partition(session)
        await session.execute(text(f"SET LOCAL ROLE {RUNTIME}"))
        for sql in (
            f"UPDATE {partition} SET action = 'x'",
            f"DELETE FROM {partition}",
            f"SELECT 1 FROM {partition}",
            f"TRUNCATE {partition}",
        ):
            assert f"permission denied for table {partition}" in await denied(session, sql)
        message = await denied(session, f"ALTER TABLE audit_log DETACH PARTITION {partition}")
        assert "must be owner" in message

    async def test_may_insert_and_select(self, session):
        await session.execute(text(f"SET LOCAL ROLE {RUNTIME}"))
        await make_audit_event(session, action="runtime.wrote")
        found = await session.execute(
            select(AuditLog.action).where(AuditLog.action == "runtime.wrote")
        )
        assert found.scalar_one() == "runtime.wrote"

    async def test_the_api_works_as_the_runtime_role(self, client, session, cast: Cast):
        await session.execute(text(f"SET LOCAL ROLE {RUNTIME}"))
        await session.commit()
        assert (await session.execute(text("SELECT current_user"))).scalar() == RUNTIME
        r = await client.post(
            "/api/v1/tickets",
            json={"title": "T", "customer_id": str(cast.alice.id)},
            headers=cast.agent.headers,
        )
        assert r.status_code == 201, r.text
        tid = r.json()["id"]
        r = await client.patch(
            f"/api/v1/tickets/{tid}", json={"status": "open"}, headers=cast.agent.headers
        )
        assert r.status_code == 200, r.text
        history = (
            await session.execute(
                select(TicketHistory.change_type)
                .where(TicketHistory.ticket_id == r.json()["id"])
                .order_by(TicketHistory.id)
            )
        ).scalars()
        assert list(history) == ["created", "status_changed"]
        r = await client.get(
            "/api/v1/audit-events", params={"entity_id": tid}, headers=cast.admin.headers
        )
        assert [e["action"] for e in r.json()["data"]] == ["ticket.updated", "ticket.created"]


class TestVerify:
    async def _sealed_log(self, session) -> datetime:
        now = datetime.now(UTC)
        for hours in (5, 4, 4, 3):
            await make_audit_event(
                session, action="test.sealed", occurred_at=now - timedelta(hours=hours)
            )
        result = await integrity.seal(session, now=now, settle_minutes=10)
        assert result is not None
        assert result.rows >= 4
        return now

    async def test_untouched_log_verifies(self, session):
        now = await self._sealed_log(session)
        await make_audit_event(session, action="test.unsealed")  # newer than the seal: fine
        report = await integrity.verify(session)
        assert report.ok, report.problems
        assert report.seals == 1
        assert report.rows >= 4
        assert await integrity.seal(session, now=now, settle_minutes=10) is None  # nothing new

    async def test_altered_row_is_detected(self, session):
        await self._sealed_log(session)
        victim = (
            await session.execute(
                select(AuditLog.id).where(AuditLog.action == "test.sealed").limit(1)
            )
        ).scalar_one()
        await session.execute(
            update(AuditLog).where(AuditLog.id == victim).values(changes={"forged": True})
        )
        report = await integrity.verify(session)
        assert not report.ok
        assert any("rows altered after sealing" in p for p in report.problems)

    async def test_deleted_row_is_detected(self, session):
        await self._sealed_log(session)
        victim = (
            await session.execute(
                select(AuditLog.id).where(AuditLog.action == "test.sealed").limit(1)
            )
        ).scalar_one()
        await session.execute(delete(AuditLog).where(AuditLog.id == victim))
        report = await integrity.verify(session)
        assert any("1 row(s) sealed, 0 present" in p or "sealed," in p for p in report.problems)

    async def test_backdated_row_is_detected(self, session):
        now = await self._sealed_log(session)
        await make_audit_event(session, action="test.forged", occurred_at=now - timedelta(hours=4))
        report = await integrity.verify(session)
        assert any("present" in p for p in report.problems)

    async def test_removed_seal_breaks_the_chain(self, session):
        now = await self._sealed_log(session)
        await make_audit_event(session, action="test.later", occurred_at=now + timedelta(hours=1))
        assert await integrity.seal(session, now=now + timedelta(hours=3), settle_minutes=10)
        first = (await session.execute(select(AuditSeal.id).order_by(AuditSeal.id))).scalars()
        await session.execute(delete(AuditSeal).where(AuditSeal.id == next(iter(first))))
        report = await integrity.verify(session)
        assert any("chain broken" in p for p in report.problems)
