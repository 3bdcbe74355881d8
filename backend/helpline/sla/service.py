"""Service levels: admin CRUD, deriving tickets' clocks, following the feed, alarms, recompute.

ADR 0013. Deriving is idempotent (it reads the stored history, never event payloads), so a
repeated batch after a crash changes nothing.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.errors import (
    PermissionDenied,
    SlaCalendarInUse,
    SlaCalendarNotFound,
    SlaNameTaken,
    SlaPolicyInvalid,
    SlaPolicyNotFound,
    SlaPolicyOrderStale,
    ValidationFailed,
)
from helpline.kit.ids import new_id
from helpline.kit.pagination import Keyset, KeysetPage, time_and_id, time_and_id_of
from helpline.kit.rows import AnyRow
from helpline.models import SlaCalendar, SlaClock, SlaPolicy, SlaRecompute
from helpline.sla import repository
from helpline.sla.business_time import (
    Calendar,
    CalendarTime,
    Engine,
    Interval,
    NoBusinessTime,
    epoch,
    instant,
    parse_hhmm,
)
from helpline.sla.clocks import (
    Clock,
    ClockKind,
    Message,
    Rules,
    StatusChange,
    Target,
    Timeline,
    derive,
    next_alarm,
)
from helpline.sla.schemas import (
    CalendarCreate,
    CalendarUpdate,
    HolidaySeed,
    PolicyCreate,
    PolicyUpdate,
    TicketSla,
)

log = structlog.get_logger("helpline.sla")
FEED_BATCH = 500
RECOMPUTE_BATCH = 500
ALARM_BATCH = 500
CALENDAR_TIME = CalendarTime()

# Told, in the deriving transaction, which tickets' `sla` block changed, so that their cached
# staff views are dropped once it commits (the ticket domain's invalidation outbox: the SLA
# layer sits below tickets and is handed the function by the worker).
Invalidate = Callable[[AsyncSession, Sequence[uuid.UUID]], Awaitable[None]]


def require_admin(principal: Principal) -> None:
    """Admins whose credentials carry `sla:write` (agents, customers, narrower keys cannot)."""
    if not principal.is_admin or not principal.has(Scope.sla_write):
        raise PermissionDenied("This action needs the 'sla:write' permission (admins).")


# -- calendars -----------------------------------------------------------------------------------
def engine_of(calendar: SlaCalendar) -> Calendar:
    """The business-time engine of a stored calendar.

    Engines are immutable and keep per-day caches, so one engine per calendar *content* is
    reused across batches and transactions (a recompute of 1M tickets builds it once)."""
    return _engine(
        calendar.time_zone,
        json.dumps(calendar.intervals, sort_keys=True),
        json.dumps(calendar.holidays, sort_keys=True),
    )


@functools.lru_cache(maxsize=64)
def _engine(time_zone: str, intervals_json: str, holidays_json: str) -> Calendar:
    one_off: set[date] = set()
    yearly: set[tuple[int, int]] = set()
    for holiday in json.loads(holidays_json):
        if holiday.get("date"):
            one_off.add(date.fromisoformat(holiday["date"]))
        else:
            yearly.add((int(holiday["month"]), int(holiday["day"])))
    return Calendar(
        time_zone,
        tuple(
            Interval(int(i["weekday"]), parse_hhmm(i["start"]), parse_hhmm(i["end"]))
            for i in json.loads(intervals_json)
        ),
        frozenset(one_off),
        frozenset(yearly),
    )


async def calendar_engines(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Calendar]:
    """The business-time engines of these calendars (those that exist), for time rules."""
    calendars = await repository.calendars_by_id(session, sorted(set(ids)))
    return {cid: engine_of(c) for cid, c in calendars.items()}


async def calendar_exists(session: AsyncSession, calendar_id: uuid.UUID) -> bool:
    return bool(await repository.calendars_by_id(session, [calendar_id]))


def _calendar_values(data: CalendarCreate | CalendarUpdate) -> dict[str, Any]:
    values = data.model_dump(exclude_unset=True, mode="json")
    if "holidays" in values:
        values["holidays"] = [
            {k: v for k, v in h.items() if v is not None and v != ""} for h in values["holidays"]
        ]
    return values


def _check_business_time(calendar: SlaCalendar, now: datetime) -> None:
    try:
        engine_of(calendar).add(epoch(now), 1)
    except NoBusinessTime as exc:
        raise SlaPolicyInvalid("The calendar has no business time in the next 20 years.") from exc


async def create_calendar(
    session: AsyncSession, principal: Principal, data: CalendarCreate, *, now: datetime
) -> SlaCalendar:
    """A new calendar (audited by trigger)."""
    require_admin(principal)
    if await repository.calendar_name_taken(session, data.name):
        raise SlaNameTaken(f"A calendar is already named {data.name!r}.")
    row = await repository.insert_calendar(session, {"id": new_id(), **_calendar_values(data)})
    _check_business_time(row, now)
    return row


async def get_calendar(
    session: AsyncSession, principal: Principal, calendar_id: uuid.UUID, *, lock: bool = False
) -> SlaCalendar:
    require_admin(principal)
    row = await repository.get_calendar(session, calendar_id, lock=lock)
    if row is None:
        raise SlaCalendarNotFound()
    return row


async def list_calendars(session: AsyncSession, principal: Principal) -> list[SlaCalendar]:
    require_admin(principal)
    return await repository.list_calendars(session)


async def update_calendar(
    session: AsyncSession,
    principal: Principal,
    calendar_id: uuid.UUID,
    data: CalendarUpdate,
    *,
    now: datetime,
) -> tuple[SlaCalendar, uuid.UUID | None]:
    """Change a calendar; when a policy uses it, open tickets are recomputed (a job)."""
    await get_calendar(session, principal, calendar_id, lock=True)
    values = _calendar_values(data)
    if "name" in values and await repository.calendar_name_taken(
        session, values["name"], other_than=calendar_id
    ):
        raise SlaNameTaken(f"A calendar is already named {values['name']!r}.")
    if values:
        await repository.update_calendar(session, calendar_id, values)
    row = await get_calendar(session, principal, calendar_id)
    _check_business_time(row, now)
    recompute = None
    if values and await repository.calendar_in_use(session, calendar_id):
        recompute = await start_recompute(session, f"calendar {calendar_id} changed")
    return row, recompute


def public_holidays(seed: HolidaySeed) -> list[dict[str, str]]:
    """A country's public holidays from the `holidays` package, as one-off calendar dates."""
    import holidays as holiday_data  # imported on request only: a large package

    try:
        found = holiday_data.country_holidays(
            seed.country, subdiv=seed.subdivision, years=seed.years
        )
    except NotImplementedError as exc:
        field = "subdivision" if seed.subdivision else "country"
        raise ValidationFailed(
            f"No public holidays known for {seed.country} {seed.subdivision or ''}".rstrip() + ".",
            errors=[{"loc": ["body", field], "msg": str(exc), "type": "value_error"}],
        ) from exc
    return [{"date": day.isoformat(), "name": name} for day, name in sorted(found.items())]


