"""Reports from the daily rollups, and keeping the rollups in step with the facts.

``sync`` runs in the transaction that writes facts (the feed consumer's batch, the backfill):
it locks the tickets' sync states, adds each ticket's contributions under its current key and
takes away what its state says was added before, so a retried batch, two workers or a backfill
beside the worker leave the rollups exact. ``plan`` decides whether a report can read them: no
``metadata.*`` filter, a zone whose rollups are ready, and a period of whole local days.
docs/reports.md, "Rollups".
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.report.histogram import quantile
from helpline.report.repository import rollups as repository
from helpline.report.rollup import NIL, Key, RowKey, Sums, add_to, contributions
from helpline.report.schemas import Durations, Scope

# -- writing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Locked:
    states: dict[uuid.UUID, AnyRow]
    zones: list[str]


async def lock(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Locked:
    """Lock (creating when missing) the tickets' sync states and learn the zones kept; call
    before writing their facts (a zone added while no fact exists is ready at once)."""
    zones = sorted(await repository.sync_zones(session))
    return Locked(await repository.lock_states(session, ids), zones)


def _key(ticket: AnyRow, channel: str) -> Key:
    return Key(
        priority=ticket.priority,
        team_id=ticket.team_id or NIL,
        mailbox_id=ticket.mailbox_id or NIL,
        channel=channel,
        assignee_id=ticket.assigned_to or NIL,
    )


def _state_key(state: AnyRow) -> Key:
    return Key(state.priority, state.team_id, state.mailbox_id, state.channel, state.assignee_id)


async def sync(session: AsyncSession, locked: Locked) -> int:
    """Bring the rollups in step with the locked tickets' facts and keys; returns rows touched."""
    states, zones = locked.states, locked.zones
    if not states:
        return 0
    ids = sorted(states)
    tickets = {t.id: t for t in await repository.ticket_keys(session, ids)}
    facts: dict[uuid.UUID, list[AnyRow]] = defaultdict(list)
    for f in await repository.ticket_facts(session, ids):
        facts[f.ticket_id].append(f)
    acc: dict[RowKey, Sums] = {}
    saves: list[dict[str, Any]] = []
    for tid in ids:
        state, ticket, fs = states[tid], tickets.get(tid), facts[tid]
        live = ticket is not None and ticket.deleted_at is None and bool(fs)
        channel = next((f.channel for f in fs if f.kind == "created" and f.channel), "")
        key = _key(ticket, channel) if live and ticket is not None else Key()
        have = sorted(f"{f.kind}:{f.seq}" for f in fs) if live else []
        if (
            state.live == live
            and _state_key(state) == key
            and sorted(state.facts) == have
            and sorted(state.zones) == (zones if live else [])
        ):
            continue
        if state.live:
            applied = set(state.facts)
            old = [f for f in fs if f"{f.kind}:{f.seq}" in applied]
            add_to(acc, contributions(old), _state_key(state), state.zones, -1)
        if live:
            add_to(acc, contributions(fs), key, zones, 1)
        saves.append(
            {
                "ticket_id": tid,
                "live": live,
                "priority": key.priority,
                "team_id": key.team_id,
                "mailbox_id": key.mailbox_id,
                "channel": key.channel,
                "assignee_id": key.assignee_id,
                "facts": have,
                "zones": zones if live else [],
            }
        )
    key_columns = ("zone", "grain", "kind", "assignee_id", "day", "priority", "team_id",
                   "mailbox_id", "channel")  # fmt: skip
    rows: dict[str, list[Any]] = {
        c: [] for c in (*key_columns, "n", "cal_n", "cal_sum", "bus_n", "bus_sum")
    }
    bins: dict[str, list[Any]] = {c: [] for c in (*key_columns, "measure", "bin", "count")}
    for (zone, grain, kind, day, k), s in sorted(acc.items(), key=_order):
        if s.is_zero():
            continue
        row_key = (zone, grain, kind, k.assignee_id, day, k.priority, k.team_id, k.mailbox_id,
               k.channel)  # fmt: skip
        for column, value in zip(key_columns, row_key, strict=True):
            rows[column].append(value)
        for column, value in (("n", s.n), ("cal_n", s.cal_n), ("cal_sum", s.cal_sum),
                              ("bus_n", s.bus_n), ("bus_sum", s.bus_sum)):  # fmt: skip
            rows[column].append(value)
        for measure, hist in ((0, s.cal_hist), (1, s.bus_hist)):
            for b, c in sorted(hist.items()):
                if not c:
                    continue
                for column, value in zip(key_columns, row_key, strict=True):
                    bins[column].append(value)
                bins["measure"].append(measure)
                bins["bin"].append(b)
                bins["count"].append(c)
    await repository.apply_deltas(session, rows, bins)
    # A purged ticket (no row) has left the rollups now: its facts and state go too.
    gone = [tid for tid in ids if tid not in tickets]
    await repository.save_states(session, [s for s in saves if s["ticket_id"] not in gone])
    if gone:
        await repository.forget(session, gone)
    return len(rows["zone"])


