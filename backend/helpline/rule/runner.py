"""The rules runner: reads the change feed in the worker and executes matching rules.

ADR 0014. One worker at a time holds the feed lease (``rule_feed_cursor``); each (rule, event)
executes at most once (``rule_executions`` unique), in its own transaction, as the rule's actor
(``actor_type = 'rule'``, ``request_id = 'rule:<rule>:<depth>:<event>'``). The request id of an
event tells which rule caused it and at which depth: a rule never runs for its own change, and
a chain of rules stops at ``rules_max_depth``.

The events of a batch run in ``concurrency`` lanes, one lane per ticket (a ticket's events stay
in feed order; different tickets' rules overlap their round trips and commits). Time rules run
from their timers (:mod:`helpline.rule.timers`), fired by any worker.
"""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.automation import actions as automation
from helpline.automation import conditions as cond
from helpline.automation.context import template_context
from helpline.conversation.service import ReplyMailer
from helpline.db import ActorContext, Database
from helpline.errors import TicketClosed, TicketNotFound
from helpline.kit.clock import Clock, utcnow
from helpline.kit.periodic import Periodic
from helpline.kit.rows import AnyRow
from helpline.models import Rule
from helpline.rule import repository, timers
from helpline.rule.service import facts_of
from helpline.ticket import service as ticket_service

log = structlog.get_logger("helpline.rules")
CAUSE = re.compile(r"^rule:([0-9a-f-]{36}):([0-9]+):")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: uuid.UUID
    name: str
    conditions: cond.Conditions
    actions: list[Any]
    once_per_ticket: bool
    max_per_hour: int
    # The event kinds an `all` condition limits the rule to (None: any kind): most rules name
    # one, so most events skip most rules without building facts or reading the ticket.
    events: frozenset[str] | None
    templated: bool  # it has a note or reply: its actions need the template context
    timed: bool = False  # a time rule: runs from its timers, never from events
    match: cond.Predicate = cond.matches_nothing  # the conditions, compiled

    @classmethod
    def of(cls, rule: Rule) -> CompiledRule:
        conditions = cond.Conditions.model_validate(rule.conditions)
        actions = automation.ACTIONS.validate_python(rule.actions)
        events: frozenset[str] | None = None
        for c in conditions.all:
            if c.field == "event" and c.op in ("eq", "in"):
                kinds = frozenset(c.value if isinstance(c.value, list) else [c.value])
                events = kinds if events is None else events & kinds
        return cls(
            id=rule.id,
            name=rule.name,
            conditions=conditions,
            actions=actions,
            once_per_ticket=rule.once_per_ticket,
            max_per_hour=rule.max_per_hour,
            events=events,
            templated=bool(automation.templates_of(actions)),
            timed=bool(conditions.timed),
            match=cond.compile_conditions(conditions),
        )

    def may_match(self, kind: str) -> bool:
        return not self.timed and (self.events is None or kind in self.events)


def event_kind(event: Any) -> str:
    """The kind conditions name: feed types, a message split by who wrote it."""
    if event.type == "message.created":
        data = event.data or {}
        if data.get("is_internal") or event.internal:
            return "message.internal"
        return f"message.{data.get('sender_type', 'agent')}"
    return str(event.type)


def cause_of(event: Any) -> tuple[uuid.UUID | None, int]:
    """(rule that made the change, its depth), or (None, -1) for a change by anyone else."""
    found = CAUSE.match(event.request_id or "")
    if found is None:
        return None, -1
    return uuid.UUID(found.group(1)), int(found.group(2))


class RuleFailed(Exception):
    pass


@dataclass(slots=True)
class Trigger:
    """What a rule runs for: a feed event, or a time rule's timer (``basis``)."""

    ticket_id: uuid.UUID
    event_id: int | None = None
    basis: str | None = None
    depth: int = 0

    def request_id(self, rule_id: uuid.UUID) -> str:
        if self.event_id is not None:
            return f"rule:{rule_id}:{self.depth}:{self.event_id}"
        return f"rule:{rule_id}:{self.depth}:timer:{self.ticket_id}"

    def log_values(self, rule_id: uuid.UUID) -> dict[str, Any]:
        return {
            "rule_id": rule_id,
            "event_id": self.event_id,
            "ticket_id": self.ticket_id,
            "timer_basis": self.basis,
            "depth": self.depth,
        }