async def seed_holidays(
    session: AsyncSession,
    principal: Principal,
    calendar_id: uuid.UUID,
    seed: HolidaySeed,
    *,
    now: datetime,
) -> tuple[SlaCalendar, uuid.UUID | None]:
    """Add a country's public holidays (dates not already there) to a calendar."""
    current = await get_calendar(session, principal, calendar_id, lock=True)
    have = {h.get("date") for h in current.holidays}
    added = [h for h in public_holidays(seed) if h["date"] not in have]
    return await update_calendar(
        session,
        principal,
        calendar_id,
        CalendarUpdate(holidays=[*current.holidays, *added]),
        now=now,
    )


async def delete_calendar(
    session: AsyncSession, principal: Principal, calendar_id: uuid.UUID
) -> None:
    await get_calendar(session, principal, calendar_id, lock=True)
    if await repository.calendar_in_use(session, calendar_id):
        raise SlaCalendarInUse()
    await repository.delete_calendar(session, calendar_id)


# -- policies ------------------------------------------------------------------------------------
async def _check_policy(session: AsyncSession, values: dict[str, Any]) -> None:
    calendar_id = values.get("calendar_id")
    if calendar_id is not None and await repository.get_calendar(session, calendar_id) is None:
        raise SlaPolicyInvalid(
            "The calendar does not exist.",
            errors=[{"loc": ["body", "calendar_id"], "msg": "no such calendar", "type": "value"}],
        )
    business = any(
        target and target.get("business")
        for kinds in values.get("targets", {}).values()
        for target in kinds.values()
    )
    if business and calendar_id is None:
        raise SlaPolicyInvalid(
            "A business-time target needs the policy's calendar_id.",
            errors=[{"loc": ["body", "calendar_id"], "msg": "required", "type": "missing"}],
        )


