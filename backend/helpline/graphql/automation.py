"""GraphQL for teams, macros and automation rules: the same services, schemas and permissions
as `/api/v1/teams`, `/api/v1/macros` and `/api/v1/rules` (REST's scope first, then the
service's role and ownership checks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from helpline.auth.permissions import Scope
from helpline.graphql.context import parse_id
from helpline.graphql.ticket import build, given
from helpline.graphql.types import Info, Ticket, check_page_size
from helpline.macro import service as macro_service
from helpline.macro.schemas import MacroApply, MacroRead
from helpline.rule import service as rule_service
from helpline.rule.schemas import DryRun, DryRunResult, ExecutionRead, RuleRead
from helpline.team import service as team_service
from helpline.team.schemas import TeamCreate, TeamRead, TeamUpdate


def _id(value: Any) -> strawberry.ID:
    return strawberry.ID(str(value))


def _opt_id(value: Any) -> strawberry.ID | None:
    return None if value is None else _id(value)


@strawberry.type(description="A team of agents (as `GET /api/v1/teams/{id}`).")
class Team:
    id: strawberry.ID
    name: str
    description: str
    member_ids: list[strawberry.ID] = strawberry.field(description="Agents and admins, by id.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Team:
        read = TeamRead.model_validate(row)
        return cls(
            id=_id(read.id),
            name=read.name,
            description=read.description,
            member_ids=[_id(m) for m in read.member_ids],
            created_at=read.created_at,
            updated_at=read.updated_at,
        )


@strawberry.type(description="A macro: a reply template and actions (as `GET /api/v1/macros`).")
class Macro:
    id: strawberry.ID
    name: str
    body: str = strawberry.field(description="The reply template.")
    actions: JSON = strawberry.field(description="Actions, in order (as in REST).")
    owner_id: strawberry.ID | None = strawberry.field(description="Owner; null: shared.")
    usage_count: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Macro:
        read = MacroRead.model_validate(row)
        return cls(
            id=_id(read.id),
            name=read.name,
            body=read.body,
            actions=cast(JSON, read.actions),
            owner_id=_opt_id(read.owner_id),
            usage_count=read.usage_count,
            last_used_at=read.last_used_at,
            created_at=read.created_at,
            updated_at=read.updated_at,
        )


@strawberry.type(description="A macro applied to a ticket (as `POST /api/v1/macros/{id}/apply`).")
class MacroApplied:
    reply: str = strawberry.field(description="The rendered reply, for the composer (not sent).")
    changes: JSON = strawberry.field(description="What the actions change (or would change).")
    applied: bool
    ticket: Ticket | None = strawberry.field(description="The ticket after the actions.")


@strawberry.type(description="An automation rule (admins; as `GET /api/v1/rules/{id}`).")
class Rule:
    id: strawberry.ID
    name: str
    description: str
    position: int
    enabled: bool
    once_per_ticket: bool
    max_per_hour: int
    conditions: JSON = strawberry.field(description='`{"all": [...], "any": [...]}`.')
    actions: JSON = strawberry.field(description="Actions, in order.")
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Rule:
        read = RuleRead.model_validate(row)
        return cls(
            id=_id(read.id),
            name=read.name,
            description=read.description,
            position=read.position,
            enabled=read.enabled,
            once_per_ticket=read.once_per_ticket,
            max_per_hour=read.max_per_hour,
            conditions=cast(JSON, read.conditions),
            actions=cast(JSON, read.actions),
            disabled_reason=read.disabled_reason,
            created_at=read.created_at,
            updated_at=read.updated_at,
        )


@strawberry.type(description="One entry of a rule's execution log.")
class RuleExecution:
    id: strawberry.ID = strawberry.field(description="Log entry id (newest is highest).")
    rule_id: strawberry.ID
    event_id: strawberry.ID | None = strawberry.field(
        description="The feed event evaluated (null: a time rule's timer)."
    )
    timer_basis: str | None = strawberry.field(description="A time rule's timer.")
    ticket_id: strawberry.ID
    depth: int
    status: str = strawberry.field(description="applied | no_change | skipped | failed.")
    effects: JSON
    reason: str | None
    executed_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> RuleExecution:
        read = ExecutionRead.model_validate(row)
        return cls(
            id=_id(read.id),
            rule_id=_id(read.rule_id),
            event_id=_opt_id(read.event_id),
            timer_basis=read.timer_basis,
            ticket_id=_id(read.ticket_id),
            depth=read.depth,
            status=read.status,
            effects=cast(JSON, read.effects),
            reason=read.reason,
            executed_at=read.executed_at,
        )


@strawberry.type(description="A ticket a dry run matched, and what the rule would change.")
class DryRunMatch:
    ticket_id: strawberry.ID
    number: int
    title: str
    due_at: datetime | None = strawberry.field(description="A time rule: when it holds.")
    changes: JSON


@strawberry.type(description="The result of a dry run (nothing was changed).")
class RuleDryRun:
    evaluated: int
    matched: list[DryRunMatch]

    @classmethod
    def of(cls, result: DryRunResult) -> RuleDryRun:
        return cls(
            evaluated=result.evaluated,
            matched=[
                DryRunMatch(
                    ticket_id=_id(m.ticket_id),
                    number=m.number,
                    title=m.title,
                    due_at=m.due_at,
                    changes=cast(JSON, m.changes),
                )
                for m in result.matched
            ],
        )


@strawberry.input(description="A new team (as `POST /api/v1/teams`).")
class CreateTeamInput:
    name: str
    description: str | None = strawberry.UNSET
    member_ids: list[strawberry.ID] | None = strawberry.UNSET


@strawberry.input(description="Change a team: only the fields given change.")
class UpdateTeamInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    member_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="The whole member list (replaces it)."
    )


@strawberry.input(description="Apply a macro (as `POST /api/v1/macros/{id}/apply`).")
class ApplyMacroInput:
    macro_id: strawberry.ID
    ticket_id: strawberry.ID
    apply: bool = strawberry.field(
        default=False, description="false: only render and list the changes; true: apply them."
    )


@strawberry.input(description="Dry-run a rule (as `POST /api/v1/rules/{id}/dry-run`).")
class DryRunRuleInput:
    rule_id: strawberry.ID
    limit: int | None = strawberry.UNSET
    event: str | None = strawberry.UNSET
    rule: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="A definition to evaluate instead of the saved one (REST's `rule`).",
    )


def _team_values(input: object) -> dict[str, Any]:
    values = {k: v for k, v in given(input).items() if v is not None or k == "description"}
    values.pop("id", None)
    if values.get("description") is None:
        values.pop("description", None)
    if "member_ids" in values:
        values["member_ids"] = [parse_id(m, "memberIds") for m in values["member_ids"]]
    return values


@strawberry.type
class AutomationQuery:
    @strawberry.field(description="Every team (agents and admins).")
    async def teams(self, info: Info) -> list[Team]:
        ctx = info.context
        principal = ctx.require(Scope.tickets_read)
        async with ctx.db() as session:
            rows = await team_service.list_teams(session, principal)
        return [Team.from_row(r) for r in rows]

    @strawberry.field(description="One team; null with a `team-not-found` error.")
    async def team(self, info: Info, id: strawberry.ID) -> Team | None:
        ctx = info.context
        principal = ctx.require(Scope.tickets_read)
        async with ctx.db() as session:
            row = await team_service.get_team(session, principal, parse_id(id, "id"))
        return Team.from_row(row)

    @strawberry.field(description="The macros you can use: yours and the shared ones.")
    async def macros(self, info: Info) -> list[Macro]:
        ctx = info.context
        principal = ctx.require(Scope.tickets_read)
        async with ctx.db() as session:
            rows = await macro_service.list_macros(session, principal)
        return [Macro.from_row(r) for r in rows]

    @strawberry.field(description="Automation rules in run order (admins).")
    async def rules(self, info: Info) -> list[Rule]:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        async with ctx.db() as session:
            rows = await rule_service.list_rules(session, principal)
        return [Rule.from_row(r) for r in rows]

    @strawberry.field(description="One rule (admins); null with a `rule-not-found` error.")
    async def rule(self, info: Info, id: strawberry.ID) -> Rule | None:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        async with ctx.db() as session:
            row = await rule_service.get_rule(session, principal, parse_id(id, "id"))
        return Rule.from_row(row)

    @strawberry.field(description="A rule's execution log, newest first (admins).")
    async def rule_executions(
        self,
        info: Info,
        rule_id: strawberry.ID,
        first: int = 25,
        before_id: strawberry.ID | None = None,
    ) -> list[RuleExecution]:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        check_page_size(first, "first")
        before = None
        if before_id is not None:
            try:
                before = int(before_id)
            except ValueError:
                before = -1
            if before < 1:
                from helpline.errors import ValidationFailed

                raise ValidationFailed(
                    "beforeId must be a log entry id.",
                    errors=[{"loc": ["args", "beforeId"], "msg": "not an id", "type": "int"}],
                )
        async with ctx.db() as session:
            rows = await rule_service.list_executions(
                session, principal, parse_id(rule_id, "ruleId"), before, first
            )
        return [RuleExecution.from_row(r) for r in rows]


@strawberry.type
class AutomationMutation:
    @strawberry.mutation(description="Create a team (admins; as `POST /api/v1/teams`).")
    async def create_team(self, info: Info, input: CreateTeamInput) -> Team:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        data = build(TeamCreate, _team_values(input))
        async with ctx.db() as session:
            row = await team_service.create_team(session, principal, data)
        return Team.from_row(row)

    @strawberry.mutation(description="Change a team (admins; as `PATCH`).")
    async def update_team(self, info: Info, input: UpdateTeamInput) -> Team:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        team_id = parse_id(input.id, "id")
        data = build(TeamUpdate, _team_values(input))
        async with ctx.db() as session:
            row = await team_service.update_team(session, principal, team_id, data, ctx.clock())
        return Team.from_row(row)

    @strawberry.mutation(description="Delete a team no ticket belongs to (admins); its id.")
    async def delete_team(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        async with ctx.db() as session:
            await team_service.delete_team(session, principal, parse_id(id, "id"))
        return id

    @strawberry.mutation(
        description="Render a macro's reply for a ticket and list its changes; with "
        "`apply: true` apply them as you (as `POST /api/v1/macros/{id}/apply`)."
    )
    async def apply_macro(self, info: Info, input: ApplyMacroInput) -> MacroApplied:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        macro_id = parse_id(input.macro_id, "macroId")
        data = build(
            MacroApply, {"ticket_id": parse_id(input.ticket_id, "ticketId"), "apply": input.apply}
        )
        async with ctx.work() as uow:
            result = await macro_service.apply_macro(uow, principal, macro_id, data, ctx.clock())
        return MacroApplied(
            reply=result.reply,
            changes=cast(JSON, result.changes),
            applied=result.applied,
            ticket=None if result.ticket is None else Ticket.from_row(result.ticket),
        )

    @strawberry.mutation(
        description="Which recent tickets a rule matches and what it would change; changes "
        "nothing (admins; as `POST /api/v1/rules/{id}/dry-run`)."
    )
    async def dry_run_rule(self, info: Info, input: DryRunRuleInput) -> RuleDryRun:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        values = {k: v for k, v in given(input).items() if v is not None}
        rule_id = parse_id(values.pop("rule_id"), "ruleId")
        data = build(DryRun, values)
        async with ctx.db() as session:
            result = await rule_service.dry_run(session, principal, rule_id, data, ctx.clock())
        return RuleDryRun.of(result)
