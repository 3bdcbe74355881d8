"""All SQL of the audit domain: audit-event queries, inserts, partitions, seals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit.schemas import AuditEventFilters
from helpline.kit.rows import AnyRow
from helpline.models import AuditArchive, AuditLog, AuditSeal
from helpline.models.audit_log import AUDIT_PARTITION_PREFIX


def _event_filters(filters: AuditEventFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.actor_id is not None:
        conditions.append(AuditLog.actor_id == filters.actor_id)
    if filters.actor_type is not None:
        conditions.append(AuditLog.actor_type == filters.actor_type)
    if filters.actions:
        conditions.append(AuditLog.action.in_(filters.actions))
    if filters.entity_type is not None:
        conditions.append(AuditLog.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        conditions.append(AuditLog.entity_id == filters.entity_id)
    if filters.request_id is not None:
        conditions.append(AuditLog.request_id == filters.request_id)
    if filters.outcome is not None:
        conditions.append(AuditLog.outcome == filters.outcome)
    if filters.occurred_after is not None:
        conditions.append(AuditLog.occurred_at >= filters.occurred_after)
    if filters.occurred_before is not None:
        conditions.append(AuditLog.occurred_at < filters.occurred_before)
    return conditions


async def list_audit_events(
    session: AsyncSession,
    filters: AuditEventFilters,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[AnyRow]:
    """One keyset page (limit + 1 rows), newest first."""
    stmt = select(
        AuditLog.id,
        AuditLog.occurred_at,
        AuditLog.actor_type,
        AuditLog.actor_id,
        AuditLog.api_key_id,
        AuditLog.action,
        AuditLog.entity_type,
        AuditLog.entity_id,
        AuditLog.request_id,
        func.host(AuditLog.ip).label("ip"),
        AuditLog.changes,
        AuditLog.outcome,
    ).where(*_event_filters(filters))
    if after is not None:
        stmt = stmt.where(
            tuple_(AuditLog.occurred_at, AuditLog.id)
            < tuple_(literal(after[0], DateTime(timezone=True)), literal(after[1], BigInteger))
        )
    stmt = stmt.order_by(AuditLog.occurred_at.desc(), AuditLog.id.desc()).limit(limit + 1)
    return list((await session.execute(stmt)).all())


async def insert_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(AuditLog), list(rows))


# Partitions and rotation ------------------------------------------------------------------------
async def ensure_partitions(session: AsyncSession, first_month: date, months: int) -> int:
    result = await session.execute(
        text("SELECT helpline_ensure_audit_partitions(:first, :months)"),
        {"first": first_month, "months": months},
    )
    return int(result.scalar_one())


async def list_partitions(session: AsyncSession) -> list[AnyRow]:
    """Monthly partitions (name, lower bound, upper bound), oldest first; not the default."""
    result = await session.execute(
        text(
            """
            SELECT c.relname AS name,
                   (regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                 'FROM \\(''([^'']+)''\\) TO'))[1]::timestamptz AS range_start,
                   (regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS range_end
              FROM pg_inherits i
              JOIN pg_class c ON c.oid = i.inhrelid
              JOIN pg_class p ON p.oid = i.inhparent
             WHERE p.relname = 'audit_log' AND c.relname ~ :pattern
             ORDER BY 2
            """
        ),
        {"pattern": f"^{AUDIT_PARTITION_PREFIX}[0-9]{{6}}$"},
    )
    return list(result.all())


async def count_default_partition(session: AsyncSession) -> int:
    result = await session.execute(text("SELECT count(*) FROM audit_log_p_default"))
    return int(result.scalar_one())


def _checked(partition: str) -> str:
    if not partition.startswith(AUDIT_PARTITION_PREFIX) or not partition[11:].isdigit():
        raise ValueError(f"not an audit partition: {partition!r}")
    return partition


async def stream_partition(
    session: AsyncSession, partition: str, batch: int = 5000
) -> AsyncIterator[str]:
    """Every row of one partition as JSON text, in (occurred_at, id) order, batch by batch.

    Keyset batches, not a server-side cursor: an open cursor would block the DROP TABLE that
    follows in the same transaction.
    """
    name = _checked(partition)
    first = text(
        f"SELECT to_jsonb(t)::text AS line, occurred_at, id FROM {name} t "  # noqa: S608  # nosec B608
        "ORDER BY occurred_at, id LIMIT :n"
    )
    following = text(
        f"SELECT to_jsonb(t)::text AS line, occurred_at, id FROM {name} t "  # noqa: S608  # nosec B608
        "WHERE (occurred_at, id) > (:at, :id) ORDER BY occurred_at, id LIMIT :n"
    )
    rows = (await session.execute(first, {"n": batch})).all()
    while rows:
        for row in rows:
            yield row.line
        last = rows[-1]
        params = {"at": last.occurred_at, "id": last.id, "n": batch}
        rows = (await session.execute(following, params)).all()


async def detach_and_drop(session: AsyncSession, partition: str) -> None:
    partition = _checked(partition)
    await session.execute(text(f"ALTER TABLE audit_log DETACH PARTITION {partition}"))
    await session.execute(text(f"DROP TABLE {partition}"))


async def insert_archive(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(AuditArchive).values(**values))


async def list_archives(session: AsyncSession) -> list[AuditArchive]:
    stmt = select(AuditArchive).order_by(AuditArchive.range_start)
    return list((await session.execute(stmt)).scalars())


# Seals (tamper evidence) ------------------------------------------------------------------------
# Canonical text of a row: every column, fixed order, timestamps in UTC.
ROW_TEXT = """concat_ws('|', id, to_char(occurred_at AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS.US'),
              actor_type, actor_id, api_key_id, action, entity_type, entity_id, request_id,
              host(ip), changes::text, outcome)"""


async def hourly_digests(session: AsyncSession, start: datetime, end: datetime) -> list[AnyRow]:
    """(hour, row count, hex SHA-256 over the hour's row hashes) for every non-empty hour."""
    result = await session.execute(
        text(
            "SELECT date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AS hour, "  # noqa: S608  # nosec B608
            "count(*) AS rows, encode(sha256(string_agg(sha256(convert_to("
            f"{ROW_TEXT}, 'UTF8')), ''::bytea ORDER BY occurred_at, id)), 'hex') AS digest "
            "FROM audit_log WHERE occurred_at >= :start AND occurred_at < :end "
            "GROUP BY 1 ORDER BY 1"
        ),
        {"start": start, "end": end},
    )
    return list(result.all())


async def oldest_event(session: AsyncSession) -> datetime | None:
    result = await session.execute(select(func.min(AuditLog.occurred_at)))
    return result.scalar_one_or_none()


async def list_seals(session: AsyncSession) -> list[AuditSeal]:
    return list((await session.execute(select(AuditSeal).order_by(AuditSeal.id))).scalars())


async def insert_seal(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(AuditSeal).values(**values))


async def lock_seals(session: AsyncSession) -> None:
    """Serialize sealers (two verify runs must not both extend the chain)."""
    await session.execute(text("LOCK TABLE audit_seals IN SHARE ROW EXCLUSIVE MODE"))
