"""REST endpoints for automation rules (admins only). Thin handlers over the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from helpline.auth.dependencies import TicketsWrite
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.errors import NameTaken, PermissionDenied, RuleInvalid, RuleNotFound, TemplateRefused
from helpline.http import IDEMPOTENT, JSON_BODY, UNSAFE, problem_responses
from helpline.kit.clock import utcnow
from helpline.rule import service
from helpline.rule.schemas import (
    DryRun,
    DryRunResult,
    ExecutionRead,
    RuleCreate,
    RuleRead,
    RuleUpdate,
)

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/rules", tags=["rules"])

RuleId = Annotated[uuid.UUID, Path(description="Rule id.")]
Admin = TicketsWrite  # and the admin role, checked by the service


@router.post(
    "",
    status_code=201,
    summary="Create an automation rule",
    description="Admins only. Conditions `{all, any}` over the event and the ticket; actions in "
    "order. The worker runs enabled rules on each change-feed event (ADR 0014). A rule with a "
    "time condition (`time.<clock>` `older_than` a duration, e.g. pending for 3 business days) "
    "is a time rule: it runs from per-ticket timers when its conditions start to hold, once per "
    "ticket (`once_per_ticket`) or once each time its clock starts again.",
    operation_id="createRule",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, *IDEMPOTENT, NameTaken, RuleInvalid, TemplateRefused
    ),
)
async def create_rule(session: SessionDep, principal: Admin, body: RuleCreate) -> RuleRead:
    return RuleRead.model_validate(await service.create_rule(session, principal, body))


@router.get(
    "",
    summary="List automation rules",
    description="Admins only; in run order.",
    operation_id="listRules",
    responses=problem_responses(PermissionDenied),
)
async def list_rules(session: SessionDep, principal: Admin) -> list[RuleRead]:
    return [RuleRead.model_validate(r) for r in await service.list_rules(session, principal)]


@router.get(
    "/{rule_id}",
    summary="Get an automation rule",
    description="With `disabled_reason` when a failure or its rate disabled it.",
    operation_id="getRule",
    responses=problem_responses(PermissionDenied, RuleNotFound),
)
async def get_rule(session: SessionDep, principal: Admin, rule_id: RuleId) -> RuleRead:
    return RuleRead.model_validate(await service.get_rule(session, principal, rule_id))


@router.patch(
    "/{rule_id}",
    summary="Update an automation rule",
    description="`enabled: true` re-enables a disabled rule and clears `disabled_reason`.",
    operation_id="updateRule",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, RuleNotFound, NameTaken, RuleInvalid, TemplateRefused
    ),
)
async def update_rule(
    session: SessionDep, principal: Admin, rule_id: RuleId, body: RuleUpdate
) -> RuleRead:
    row = await service.update_rule(session, principal, rule_id, body, utcnow())
    return RuleRead.model_validate(row)


@router.delete(
    "/{rule_id}",
    status_code=204,
    summary="Delete an automation rule",
    description="Its execution log goes with it.",
    operation_id="deleteRule",
    responses=problem_responses(PermissionDenied, *UNSAFE, RuleNotFound),
)
async def delete_rule(session: SessionDep, principal: Admin, rule_id: RuleId) -> Response:
    await service.delete_rule(session, principal, rule_id)
    return Response(status_code=204)


@router.post(
    "/{rule_id}/dry-run",
    summary="Dry-run an automation rule",
    description="Evaluates the rule (or the definition in `rule`, for an edit) against the last "
    "`limit` updated tickets as the event `event`, and returns which match and what each action "
    "would change. A time rule is evaluated with each ticket's clocks: the tickets whose "
    "conditions hold or will hold as they are now, with `due_at`. Changes nothing.",
    operation_id="dryRunRule",
    responses=problem_responses(PermissionDenied, *UNSAFE, *JSON_BODY, RuleNotFound, RuleInvalid),
)
async def dry_run_rule(
    session: SessionDep, principal: Admin, rule_id: RuleId, body: DryRun
) -> DryRunResult:
    return await service.dry_run(session, principal, rule_id, body, utcnow())


@router.get(
    "/{rule_id}/executions",
    summary="A rule's execution log",
    description="Newest first: each event (or, for a time rule, each timer: `timer_basis`) the "
    "rule matched, with its status (`applied`, `no_change`, `skipped` with the reason — depth "
    "limit, once per ticket, closed ticket — or `failed` with the error) and its effects.",
    operation_id="listRuleExecutions",
    responses=problem_responses(PermissionDenied, RuleNotFound),
)
async def list_rule_executions(
    session: SessionDep,
    principal: Admin,
    rule_id: RuleId,
    before_id: Annotated[int | None, Query(ge=1, description="Older than this id.")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 25,
) -> list[ExecutionRead]:
    rows = await service.list_executions(session, principal, rule_id, before_id, limit)
    return [ExecutionRead.model_validate(r) for r in rows]