# Claims the execution's log row in its transaction: its id, or None when it ran already.
Claim = Callable[[Any], Awaitable[int | None]]


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class RulesRunner:
    """Reads settled feed events after the cursor and runs the enabled rules on each."""

    def __init__(
        self,
        database: Database,
        *,
        max_depth: int = 3,
        batch: int = 200,
        lease_s: float = 30,
        interval_s: float = 0.5,
        concurrency: int = 4,
        clock: Clock = utcnow,
        owner: str | None = None,
        mailer: ReplyMailer | None = None,
    ) -> None:
        self.database = database
        self.mailer = mailer  # the worker's: a rule's public reply is mailed like an agent's
        self.max_depth = max_depth
        self.batch = batch
        self.lease_s = lease_s
        self.concurrency = max(1, concurrency)
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.loop = Periodic("rules", self.step, interval_s=interval_s, final_step=False)
        self.disabled: set[uuid.UUID] = set()  # rules disabled during the current batch

    async def step(self) -> int:
        """One turn: the feed (if this worker holds its lease), then due timers (any worker).
        Events handled plus timers fired."""
        handled = await self.follow_feed()
        return handled + await timers.fire_due(self)

    async def follow_feed(self) -> int:
        """Claim the lease, read events, run rules, advance; until caught up. Events handled."""
        handled = 0
        while True:
            async with self.database.transaction() as session:
                position = await repository.claim_cursor(
                    session, self.owner, self.clock(), self.lease_s
                )
                if position is None:
                    return handled  # another worker holds the feed
                events = await repository.next_events(
                    session, position.xid, position.event_id, self.batch
                )
                compiled = [
                    CompiledRule.of(r)
                    for r in await repository.list_rules(session, enabled_only=True)
                ]
                # The tickets some rule may care about, read once for the batch (their state
                # now; a ticket a rule changes is read again when a later rule needs it).
                wanted = {
                    e.ticket_id
                    for e in events
                    if e.ticket_id is not None and any(r.may_match(event_kind(e)) for r in compiled)
                }
                facts = await repository.ticket_facts_many(session, sorted(wanted))
                unbuilt = await repository.rules_needing_timers(session)
            if unbuilt:
                await timers.build_new(self, compiled, unbuilt)
            if not events:
                return handled
            self.disabled = set()
            await self._run_lanes(events, [r for r in compiled if not r.timed], facts)
            timed = [r for r in compiled if r.timed and r.id not in self.disabled]
            touched = sorted({e.ticket_id for e in events if e.ticket_id is not None})
            await timers.schedule(self, timed, touched)
            last = events[-1]
            async with self.database.transaction() as session:
                if not await repository.advance_cursor(session, self.owner, last.xid, last.id):
                    return handled  # the lease passed to another worker: it continues
            handled += len(events)
            if len(events) < self.batch:
                return handled

    async def _run_lanes(
        self, events: list[Any], rules: list[CompiledRule], facts: dict[uuid.UUID, Any]
    ) -> None:
        """Each ticket's events in order; up to ``concurrency`` tickets at a time."""
        lanes: dict[uuid.UUID, list[Any]] = {}
        for event in events:
            if event.ticket_id is not None and any(r.may_match(event_kind(event)) for r in rules):
                lanes.setdefault(event.ticket_id, []).append(event)
        if not lanes:
            return
        gate = asyncio.Semaphore(self.concurrency)

        async def lane(queue: list[Any]) -> None:
            async with gate:
                for event in queue:
                    await self.handle(event, rules, facts)

        await asyncio.gather(*(lane(q) for q in lanes.values()))

    async def release(self) -> None:
        async with self.database.transaction() as session:
            await repository.release_cursor(session, self.owner)

    async def handle(
        self, event: Any, rules: list[CompiledRule], facts: dict[uuid.UUID, Any] | None = None
    ) -> list[CompiledRule]:
        """Run the rules on one event; the rules still enabled afterwards. ``facts``: tickets
        read for the batch (dropped here when a rule changes one, read again when needed)."""
        kind = event_kind(event)
        live = [r for r in rules if r.id not in self.disabled]
        if event.ticket_id is None or not any(r.may_match(kind) for r in live):
            return live
        cause, cause_depth = cause_of(event)
        depth = cause_depth + 1 if cause is not None else 0
        changes = (event.data or {}).get("changes") if event.type == "ticket.updated" else None
        facts = {} if facts is None else facts
        trigger = Trigger(ticket_id=event.ticket_id, event_id=event.id, depth=depth)
        ticket: AnyRow | None = None
        seen: dict[str, Any] = {}
        for rule in live:
            if rule.id == cause or not rule.may_match(kind):  # never re-fires on its own change
                continue
            if rule.id in self.disabled:
                continue
            if ticket is None:
                ticket = facts.get(event.ticket_id)
                if ticket is None:
                    async with self.database.transaction() as session:
                        ticket = await repository.ticket_facts(session, event.ticket_id)
                    if ticket is None:
                        break
                    facts[event.ticket_id] = ticket
                seen = facts_of(ticket, kind, changes)
            if not rule.match(seen):
                continue
            if depth >= self.max_depth:
                await self._log(rule, trigger, "skipped", self._depth_reason(event, cause))
                continue
            if ticket.deleted_at is not None or ticket.status == "closed":
                await self._log(rule, trigger, "skipped", "the ticket is closed or deleted")
                continue
            ran = await self.execute(rule, trigger, ticket, self._claim_event(rule, trigger))
            if ran:  # later rules (and events) see the ticket as this one left it
                facts.pop(event.ticket_id, None)
                ticket = None
        return [r for r in rules if r.id not in self.disabled]

    def _claim_event(self, rule: CompiledRule, trigger: Trigger) -> Claim:
        event_id = int(trigger.event_id or 0)  # an event's trigger always has its id

        async def claim(session: Any) -> int | None:
            return await repository.claim_execution(
                session, rule.id, event_id, trigger.ticket_id, trigger.depth
            )

        return claim

    def _depth_reason(self, event: Any, cause: uuid.UUID | None) -> str:
        return (
            f"depth limit {self.max_depth} reached: event {event.id} was made by rule "
            f"{cause} ({event.request_id})"
        )

    def actor(self, rule: CompiledRule, trigger: Trigger) -> ActorContext:
        return ActorContext(
            actor_type="rule", actor_id=str(rule.id), request_id=trigger.request_id(rule.id)
        )

    async def _log(self, rule: CompiledRule, trigger: Trigger, status: str, reason: str) -> None:
        async with self.database.transaction() as session:
            await repository.log_execution(
                session, {**trigger.log_values(rule.id), "status": status, "reason": reason}
            )
        log.info("rule skipped", rule=str(rule.id), event_id=trigger.event_id, reason=reason)

    async def execute(
        self,
        rule: CompiledRule,
        trigger: Trigger,
        ticket: Any,
        claim: Claim,
        *,
        before: Callable[[Any], Awaitable[bool]] | None = None,
        after: Callable[[Any], Awaitable[None]] | None = None,
    ) -> bool:
        """Run the rule's actions in one transaction as the rule; whether it changed something.
        ``before`` (in the transaction, first) may call it off (False); ``after`` runs last."""
        now = self.clock()
        try:
            async with self.database.unit_of_work(self.actor(rule, trigger)) as uow:
                session = uow.session
                if before is not None and not await before(session):
                    return False
                execution = await claim(session)
                if execution is None:  # done already (a restart, or another worker)
                    if after is not None:
                        await after(session)
                    return False
                if rule.once_per_ticket and await repository.ran_for_ticket(
                    session, rule.id, trigger.ticket_id, execution
                ):
                    await repository.finish_execution(
                        session, execution, "skipped", [], "runs once per ticket: ran before"
                    )
                    if after is not None:
                        await after(session)
                    return False
                context = await template_context(session, ticket, None) if rule.templated else {}
                target = automation.Target(
                    ticket_id=trigger.ticket_id,
                    principal=SYSTEM_PRINCIPAL,
                    context=context,
                    as_system=True,
                    event_id=trigger.event_id,
                    mailer=self.mailer,
                )
                effects = await automation.apply(uow, target, rule.actions)
                await repository.finish_execution(
                    session, execution, "applied" if effects else "no_change", effects, None
                )
                if effects:
                    await ticket_service.invalidate_from_worker(
                        session, trigger.ticket_id, ticket.customer_id
                    )
                if after is not None:
                    await after(session)
                if effects:  # last: the counter's row lock is held only until the commit
                    ran = await repository.count_execution(session, rule.id, hour_of(now))
                    if ran > rule.max_per_hour:
                        raise RuleFailed(
                            f"rate exceeded: {ran} executions in the hour from "
                            f"{hour_of(now).isoformat()} (max_per_hour {rule.max_per_hour})"
                        )
            log.debug(
                "rule applied", rule=str(rule.id), event_id=trigger.event_id, effects=len(effects)
            )
            return bool(effects)
        except (TicketClosed, TicketNotFound) as exc:  # changed meanwhile: not the rule's fault
            await self._log(rule, trigger, "skipped", f"{type(exc).__name__}: {exc}")
            return False
        except Exception as exc:  # the rule's effects rolled back; it is disabled with why
            reason = f"{type(exc).__name__}: {exc}"[:1000]
            await self._fail(rule, trigger, reason)
            return False

    async def _fail(self, rule: CompiledRule, trigger: Trigger, reason: str) -> None:
        self.disabled.add(rule.id)
        async with self.database.transaction(self.actor(rule, trigger)) as session:
            await repository.log_execution(
                session, {**trigger.log_values(rule.id), "status": "failed", "reason": reason}
            )
            what = f"event {trigger.event_id}" if trigger.event_id else f"timer {trigger.basis}"
            await repository.disable_rule(session, rule.id, f"failed on {what}: {reason}")
        log.warning(
            "rule failed and was disabled",
            rule=str(rule.id),
            event_id=trigger.event_id,
            reason=reason,
        )
