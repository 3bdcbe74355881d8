"""Time rules: per ticket, the instant a rule's time conditions start to hold is a timer row
(``rule_timers``, indexed by ``due_at``); the worker fires due timers. Nothing scans tickets on
a schedule (ADR 0014, "Time rules"):

- **scheduling** follows the change feed: after each batch the lease holder recomputes the
  timers of the tickets the batch touched (one read of their facts and clocks, one upsert);
- **a new or changed time rule** has its timers built once over the open tickets, in batches;
- **firing**: any worker reads due timers by the index, locks each with ``SKIP LOCKED`` and
  re-checks it at the due instant (the ticket may have changed; a calendar too): still due, the
  rule runs in that transaction, and the timer is marked fired for its basis (the start
  instants it was due from). The execution log is unique per (rule, ticket, basis): with two
  workers, or after a crash, a timer runs once. Once-per-ticket rules run once per ticket;
  every-time rules once per basis (the ticket went pending again: a new basis, a new run).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from helpline.automation import conditions as cond
from helpline.automation import timing
from helpline.kit.rows import AnyRow
from helpline.rule import repository
from helpline.rule.service import timed_facts
from helpline.sla import service as sla_service

if TYPE_CHECKING:
    from helpline.rule.runner import CompiledRule, RulesRunner

log = structlog.get_logger("helpline.rules")
BUILD_BATCH = 500
FIRE_BATCH = 200


def _calendar_ids(rules: list[CompiledRule]) -> set[uuid.UUID]:
    ids: set[uuid.UUID] = set()
    for rule in rules:
        for c in rule.conditions.timed:
            calendar = (c.value or {}).get("calendar_id")
            if calendar:
                ids.add(uuid.UUID(str(calendar)))
    return ids


def plan(
    rule: CompiledRule, ticket: AnyRow | None, facts: dict[str, Any] | None
) -> tuple[str, datetime] | None:
    """(basis, due) of the rule's timer for this ticket, or None: it will not fire as it is."""
    if ticket is None or facts is None or ticket.deleted_at is not None:
        return None
    if ticket.status == "closed":
        return None
    due = cond.due_at(rule.conditions, facts)
    if due is None:
        return None
    return timing.basis_of([c.field for c in rule.conditions.timed], facts), due


async def _recompute(
    session: Any, rules: list[CompiledRule], ticket_ids: list[uuid.UUID], now: datetime
) -> int:
    """Bring the timers of these rules and tickets up to date in the session; rows written."""
    tickets = await repository.ticket_facts_many(session, ticket_ids)
    times = await repository.ticket_times_many(session, ticket_ids)
    calendars = await sla_service.calendar_engines(session, sorted(_calendar_ids(rules)))
    existing = await repository.timers_of(session, [r.id for r in rules], ticket_ids)
    upserts: list[dict[str, Any]] = []
    deletes: list[tuple[uuid.UUID, uuid.UUID]] = []
    for ticket_id in ticket_ids:
        ticket = tickets.get(ticket_id)
        facts = timed_facts(ticket, times.get(ticket_id), now, calendars) if ticket else None
        for rule in rules:
            key = (rule.id, ticket_id)
            old = existing.get(key)
            planned = plan(rule, ticket, facts)
            if planned is None:
                if old is not None:
                    deletes.append(key)
                continue
            basis, due = planned
            if old is not None and old.basis == basis and (old.due_at is None or old.due_at == due):
                continue  # unchanged, or fired already for this basis
            upserts.append(
                {"rule_id": rule.id, "ticket_id": ticket_id, "basis": basis, "due_at": due}
            )
    await repository.set_timers(session, upserts)
    await repository.delete_timers(session, deletes)
    return len(upserts) + len(deletes)


async def schedule(
    runner: RulesRunner, rules: list[CompiledRule], ticket_ids: list[uuid.UUID]
) -> None:
    """After a feed batch: the timers of the tickets it touched (one transaction)."""
    if not rules or not ticket_ids:
        return
    async with runner.database.transaction() as session:
        await _recompute(session, rules, ticket_ids, runner.clock())


