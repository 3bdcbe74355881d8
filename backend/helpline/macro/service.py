"""Macros: a reply template plus actions, personal or shared, applied by agents."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.automation import actions as automation
from helpline.automation import template
from helpline.automation.context import template_context
from helpline.db import UnitOfWork
from helpline.errors import MacroNotFound, PermissionDenied, TemplateRefused, ValidationFailed
from helpline.kit.ids import new_id
from helpline.macro import repository
from helpline.macro.schemas import MacroApplied, MacroApply, MacroCreate, MacroUpdate
from helpline.models import Macro
from helpline.ticket import service as ticket_service
from helpline.ticket.schemas import TicketRead


def _staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise PermissionDenied("Macros are for agents and admins.")


def check_templates(body: str, actions: list[Any], *, loc: str = "body") -> None:
    """422 ``template-refused`` naming every unknown placeholder or forbidden construct."""
    errors: list[dict[str, Any]] = []
    sources = [([loc, "body"], body)] + [
        ([loc, "actions", i, "body"], source) for i, source in automation.templates_of(actions)
    ]
    for where, source in sources:
        try:
            template.validate(source)
        except template.TemplateProblem as exc:
            errors += [{"loc": where, "msg": p, "type": "template"} for p in exc.problems]
    if errors:
        raise TemplateRefused(
            "The template is refused: " + "; ".join(e["msg"] for e in errors) + ".",
            errors=errors,
        )


def _macro_actions(actions: list[Any]) -> None:
    rule_only = [a.type for a in actions if a.type in automation.RULE_ONLY]
    if rule_only:
        raise ValidationFailed(
            "These actions are for rules, not macros: " + ", ".join(rule_only) + ".",
            errors=[{"loc": ["body", "actions"], "msg": "rule-only action", "type": "action"}],
        )


async def create_macro(session: AsyncSession, principal: Principal, data: MacroCreate) -> Macro:
    """A personal macro, or (admins) a shared one."""
    _staff(principal)
    if data.shared and not principal.is_admin:
        raise PermissionDenied("Only admins create shared macros.")
    _macro_actions(data.actions)
    check_templates(data.body, data.actions)
    return await repository.insert_macro(
        session,
        {
            "id": new_id(),
            "name": data.name,
            "body": data.body,
            "actions": [a.model_dump(mode="json") for a in data.actions],
            "owner_id": None if data.shared else principal.user_id,
        },
    )


async def get_macro(
    session: AsyncSession, principal: Principal, macro_id: uuid.UUID, *, change: bool = False
) -> Macro:
    """A shared macro or the caller's own (404 otherwise); ``change``: the caller may change it
    (their own, or a shared one for admins)."""
    _staff(principal)
    row = await repository.get_macro(session, macro_id)
    if row is None or (row.owner_id is not None and row.owner_id != principal.user_id):
        raise MacroNotFound()
    if change and row.owner_id is None and not principal.is_admin:
        raise PermissionDenied("Only admins change shared macros.")
    return row


async def list_macros(session: AsyncSession, principal: Principal) -> list[Macro]:
    _staff(principal)
    return await repository.list_macros(session, principal.user_id)


async def update_macro(
    session: AsyncSession,
    principal: Principal,
    macro_id: uuid.UUID,
    data: MacroUpdate,
    now: datetime,
) -> Macro:
    row = await get_macro(session, principal, macro_id, change=True)
    values: dict[str, Any] = {"updated_at": now}
    if data.name is not None:
        values["name"] = data.name
    actions = (
        data.actions
        if data.actions is not None
        else automation.ACTIONS.validate_python(row.actions)
    )
    _macro_actions(actions)
    check_templates(data.body if data.body is not None else row.body, actions)
    if data.body is not None:
        values["body"] = data.body
    if data.actions is not None:
        values["actions"] = [a.model_dump(mode="json") for a in data.actions]
    await repository.update_macro(session, macro_id, values)
    return await get_macro(session, principal, macro_id)


async def delete_macro(session: AsyncSession, principal: Principal, macro_id: uuid.UUID) -> None:
    await get_macro(session, principal, macro_id, change=True)
    await repository.delete_macro(session, macro_id)


async def apply_macro(
    uow: UnitOfWork, principal: Principal, macro_id: uuid.UUID, data: MacroApply, now: datetime
) -> MacroApplied:
    """Render the reply for a visible ticket and list the changes, or apply them (counted)."""
    macro = await get_macro(uow.session, principal, macro_id)
    ticket = await ticket_service.get_ticket(uow, principal, data.ticket_id)
    context = await template_context(uow.session, ticket, principal.user_id)
    actions = automation.ACTIONS.validate_python(macro.actions)
    try:
        reply = template.render(macro.body, context)
    except template.TemplateProblem as exc:
        raise TemplateRefused(str(exc)) from exc
    if not data.apply:
        changes = automation.plan(actions, ticket.model_dump(), context)
        return MacroApplied(reply=reply, changes=changes, applied=False, ticket=None)
    target = automation.Target(ticket_id=data.ticket_id, principal=principal, context=context)
    changes = await automation.apply(uow, target, actions)
    await repository.count_use(uow.session, macro_id, now)
    row = await ticket_service.find_live_ticket(uow.session, ticket_id=data.ticket_id)
    return MacroApplied(
        reply=reply,
        changes=changes,
        applied=True,
        ticket=None if row is None else TicketRead.model_validate(row),
    )
