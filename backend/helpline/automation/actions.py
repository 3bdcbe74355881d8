"""Actions of macros and rules, and applying them through the ticket domain's services (so
every rule the API enforces — closed is terminal, assignees are active staff — holds here too)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from helpline.auth.principal import Principal
from helpline.automation import template
from helpline.conversation import service as conversation_service
from helpline.conversation.schemas import MessageCreate
from helpline.conversation.service import ReplyMailer
from helpline.db import UnitOfWork
from helpline.metadata import service as metadata_service
from helpline.models.enums import TicketPriority, TicketStatus
from helpline.models.ticket_metadata import METADATA_KEY_PATTERN
from helpline.team import service as team_service
from helpline.ticket import service as ticket_service
from helpline.ticket.schemas import TAG_PATTERN, TicketUpdate
from helpline.webhook import service as webhook_service

Tag = Annotated[str, StringConstraints(pattern=TAG_PATTERN)]


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SetField(_Action):
    """Set a ticket field (`assigned_to`/`team_id`: an id, or null)."""

    type: Literal["set"] = Field(description="The action kind.")
    field: Literal["status", "priority", "assigned_to", "team_id"] = Field(
        description="The ticket field."
    )
    value: str | None = Field(description="The new value (an id for `assigned_to`/`team_id`).")

    @model_validator(mode="after")
    def _valid_value(self) -> SetField:
        allowed = {"status": TicketStatus, "priority": TicketPriority}.get(self.field)
        if allowed is not None:
            if self.value not in {m.value for m in allowed}:
                raise ValueError(
                    f"{self.field} must be one of: " + ", ".join(m.value for m in allowed)
                )
        elif self.value is not None:
            uuid.UUID(self.value)  # a ValueError names the bad id
        return self


class AddTags(_Action):
    type: Literal["add_tags"] = Field(description="The action kind.")
    tags: list[Tag] = Field(min_length=1, max_length=20, description="Tags.")


class RemoveTags(_Action):
    type: Literal["remove_tags"] = Field(description="The action kind.")
    tags: list[Tag] = Field(min_length=1, max_length=20, description="Tags.")


class SetMetadata(_Action):
    type: Literal["set_metadata"] = Field(description="The action kind.")
    key: Annotated[str, StringConstraints(pattern=METADATA_KEY_PATTERN)] = Field(
        description="Metadata key."
    )
    value: JsonValue = Field(description="Any JSON value.")


class InternalNote(_Action):
    """An internal note (a template, like a macro's reply): never shown to customers."""

    type: Literal["internal_note"] = Field(description="The action kind.")
    body: str = Field(min_length=1, max_length=20_000, description="A template (as a macro's).")


class Reply(_Action):
    """A public reply to the customer (a template); mailed when the ticket came by mail."""

    type: Literal["reply"] = Field(description="The action kind.")
    body: str = Field(min_length=1, max_length=20_000, description="A template (as a macro's).")


class AssignRoundRobin(_Action):
    """Assign to the next active member of a team (in member order), and set the team."""

    type: Literal["assign_round_robin"] = Field(description="The action kind.")
    team_id: uuid.UUID = Field(description="The team whose members take turns.")


class Assign(_Action):
    """Assign to one of a team's active agents and admins, and set the team: `round_robin`
    (the next member, in turn) or `least_loaded` (the fewest open tickets; ties to the lowest
    id). Safe with several workers: the team row is locked while choosing."""

    type: Literal["assign"] = Field(description="The action kind.")
    team_id: uuid.UUID = Field(description="The team whose members are assigned.")
    strategy: Literal["round_robin", "least_loaded"] = Field(
        "round_robin", description="`round_robin` or `least_loaded`."
    )


class CallWebhook(_Action):
    """Deliver the event that fired the rule to a webhook endpoint (signed, retried, in order)."""

    type: Literal["webhook"] = Field(description="The action kind.")
    endpoint_id: uuid.UUID = Field(description="An enabled webhook endpoint.")


Action = Annotated[
    SetField
    | AddTags
    | RemoveTags
    | SetMetadata
    | InternalNote
    | Reply
    | AssignRoundRobin
    | Assign
    | CallWebhook,
    Field(discriminator="type"),
]
ACTIONS = TypeAdapter(list[Action])
RULE_ONLY = (
    "assign_round_robin",
    "assign",
    "webhook",
    "reply",
)  # a macro's reply is the composer's


def templates_of(actions: list[Any]) -> list[tuple[int, str]]:
    """(index, template) of the actions that carry one."""
    return [(i, a.body) for i, a in enumerate(actions) if isinstance(a, InternalNote | Reply)]


@dataclass
class Target:
    """What actions run against: the ticket, who acts, and what templates see."""

    ticket_id: uuid.UUID
    principal: Principal
    context: Mapping[str, Any]
    as_system: bool = False  # notes and replies by the system (rules), not by a user
    event_id: int | None = None  # the feed event a rule runs for (webhook action)
    mailer: ReplyMailer | None = None  # mails public replies on tickets that came by mail


def plan(
    actions: list[Any], ticket: Mapping[str, Any], context: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """What the actions would change on ``ticket`` (a dry run: nothing is written)."""
    effects: list[dict[str, Any]] = []
    tags = set(ticket.get("tags") or [])
    for action in actions:
        if isinstance(action, SetField):
            old = ticket.get(action.field)
            if (None if old is None else str(old)) != action.value:
                effects.append(
                    {"type": "set", "field": action.field, "from": _plain(old), "to": action.value}
                )
        elif isinstance(action, AddTags | RemoveTags):
            after = (
                tags | set(action.tags) if isinstance(action, AddTags) else tags - set(action.tags)
            )
            if after != tags:
                effects.append({"type": "tags", "from": sorted(tags), "to": sorted(after)})
                tags = after
        elif isinstance(action, SetMetadata):
            effects.append({"type": "set_metadata", "key": action.key, "to": action.value})
        elif isinstance(action, InternalNote | Reply):
            effects.append(
                {"type": action.type, "body": template.render(action.body, dict(context))}
            )
        elif isinstance(action, AssignRoundRobin):
            effects.append({"type": "assign_round_robin", "team_id": str(action.team_id)})
        elif isinstance(action, Assign):
            effects.append(
                {"type": "assign", "team_id": str(action.team_id), "strategy": action.strategy}
            )
        elif isinstance(action, CallWebhook):
            effects.append({"type": "webhook", "endpoint_id": str(action.endpoint_id)})
    return effects


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


async def apply(uow: UnitOfWork, target: Target, actions: list[Any]) -> list[dict[str, Any]]:
    """Apply the actions in order, in the unit of work's transaction; the effects that
    changed something (an action that changes nothing is left out)."""
    effects: list[dict[str, Any]] = []
    tid, principal = target.ticket_id, target.principal
    for action in actions:
        if isinstance(action, SetField):
            before = await ticket_service.lock_ticket_for_change(uow.session, principal, tid)
            data = TicketUpdate.model_validate({action.field: action.value})
            row = await ticket_service.update_ticket(uow, principal, tid, data, None)
            old, new = getattr(before, action.field), getattr(row, action.field)
            if old != new:
                effects.append(
                    {"type": "set", "field": action.field, "from": _plain(old), "to": _plain(new)}
                )
        elif isinstance(action, AddTags | RemoveTags):
            before = await ticket_service.lock_ticket_for_change(uow.session, principal, tid)
            row = await ticket_service.change_tags(
                uow, principal, tid, list(action.tags), add=isinstance(action, AddTags)
            )
            if list(before.tags) != list(row.tags):
                effects.append({"type": "tags", "from": list(before.tags), "to": list(row.tags)})
        elif isinstance(action, SetMetadata):
            await metadata_service.set_metadata(uow, principal, tid, action.key, action.value)
            effects.append({"type": "set_metadata", "key": action.key, "to": action.value})
        elif isinstance(action, InternalNote | Reply):
            body = template.render(action.body, dict(target.context))
            message = MessageCreate(message=body, is_internal=isinstance(action, InternalNote))
            row = await conversation_service.add_message(
                uow, principal, tid, message, as_system=target.as_system, mailer=target.mailer
            )
            effects.append({"type": action.type, "message_id": str(row.id)})
        elif isinstance(action, AssignRoundRobin | Assign):
            if isinstance(action, Assign) and action.strategy == "least_loaded":
                assignee = await team_service.least_loaded_assignee(uow.session, action.team_id)
            else:
                assignee = await team_service.next_assignee(uow.session, action.team_id)
            if assignee is None:
                raise ValueError(f"team {action.team_id} has no active member to assign")
            before = await ticket_service.lock_ticket_for_change(uow.session, principal, tid)
            data = TicketUpdate(assigned_to=assignee, team_id=action.team_id)
            await ticket_service.update_ticket(uow, principal, tid, data, None)
            if before.assigned_to != assignee or before.team_id != action.team_id:
                effects.append(
                    {"type": "assign", "to": str(assignee), "team_id": str(action.team_id)}
                )
        elif isinstance(action, CallWebhook):
            if target.event_id is None:
                raise ValueError("a webhook action needs the event that fired the rule")
            await webhook_service.enqueue_event(uow.session, action.endpoint_id, target.event_id)
            effects.append({"type": "webhook", "endpoint_id": str(action.endpoint_id)})
    return effects