def _policy_values(data: PolicyCreate | PolicyUpdate) -> dict[str, Any]:
    values = data.model_dump(exclude_unset=True, mode="json")
    if data.targets is not None:  # in full: a target's unset `business` is a real default
        values["targets"] = {
            priority.value: {
                kind: target
                for kind, target in targets.model_dump(mode="json").items()
                if target is not None
            }
            for priority, targets in data.targets.items()
        }
    if values.get("calendar_id") is not None:
        values["calendar_id"] = uuid.UUID(values["calendar_id"])
    return values


async def create_policy(
    session: AsyncSession, principal: Principal, data: PolicyCreate
) -> tuple[SlaPolicy, uuid.UUID]:
    """A new policy; open tickets are recomputed (a job) since it may now apply to them."""
    require_admin(principal)
    values = _policy_values(data)
    values.setdefault("pause_statuses", ["pending", "on_hold"])
    await _check_policy(session, values)
    if await repository.policy_name_taken(session, data.name):
        raise SlaNameTaken(f"A policy is already named {data.name!r}.")
    row = await repository.insert_policy(session, {"id": new_id(), **values})
    return row, await start_recompute(session, f"policy {row.id} created")


async def get_policy(
    session: AsyncSession, principal: Principal, policy_id: uuid.UUID, *, lock: bool = False
) -> SlaPolicy:
    require_admin(principal)
    row = await repository.get_policy(session, policy_id, lock=lock)
    if row is None:
        raise SlaPolicyNotFound()
    return row


async def list_policies(session: AsyncSession, principal: Principal) -> list[SlaPolicy]:
    require_admin(principal)
    return await repository.list_policies(session)


async def update_policy(
    session: AsyncSession, principal: Principal, policy_id: uuid.UUID, data: PolicyUpdate
) -> tuple[SlaPolicy, uuid.UUID]:
    current = await get_policy(session, principal, policy_id, lock=True)
    values = _policy_values(data)
    merged = {
        "calendar_id": current.calendar_id,
        "targets": current.targets,
        **values,
    }
    await _check_policy(session, merged)
    if "name" in values and await repository.policy_name_taken(
        session, values["name"], other_than=policy_id
    ):
        raise SlaNameTaken(f"A policy is already named {values['name']!r}.")
    if values:
        await repository.update_policy(session, policy_id, values)
    row = await get_policy(session, principal, policy_id)
    return row, await start_recompute(session, f"policy {policy_id} changed")


async def delete_policy(
    session: AsyncSession, principal: Principal, policy_id: uuid.UUID
) -> uuid.UUID:
    await get_policy(session, principal, policy_id, lock=True)
    await repository.delete_policy(session, policy_id)
    return await start_recompute(session, f"policy {policy_id} deleted")