async def build_new(runner: RulesRunner, rules: list[CompiledRule], pending: list[Any]) -> int:
    """Build the timers of the enabled time rules created or changed since their last build
    (``pending``: ``rules_needing_timers``), over the open tickets (once per change of the
    rule, in batches of BUILD_BATCH); returns rules built. Other rules are only marked, so
    they are not listed again."""
    by_id = {r.id: r for r in rules}
    for row in pending:
        rule = by_id.get(row.id)
        if rule is not None and rule.timed:
            after: uuid.UUID | None = None
            while True:
                async with runner.database.transaction() as session:
                    ids = await repository.open_tickets_after(session, after, BUILD_BATCH)
                    await _recompute(session, [rule], ids, runner.clock())
                if len(ids) < BUILD_BATCH:
                    break
                after = ids[-1]
            log.info("rule timers built", rule=str(rule.id))
        async with runner.database.transaction() as session:
            # the version built: a change while building is newer, and is built again
            await repository.timers_built(session, row.id, row.updated_at)
    return len(pending)


async def fire_due(runner: RulesRunner, *, batch: int = FIRE_BATCH) -> int:
    """Run every due timer of an enabled time rule; returns the timers that ran the rule."""
    from helpline.rule.runner import CompiledRule

    fired = 0
    while True:
        async with runner.database.transaction() as session:
            due = await repository.due_timers(session, runner.clock(), batch)
            if not due:
                return fired
            rules = {
                r.id: CompiledRule.of(r)
                for r in await repository.list_rules(session, enabled_only=True)
            }
        runner.disabled = set()
        for row in due:
            rule = rules.get(row.rule_id)
            if rule is not None and rule.timed and rule.id not in runner.disabled:
                fired += await fire_one(runner, rule, row.ticket_id)
        if len(due) < batch:
            return fired


async def fire_one(runner: RulesRunner, rule: CompiledRule, ticket_id: uuid.UUID) -> int:
    """One timer, in the transaction of the rule's effects: 1 when the rule ran."""
    from helpline.rule.runner import Trigger

    now = runner.clock()
    state: dict[str, Any] = {}
    trigger = Trigger(ticket_id=ticket_id)  # its basis is known once the timer is locked

    async def before(session: Any) -> bool:
        """Lock the timer and re-check it now; False: not (or no longer) due."""
        if await repository.lock_due_timer(session, rule.id, ticket_id, now) is None:
            return False  # another worker has it, or it fired
        ticket = await repository.ticket_facts(session, ticket_id)
        times = (await repository.ticket_times_many(session, [ticket_id])).get(ticket_id)
        calendars = await sla_service.calendar_engines(session, sorted(_calendar_ids([rule])))
        facts = timed_facts(ticket, times, now, calendars) if ticket is not None else None
        planned = plan(rule, ticket, facts)
        if planned is None:
            await repository.delete_timers(session, [(rule.id, ticket_id)])
            return False
        basis, due = planned
        if due > now:  # the ticket or a calendar changed: not yet
            await repository.set_timers(
                session,
                [{"rule_id": rule.id, "ticket_id": ticket_id, "basis": basis, "due_at": due}],
            )
            return False
        state.update(basis=basis, ticket=ticket)
        trigger.basis = basis
        return True

    async def claim(session: Any) -> int | None:
        execution = await repository.claim_timer_execution(
            session, rule.id, ticket_id, state["basis"]
        )
        state["claimed"] = execution is not None
        return execution

    async def after(session: Any) -> None:
        await repository.set_timers(
            session,
            [{"rule_id": rule.id, "ticket_id": ticket_id, "basis": state["basis"], "due_at": None}],
        )

    await runner.execute(rule, trigger, _LockedTicket(state), claim, before=before, after=after)
    return 1 if state.get("claimed") else 0


class _LockedTicket:
    """The ticket as read under the timer's lock (template context, cache invalidation)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self._state = state

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state["ticket"], name)
