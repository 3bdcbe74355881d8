"""The rules runner: reads the change feed in the worker and executes matching rules.

ADR 0014. One worker at a time holds the feed lease (``rule_feed_cursor``); each (rule, event)
executes at most once (``rule_executions`` unique), in its own transaction, as the rule's actor
(``actor_type = 'rule'``, ``request_id = 'rule:<rule>:<depth>:<event>'``). The request id of an
event tells which rule caused it and at which depth: a rule never runs for its own change, and
a chain of rules stops at ``rules_max_depth``.
"""

from __future__ import annotations

import re
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
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
from helpline.models import Rule
from helpline.rule import repository
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
        )

    def may_match(self, kind: str) -> bool:
        return self.events is None or kind in self.events


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
        clock: Clock = utcnow,
        owner: str | None = None,
        mailer: ReplyMailer | None = None,
    ) -> None:
        self.database = database
        self.mailer = mailer  # the worker's: a rule's public reply is mailed like an agent's
        self.max_depth = max_depth
        self.batch = batch
        self.lease_s = lease_s
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.loop = Periodic("rules", self.step, interval_s=interval_s, final_step=False)

    async def step(self) -> int:
        """One batch: claim the lease, read events, run rules, advance. Events handled."""
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
                rules = (
                    [
                        CompiledRule.of(r)
                        for r in await repository.list_rules(session, enabled_only=True)
                    ]
                    if events
                    else []
                )
                # The tickets some rule may care about, read once for the batch (their state
                # now; a ticket a rule changes is read again after that change).
                wanted = {
                    e.ticket_id
                    for e in events
                    if e.ticket_id is not None and any(r.may_match(event_kind(e)) for r in rules)
                }
                facts = await repository.ticket_facts_many(session, sorted(wanted))
            if not events:
                return handled
            for event in events:
                rules = await self.handle(event, rules, facts)
            last = events[-1]
            async with self.database.transaction() as session:
                if not await repository.advance_cursor(session, self.owner, last.xid, last.id):
                    return handled  # the lease passed to another worker: it continues
            handled += len(events)
            if len(events) < self.batch:
                return handled

    async def release(self) -> None:
        async with self.database.transaction() as session:
            await repository.release_cursor(session, self.owner)

    async def handle(
        self, event: Any, rules: list[CompiledRule], facts: dict[uuid.UUID, Any] | None = None
    ) -> list[CompiledRule]:
        """Run the rules on one event; the rules still enabled afterwards. ``facts``: tickets
        read for the batch (updated here when a rule changes one)."""
        kind = event_kind(event)
        if event.ticket_id is None or not any(r.may_match(kind) for r in rules):
            return rules
        cause, cause_depth = cause_of(event)
        depth = cause_depth + 1 if cause is not None else 0
        changes = (event.data or {}).get("changes") if event.type == "ticket.updated" else None
        facts = {} if facts is None else facts
        ticket = facts.get(event.ticket_id)
        if ticket is None:
            async with self.database.transaction() as session:
                ticket = await repository.ticket_facts(session, event.ticket_id)
        if ticket is None:
            return rules
        seen = facts_of(ticket, kind, changes)
        still: list[CompiledRule] = []
        for rule in rules:
            if rule.id == cause or not rule.may_match(kind):  # never re-fires on its own change
                still.append(rule)
                continue
            if not cond.matches(rule.conditions, seen):
                still.append(rule)
                continue
            if depth >= self.max_depth:
                await self._log(rule, event, depth, "skipped", self._depth_reason(event, cause))
                still.append(rule)
                continue
            if ticket.deleted_at is not None or ticket.status == "closed":
                await self._log(rule, event, depth, "skipped", "the ticket is closed or deleted")
                still.append(rule)
                continue
            ran, ok = await self._execute(rule, event, depth, ticket)
            if ok:
                still.append(rule)
            if ran:  # later rules (and events) see the ticket as this one left it
                async with self.database.transaction() as session:
                    ticket = await repository.ticket_facts(session, event.ticket_id) or ticket
                facts[event.ticket_id] = ticket
                seen = facts_of(ticket, kind, changes)
        return still

    def _depth_reason(self, event: Any, cause: uuid.UUID | None) -> str:
        return (
            f"depth limit {self.max_depth} reached: event {event.id} was made by rule "
            f"{cause} ({event.request_id})"
        )

    async def _log(
        self, rule: CompiledRule, event: Any, depth: int, status: str, reason: str
    ) -> None:
        async with self.database.transaction() as session:
            await repository.log_execution(
                session,
                {
                    "rule_id": rule.id,
                    "event_id": event.id,
                    "ticket_id": event.ticket_id,
                    "depth": depth,
                    "status": status,
                    "reason": reason,
                },
            )
        log.info("rule skipped", rule=str(rule.id), event_id=event.id, reason=reason)

    async def _execute(
        self, rule: CompiledRule, event: Any, depth: int, ticket: Any
    ) -> tuple[bool, bool]:
        """(changed something, rule still enabled)."""
        actor = ActorContext(
            actor_type="rule",
            actor_id=str(rule.id),
            request_id=f"rule:{rule.id}:{depth}:{event.id}",
        )
        now = self.clock()
        try:
            async with self.database.unit_of_work(actor) as uow:
                session = uow.session
                execution = await repository.claim_execution(
                    session, rule.id, event.id, event.ticket_id, depth
                )
                if execution is None:
                    return False, True  # done already (a restart, or another worker)
                if rule.once_per_ticket and await repository.ran_for_ticket(
                    session, rule.id, event.ticket_id
                ):
                    await repository.finish_execution(
                        session, execution, "skipped", [], "runs once per ticket: ran before"
                    )
                    return False, True
                # (the count includes this execution's own claimed row)
                ran = await repository.executions_since(session, rule.id, now - timedelta(hours=1))
                ran -= 1
                if ran >= rule.max_per_hour:
                    raise RuleFailed(
                        f"rate exceeded: {ran} executions in the last hour (max_per_hour "
                        f"{rule.max_per_hour})"
                    )
                context = await template_context(session, ticket, None) if rule.templated else {}
                target = automation.Target(
                    ticket_id=event.ticket_id,
                    principal=SYSTEM_PRINCIPAL,
                    context=context,
                    as_system=True,
                    event_id=event.id,
                    mailer=self.mailer,
                )
                effects = await automation.apply(uow, target, rule.actions)
                await repository.finish_execution(
                    session, execution, "applied" if effects else "no_change", effects, None
                )
                if effects:
                    await ticket_service.invalidate_from_worker(
                        session, event.ticket_id, ticket.customer_id
                    )
            log.info("rule applied", rule=str(rule.id), event_id=event.id, effects=len(effects))
            return bool(effects), True
        except (TicketClosed, TicketNotFound) as exc:  # changed meanwhile: not the rule's fault
            await self._log(rule, event, depth, "skipped", f"{type(exc).__name__}: {exc}")
            return False, True
        except Exception as exc:  # the rule's effects rolled back; it is disabled with why
            reason = f"{type(exc).__name__}: {exc}"[:1000]
            await self._fail(rule, event, depth, reason)
            return False, False

    async def _fail(self, rule: CompiledRule, event: Any, depth: int, reason: str) -> None:
        async with self.database.transaction(
            ActorContext(
                actor_type="rule",
                actor_id=str(rule.id),
                request_id=f"rule:{rule.id}:{depth}:{event.id}",
            )
        ) as session:
            await repository.log_execution(
                session,
                {
                    "rule_id": rule.id,
                    "event_id": event.id,
                    "ticket_id": event.ticket_id,
                    "depth": depth,
                    "status": "failed",
                    "reason": reason,
                },
            )
            await repository.disable_rule(session, rule.id, f"failed on event {event.id}: {reason}")
        log.warning(
            "rule failed and was disabled", rule=str(rule.id), event_id=event.id, reason=reason
        )