async def reorder_policies(
    session: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> tuple[list[SlaPolicy], uuid.UUID | None]:
    """Policies take the order of ``ids`` (exactly every policy, each once) in one step; open
    tickets are recomputed when any policy moved."""
    require_admin(principal)
    current = await repository.lock_policies(session)
    if len(ids) != len(current) or set(ids) != set(current):
        missing = sorted(str(i) for i in set(current) - set(ids))
        unknown = sorted(str(i) for i in set(ids) - set(current))
        raise SlaPolicyOrderStale(
            "The order must name every policy exactly once.",
            errors=[
                *(
                    {"loc": ["body", "ids"], "msg": f"{i} is missing", "type": "missing"}
                    for i in missing
                ),
                *(
                    {"loc": ["body", "ids"], "msg": f"{i} is no policy", "type": "unknown"}
                    for i in unknown
                ),
            ],
        )
    moved = await repository.set_positions(session, ids)
    recompute = await start_recompute(session, "policies reordered") if moved else None
    return await repository.list_policies(session), recompute


# -- deriving tickets' clocks --------------------------------------------------------------------
def _matches(policy: SlaPolicy, ticket: AnyRow) -> bool:
    c = policy.conditions or {}
    if c.get("priorities") and ticket.priority not in c["priorities"]:
        return False
    if c.get("customer_ids") and str(ticket.customer_id) not in c["customer_ids"]:
        return False
    if c.get("mailbox_ids") and str(ticket.mailbox_id) not in c["mailbox_ids"]:
        return False
    metadata = ticket.metadata or {}
    return all(k in metadata and metadata[k] == v for k, v in (c.get("metadata") or {}).items())


def _rules(policy: SlaPolicy, priority: str, engine: Engine | None) -> Rules:
    targets: dict[ClockKind, Target] = {}
    for kind, target in (policy.targets.get(priority) or {}).items():
        chosen = engine if target.get("business") else CALENDAR_TIME
        if chosen is not None:
            targets[ClockKind(kind)] = Target(int(target["seconds"]), chosen)
    return Rules(
        targets=targets,
        pause_statuses=frozenset(policy.pause_statuses),
        warning_percent=policy.warning_percent,
    )


def _timeline(ticket: AnyRow, changes: list[AnyRow], messages: list[AnyRow]) -> Timeline:
    initial = ticket.initial_status or (changes[0].old_status if changes else ticket.status)
    happenings: list[StatusChange | Message] = [
        StatusChange(epoch(c.timestamp), c.new_status) for c in changes
    ]
    happenings += [Message(epoch(m.timestamp), m.sender_type, m.is_internal) for m in messages]
    return Timeline(epoch(ticket.created_at), initial, tuple(happenings))


def _at(seconds: int | None) -> datetime | None:
    return None if seconds is None else instant(seconds)


def _row(ticket_id: uuid.UUID, policy: SlaPolicy, clock: Clock, notices: Any) -> dict[str, Any]:
    warned = notices is not None and notices.warned_at is not None
    noticed = notices is not None and notices.breach_noticed_at is not None
    alarm = next_alarm(clock, warned=warned, breach_noticed=noticed)
    return {
        "ticket_id": ticket_id,
        "kind": clock.kind.value,
        "cycle": clock.cycle,
        "policy_id": policy.id,
        "target_seconds": clock.target_seconds,
        "business": clock.business,
        "started_at": instant(clock.started_at),
        "paused_at": _at(clock.paused_at),
        "running_since": _at(clock.running_since),
        "used_seconds": clock.used_seconds,
        "due_at": _at(clock.due_at),
        "warn_at": _at(clock.warn_at),
        "fulfilled_at": _at(clock.fulfilled_at),
        "stopped_at": _at(clock.stopped_at),
        "breached_at": _at(clock.breached_at),
        "next_alarm_at": _at(alarm),
    }


async def derive_tickets(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    now: datetime,
    *,
    invalidate: Invalidate | None = None,
) -> int:
    """Re-derive the clocks of these tickets from their history; returns how many have a policy.

    With ``invalidate``, the tickets whose `sla` block changed are handed to it."""
    ids = sorted(set(ids))
    if not ids:
        return 0
    stored = {(r[0], r[1], r[2]): r for r in await repository.lock_clocks(session, ids)}
    before = await sla_of_tickets(session, ids) if invalidate is not None else {}
    tickets = await repository.load_tickets(session, ids)
    policies = await repository.list_policies(session, enabled_only=True)
    calendars = await repository.calendars_by_id(
        session, sorted({p.calendar_id for p in policies if p.calendar_id is not None})
    )
    engines = {cid: engine_of(c) for cid, c in calendars.items()}
    changes: dict[uuid.UUID, list[AnyRow]] = defaultdict(list)
    messages: dict[uuid.UUID, list[AnyRow]] = defaultdict(list)
    live = [t.id for t in tickets]
    for row in await repository.load_status_changes(session, live):
        changes[row.ticket_id].append(row)
    for row in await repository.load_messages(session, live):
        messages[row.ticket_id].append(row)
    rows: list[dict[str, Any]] = []
    derived: set[tuple[uuid.UUID, str, int]] = set()
    states: list[dict[str, Any]] = []
    # The live tickets without a running deadline (the second half of the inbox's `sla_due`
    # order); one that has a deadline leaves below.
    rest = {t.id: {"ticket_id": t.id, "ticket_updated_at": t.updated_at} for t in tickets}
    at = epoch(now)
    for ticket in tickets:
        policy = next((p for p in policies if _matches(p, ticket)), None)
        if policy is None:
            continue
        engine = engines.get(policy.calendar_id) if policy.calendar_id else None
        rules = _rules(policy, ticket.priority, engine)
        try:
            clocks = derive(rules, _timeline(ticket, changes[ticket.id], messages[ticket.id]), at)
        except NoBusinessTime:
            log.warning("calendar without business time", policy=str(policy.id))
            clocks = []
        for clock in clocks:
            key = (ticket.id, clock.kind.value, clock.cycle)
            rows.append(_row(ticket.id, policy, clock, stored.get(key)))
            derived.add(key)
        running = [c.due_at for c in clocks if c.is_open and c.due_at is not None]
        due = _at(min(running)) if running else None
        states.append(
            {
                "ticket_id": ticket.id,
                "policy_id": policy.id,
                "due_at": due,
                "breached": sorted({c.kind.value for c in clocks if c.breached_at is not None}),
            }
        )
        if due is not None:
            del rest[ticket.id]
    # Write only what differs from the stored rows: after a calendar change most clocks move,
    # but fulfilled and stopped ones (and tickets a new policy does not match) stay as they are.
    changed = [r for r in rows if not _same(r, stored.get((r["ticket_id"], r["kind"], r["cycle"])))]
    stale = [key for key in stored if key not in derived]
    await repository.replace_clocks(session, ids, changed, stale, states, list(rest.values()))
    if invalidate is not None:
        after = await sla_of_tickets(session, ids)
        moved = [t for t in ids if before.get(t) != after.get(t)]
        if moved:
            await invalidate(session, moved)
    return len(states)


def _same(row: dict[str, Any], stored: AnyRow | None) -> bool:
    # Positional: the stored row starts with CLOCK_TYPES' columns in order, as ``_row`` builds
    # them (attribute access on result rows costs more than the derivation itself).
    return stored is not None and tuple(row.values()) == tuple(stored)[: len(row)]


# -- the worker's consumer of the change feed ----------------------------------------------------
async def follow_feed(
    session: AsyncSession,
    now: datetime,
    *,
    batch: int = FEED_BATCH,
    invalidate: Invalidate | None = None,
) -> int:
    """One batch of the change feed: re-derive the tickets it touched, move the position.

    Returns the number of events read (0: caught up, or another worker holds the position)."""
    events = await repository.FEED.take(session, batch)
    if not events:
        return 0
    touched = {e.ticket_id for e in events if not e.type.startswith("sla.")}
    await derive_tickets(session, sorted(touched), now, invalidate=invalidate)
    await repository.FEED.move_past(session, events[-1])
    return len(events)


# -- alarms --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Alarm:
    type: str
    ticket_id: uuid.UUID
    kind: str
    cycle: int


def _event_data(clock: SlaClock, **extra: Any) -> dict[str, Any]:
    return {
        "kind": clock.kind,
        "cycle": clock.cycle,
        "policy_id": clock.policy_id,
        "target_seconds": clock.target_seconds,
        "business": clock.business,
        "due_at": clock.due_at,
        **extra,
    }


async def fire_alarms(
    session: AsyncSession,
    now: datetime,
    *,
    limit: int = ALARM_BATCH,
    invalidate: Invalidate | None = None,
) -> list[Alarm]:
    """Emit the due `sla.warning` / `sla.breached` events, each exactly once per clock; a
    breach also joins its ticket's breached kinds (the `sla` block, the `sla_breached` filter).

    The due clocks are locked (others' skipped); their events go out in one statement and
    their notices in one UPDATE — a catch-up of thousands of alarms is a few statements a batch."""
    fired: list[Alarm] = []
    events: list[tuple[str, uuid.UUID, dict[str, Any]]] = []
    notices: list[dict[str, Any]] = []
    breaches: list[tuple[uuid.UUID, str]] = []
    for clock in await repository.due_alarms(session, now, limit):
        is_open = clock.fulfilled_at is None and clock.stopped_at is None
        breach = clock.breached_at or (clock.due_at if is_open else None)
        warned = clock.warned_at is not None
        noticed = clock.breach_noticed_at is not None
        row: dict[str, Any] = {
            "ticket_id": clock.ticket_id,
            "kind": clock.kind,
            "cycle": clock.cycle,
            "warned_at": clock.warned_at,
            "breach_noticed_at": clock.breach_noticed_at,
            "breached_at": clock.breached_at,
        }
        if not noticed and breach is not None and breach <= now:
            events.append(("sla.breached", clock.ticket_id, _event_data(clock, breached_at=breach)))
            row |= {"breach_noticed_at": now, "breached_at": breach}
            noticed = True
            breaches.append((clock.ticket_id, clock.kind))
            fired.append(Alarm("sla.breached", clock.ticket_id, clock.kind, clock.cycle))
        elif not warned and is_open and clock.warn_at is not None and clock.warn_at <= now:
            events.append(
                ("sla.warning", clock.ticket_id, _event_data(clock, warn_at=clock.warn_at))
            )
            row["warned_at"] = now
            warned = True
            fired.append(Alarm("sla.warning", clock.ticket_id, clock.kind, clock.cycle))
        row["next_alarm_at"] = _next_alarm_of_row(clock, breach, warned, noticed, is_open)
        notices.append(row)
    await repository.emit_events(session, events)
    await repository.record_alarms(session, notices)
    changed = await repository.add_breached_kinds(session, breaches)
    if changed and invalidate is not None:
        await invalidate(session, sorted(changed))
    return fired


def _next_alarm_of_row(
    clock: SlaClock, breach: datetime | None, warned: bool, noticed: bool, is_open: bool
) -> datetime | None:
    if noticed or breach is None:
        return None
    if not warned and is_open and clock.breached_at is None and clock.warn_at is not None:
        return min(clock.warn_at, breach)
    return breach


async def next_alarm_at(session: AsyncSession) -> datetime | None:
    return await repository.next_alarm_at(session)


# -- recomputation -------------------------------------------------------------------------------
async def start_recompute(session: AsyncSession, reason: str) -> uuid.UUID:
    """Queue a recomputation of every open ticket's clocks (in this transaction)."""
    recompute_id = new_id()
    await repository.insert_recompute(session, {"id": recompute_id, "reason": reason})
    return recompute_id


async def get_recompute(
    session: AsyncSession, principal: Principal, recompute_id: uuid.UUID
) -> SlaRecompute:
    require_admin(principal)
    row = await repository.get_recompute(session, recompute_id)
    if row is None:
        raise SlaPolicyNotFound("No recomputation with this id.")
    return row


async def recompute_batch(
    session: AsyncSession,
    recompute_id: uuid.UUID,
    now: datetime,
    *,
    batch: int = RECOMPUTE_BATCH,
    invalidate: Invalidate | None = None,
) -> bool:
    """One batch of a recomputation (its own transaction); True when there is more to do."""
    run = await repository.get_recompute(session, recompute_id, lock=True)
    if run is None or run.state in ("done", "failed"):
        return False
    if run.state == "queued":
        await repository.update_recompute(
            session,
            recompute_id,
            {"state": "running", "total": await repository.count_open_tickets(session)},
        )
    ids = await repository.open_tickets_after(session, run.last_ticket_id, batch)
    await derive_tickets(session, ids, now, invalidate=invalidate)
    more = len(ids) == batch
    values: dict[str, Any] = {"done": run.done + len(ids)}
    if ids:
        values["last_ticket_id"] = ids[-1]
    if not more:
        values |= {"state": "done", "finished_at": now}
    await repository.update_recompute(session, recompute_id, values)
    return more


# -- what tickets show ---------------------------------------------------------------------------
async def sla_of_tickets(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, TicketSla]:
    """The `sla` block of each ticket that has a policy."""
    out: dict[uuid.UUID, TicketSla] = {}
    for row in await repository.ticket_states(session, ids):
        out[row.ticket_id] = TicketSla(
            policy=row.policy_id,
            policy_name=row.policy_name,
            first_response_due_at=row.first_response_due_at,
            next_response_due_at=row.next_response_due_at,
            resolution_due_at=row.resolution_due_at,
            paused=row.paused,
            breached=list(row.breached),
        )
    return out


DUE_KEYSET: Keyset[Any, tuple[datetime, uuid.UUID]] = Keyset(
    "sla_due", time_and_id_of(lambda r: r.due_at), time_and_id(uuid.UUID)
)


def require_staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise PermissionDenied("Service levels are for staff.")


async def due_queue(
    session: AsyncSession,
    principal: Principal,
    *,
    statuses: Sequence[str],
    priority: str | None,
    assigned_to: uuid.UUID | None,
    breached: bool | None,
    limit: int,
    cursor: str | None,
    cursor_secret: bytes,
) -> KeysetPage[AnyRow]:
    """One page of the SLA queue (staff): tickets by earliest running deadline."""
    require_staff(principal)
    after = DUE_KEYSET.after(cursor_secret, cursor)
    rows = await repository.due_queue(
        session,
        statuses=statuses,
        priority=priority,
        assigned_to=assigned_to,
        breached=breached,
        after=after,
        limit=limit + 1,
    )
    return DUE_KEYSET.page(cursor_secret, rows, limit)


async def ticket_sla(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID
) -> TicketSla:
    """A ticket's `sla` block (staff); an empty block when no policy applies."""
    require_staff(principal)
    return (await sla_of_tickets(session, [ticket_id])).get(ticket_id, TicketSla())


async def clocks_of_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> list[SlaClock]:
    return await repository.clocks_of(session, ticket_id)


# -- for reports ---------------------------------------------------------------------------------
async def business_calendars(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Calendar]:
    """The business-time engine of the calendar of the policy that applies to each ticket now
    (tickets without a policy, or whose policy has no calendar, are left out)."""
    if not ids:
        return {}
    policies = await repository.list_policies(session, enabled_only=True)
    wanted = sorted({p.calendar_id for p in policies if p.calendar_id is not None})
    if not wanted:
        return {}
    engines = {
        cid: engine_of(c) for cid, c in (await repository.calendars_by_id(session, wanted)).items()
    }
    found: dict[uuid.UUID, Calendar] = {}
    for ticket in await repository.load_tickets(session, sorted(set(ids))):
        policy = next((p for p in policies if _matches(p, ticket)), None)
        if policy is not None and policy.calendar_id in engines:
            found[ticket.id] = engines[policy.calendar_id]
    return found
