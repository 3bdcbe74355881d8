"""Enumerations stored as text + CHECK (easy to evolve)."""

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    agent = "agent"
    customer = "customer"


class TicketStatus(StrEnum):
    new = "new"
    open = "open"
    pending = "pending"
    on_hold = "on_hold"
    solved = "solved"
    closed = "closed"


class TicketPriority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class SenderType(StrEnum):
    customer = "customer"
    agent = "agent"
    system = "system"


class MessageChannel(StrEnum):
    web = "web"
    api = "api"
    email = "email"


class DeliveryStatus(StrEnum):
    queued = "queued"
    sent = "sent"
    failed = "failed"
    bounced = "bounced"


class ChangeType(StrEnum):
    created = "created"
    status_changed = "status_changed"
    priority_changed = "priority_changed"
    assignee_changed = "assignee_changed"
    title_changed = "title_changed"
    description_changed = "description_changed"
    metadata_set = "metadata_set"
    metadata_removed = "metadata_removed"
    message_added = "message_added"
    deleted = "deleted"
    restored = "restored"
    tags_changed = "tags_changed"
    team_changed = "team_changed"


class ActorType(StrEnum):
    user = "user"
    api_key = "api_key"
    system = "system"
    anonymous = "anonymous"
    rule = "rule"


class AuditOutcome(StrEnum):
    success = "success"
    failure = "failure"
    denied = "denied"


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)