def _order(item: tuple[RowKey, Sums]) -> tuple[Any, ...]:
    zone, grain, kind, day, k = item[0]
    return (zone, grain, kind, str(k.assignee_id), day, k.priority, str(k.team_id),
            str(k.mailbox_id), k.channel)  # fmt: skip


async def mark_ready(session: AsyncSession, zones: Sequence[str]) -> None:
    """After a backfill that synced every ticket: these zones' rollups are complete."""
    await repository.mark_ready(session, zones)


async def zones(session: AsyncSession) -> dict[str, bool]:
    """The zones kept (adding the SLA calendars' new zones) → whether reports may read them."""
    return await repository.sync_zones(session)


async def purged_tickets(session: AsyncSession, limit: int) -> list[uuid.UUID]:
    return await repository.purged_tickets(session, limit)


# -- reading -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Plan:
    grain: int
    days: tuple[date, date]


def _local_midnight(moment: datetime, zone: ZoneInfo) -> date | None:
    local = moment.astimezone(zone)
    return local.date() if local.timetz().replace(tzinfo=None) == time(0) else None


def grain_for(scope: Scope, *, by_key: bool = False, by_assignee: bool = False) -> int:
    """The coarsest grain with the report's filters and grouping: the key columns (priority,
    team, mailbox, channel) and/or the assignee."""
    key = (
        by_key or scope.priority is not None or scope.mailbox is not None or scope.team is not None
    )
    assignee = by_assignee or scope.agent is not None
    if assignee:
        return 2 if key else 3
    return 1 if key else 0


async def plan(
    session: AsyncSession, scope: Scope, *, by_key: bool = False, by_assignee: bool = False
) -> Plan | None:
    """The rollups' grain and local days for this report, or None: read the facts."""
    if scope.source == "facts" or scope.metadata:
        return None
    zone = ZoneInfo(scope.time_zone)
    d0, d1 = _local_midnight(scope.start, zone), _local_midnight(scope.end, zone)
    if d0 is None or d1 is None:
        return None
    if not await repository.zone_ready(session, scope.time_zone):
        return None
    return Plan(grain_for(scope, by_key=by_key, by_assignee=by_assignee), (d0, d1))


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def _durations(n: int, total: int, hist: dict[int, int]) -> Durations:
    return Durations(
        avg=_r(total / n) if n else None,
        p50=_r(quantile(hist, 0.5)),
        p90=_r(quantile(hist, 0.9)),
    )


async def duration_buckets(
    session: AsyncSession, scope: Scope, p: Plan, kind: str
) -> list[dict[str, Any]]:
    """Per bucket: the DurationBucket's fields from the rollups (no SLA clock figures)."""
    cal: dict[datetime, dict[int, int]] = defaultdict(dict)
    bus: dict[datetime, dict[int, int]] = defaultdict(dict)
    for h in await repository.histograms(session, scope, p.grain, p.days, kind):
        (cal if h.measure == 0 else bus)[h.bucket] = dict(zip(h.bins, h.hits, strict=True))
    empty = Durations(avg=None, p50=None, p90=None)
    return [
        {
            "start": r.bucket,
            "tickets": int(r.n),
            "calendar": _durations(int(r.cal_n), int(r.cal_sum), cal[r.bucket]),
            "business_tickets": int(r.bus_n),
            "business": _durations(int(r.bus_n), int(r.bus_sum), bus[r.bucket]),
            "clock": empty,
        }
        for r in await repository.sums(session, scope, p.grain, p.days, [kind])
    ]


async def counts(
    session: AsyncSession, scope: Scope, p: Plan, kinds: Sequence[str], group: str | None = None
) -> list[AnyRow]:
    return await repository.sums(session, scope, p.grain, p.days, kinds, group=group)


async def opening(session: AsyncSession, scope: Scope, p: Plan) -> int:
    """Tickets open at the period's start: created + reopened - solved, on earlier days."""
    rows = await repository.before(
        session, scope, p.grain, p.days[0], ["created", "reopened", "solved"]
    )
    return sum(int(r.n) * (-1 if r.kind == "solved" else 1) for r in rows)
