"""Automation rules: admin CRUD, validation, dry run and the execution log.
How they run is :mod:`helpline.rule.runner` (ADR 0014)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.automation import actions as automation
from helpline.automation import conditions as cond
from helpline.automation import timing
from helpline.automation.context import template_context
from helpline.errors import NameTaken, PermissionDenied, RuleInvalid, RuleNotFound
from helpline.kit.ids import new_id
from helpline.macro.service import check_templates
from helpline.models import Rule, RuleExecution
from helpline.rule import repository
from helpline.rule.schemas import DryRun, DryRunMatch, DryRunResult, RuleCreate, RuleUpdate
from helpline.sla import service as sla_service
from helpline.sla.business_time import Calendar
from helpline.team import service as team_service
from helpline.webhook import service as webhook_service


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDenied("Automation rules are managed by admins.")


async def check_actions(session: AsyncSession, principal: Principal, actions: list[Any]) -> None:
    """Templates parse and name known placeholders; teams and webhook endpoints exist."""
    check_templates("", actions, loc="body")
    errors: list[dict[str, Any]] = []
    for i, action in enumerate(actions):
        team: tuple[str, uuid.UUID] | None = None
        if isinstance(action, automation.AssignRoundRobin | automation.Assign):
            team = ("team_id", action.team_id)
        elif isinstance(action, automation.SetField) and action.field == "team_id" and action.value:
            team = ("value", uuid.UUID(action.value))
        if team is not None and not await team_service.team_exists(session, team[1]):
            errors.append({"loc": ["body", "actions", i, team[0]], "msg": "no such team"})
        if isinstance(action, automation.CallWebhook):
            try:
                await webhook_service.get_endpoint(session, principal, action.endpoint_id)
            except Exception:
                errors.append(
                    {"loc": ["body", "actions", i, "endpoint_id"], "msg": "no such webhook"}
                )
    if errors:
        raise RuleInvalid(
            "; ".join(e["msg"] for e in errors) + ".",
            errors=[{**e, "type": "reference"} for e in errors],
        )


def _values(data: RuleCreate | RuleUpdate) -> dict[str, Any]:
    values = data.model_dump(exclude_unset=True, mode="json")
    return values


def _taken(name: str) -> NameTaken:
    return NameTaken(
        f"A rule named {name!r} exists.",
        errors=[{"loc": ["body", "name"], "msg": "already in use", "type": "unique"}],
    )


async def create_rule(session: AsyncSession, principal: Principal, data: RuleCreate) -> Rule:
    require_admin(principal)
    await check_actions(session, principal, data.actions)
    await check_calendars(session, data.conditions)
    values = data.model_dump(mode="json")
    rule_id = new_id()
    if not await repository.insert_rule(session, {"id": rule_id, **values}):
        raise _taken(data.name)
    return await get_rule(session, principal, rule_id)


async def get_rule(session: AsyncSession, principal: Principal, rule_id: uuid.UUID) -> Rule:
    require_admin(principal)
    row = await repository.get_rule(session, rule_id)
    if row is None:
        raise RuleNotFound()
    return row


async def list_rules(session: AsyncSession, principal: Principal) -> list[Rule]:
    require_admin(principal)
    return await repository.list_rules(session)


async def update_rule(
    session: AsyncSession, principal: Principal, rule_id: uuid.UUID, data: RuleUpdate, now: datetime
) -> Rule:
    """Change a rule; `enabled: true` also clears the reason it was disabled."""
    await get_rule(session, principal, rule_id)
    if data.actions is not None:
        await check_actions(session, principal, data.actions)
    if data.conditions is not None:
        await check_calendars(session, data.conditions)
    values = _values(data)
    if data.enabled is True:
        values["disabled_reason"] = None
    values["updated_at"] = now
    if not await repository.update_rule(session, rule_id, values):
        raise _taken(data.name or "")
    if data.enabled is False:
        await repository.drop_timers(session, rule_id)
    return await get_rule(session, principal, rule_id)


async def delete_rule(session: AsyncSession, principal: Principal, rule_id: uuid.UUID) -> None:
    require_admin(principal)
    if not await repository.delete_rule(session, rule_id):
        raise RuleNotFound()


async def upsert_rule(
    session: AsyncSession, principal: Principal, data: RuleCreate, now: datetime
) -> str:
    """Create or replace the rule of this name (the YAML import); 'created' or 'updated'.
    A replaced rule's ``updated_at`` moves, so a time rule's timers are built again."""
    require_admin(principal)
    await check_actions(session, principal, data.actions)
    await check_calendars(session, data.conditions)
    existing = await repository.get_rule_by_name(session, data.name)
    if existing is None:
        await create_rule(session, principal, data)
        return "created"
    values = data.model_dump(mode="json")
    if data.enabled:
        values["disabled_reason"] = None
    values["updated_at"] = now
    await repository.update_rule(session, existing.id, values)
    if not data.enabled:
        await repository.drop_timers(session, existing.id)
    return "updated"


async def list_executions(
    session: AsyncSession,
    principal: Principal,
    rule_id: uuid.UUID,
    before_id: int | None,
    limit: int,
) -> list[RuleExecution]:
    """The rule's execution log, newest first."""
    await get_rule(session, principal, rule_id)
    return await repository.list_executions(session, rule_id, before_id, limit)


TIME_KIND = "time"  # what `event` reads in a time rule's facts (it cannot test it)


def timed_facts(
    ticket: Any, times: Any, now: datetime, calendars: Mapping[uuid.UUID, Calendar]
) -> dict[str, Any]:
    """What a time rule's conditions see: the ticket, its clocks, now and the calendars."""
    facts = facts_of(ticket, TIME_KIND)
    for clock in timing.CLOCKS:
        facts[f"time.{clock}"] = getattr(times, clock, None) if times is not None else None
    facts["now"] = now
    facts["calendars"] = calendars
    return facts


def calendar_ids(conditions: cond.Conditions) -> set[uuid.UUID]:
    """The SLA calendars a rule's time conditions count business time in."""
    ids: set[uuid.UUID] = set()
    for c in conditions.timed:
        calendar = (c.value or {}).get("calendar_id")
        if calendar:
            ids.add(uuid.UUID(str(calendar)))
    return ids


async def check_calendars(session: AsyncSession, conditions: cond.Conditions) -> None:
    """Business units of time conditions name an existing SLA calendar (422 otherwise)."""
    known = await sla_service.calendar_engines(session, sorted(calendar_ids(conditions)))
    errors = [
        {"loc": ["body", "conditions", "all", i, "value", "calendar_id"], "msg": "no such calendar"}
        for i, c in enumerate(conditions.all)
        if c.op == "older_than"
        and (c.value or {}).get("calendar_id")
        and uuid.UUID(str(c.value["calendar_id"])) not in known
    ]
    if errors:
        raise RuleInvalid("no such calendar.", errors=[{**e, "type": "reference"} for e in errors])


def facts_of(ticket: Any, event: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """What conditions see of a ticket row (``ticket_facts``) and an event kind."""
    facts = {name: getattr(ticket, name) for name in (*cond.TICKET_FIELDS, "tags", "metadata")}
    facts["event"] = event
    facts["changes"] = changes or {}
    return facts


async def dry_run(
    session: AsyncSession, principal: Principal, rule_id: uuid.UUID, data: DryRun, now: datetime
) -> DryRunResult:
    """Which of the last N updated tickets the rule matches, and what it would change. Reads
    only: the actions are planned, never applied. A time rule lists the tickets it has a timer
    for, with when it is (or was) due."""
    rule = await get_rule(session, principal, rule_id)
    if data.event not in cond.EVENT_KINDS:
        raise RuleInvalid(
            f"Unknown event kind {data.event!r}.",
            errors=[{"loc": ["body", "event"], "msg": "unknown event kind", "type": "enum"}],
        )
    if data.rule is not None:
        conditions, actions = data.rule.conditions, list(data.rule.actions)
    else:
        conditions = cond.Conditions.model_validate(rule.conditions)
        actions = automation.ACTIONS.validate_python(rule.actions)
    matched: list[DryRunMatch] = []
    ticket_ids = await repository.recent_tickets(session, data.limit)
    tickets = await repository.ticket_facts_many(session, ticket_ids)
    times: dict[uuid.UUID, Any] = {}
    calendars: dict[uuid.UUID, Calendar] = {}
    if conditions.timed:  # a time rule: evaluated now, with each ticket's clocks
        times = await repository.ticket_times_many(session, ticket_ids)
        calendars = await sla_service.calendar_engines(session, sorted(calendar_ids(conditions)))
    for ticket_id in ticket_ids:
        ticket = tickets.get(ticket_id)
        if ticket is None:
            continue
        if conditions.timed:
            seen = timed_facts(ticket, times.get(ticket_id), now, calendars)
            due = cond.due_at(conditions, seen)
            if due is None:
                continue
        else:
            seen, due = facts_of(ticket, data.event), None
            if not cond.matches(conditions, seen):
                continue
        context = await template_context(session, ticket, None)
        matched.append(
            DryRunMatch(
                ticket_id=ticket.id,
                number=ticket.number,
                title=ticket.title,
                due_at=due,
                changes=automation.plan(actions, seen, context),
            )
        )
    return DryRunResult(evaluated=len(ticket_ids), matched=matched)
