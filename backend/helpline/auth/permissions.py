"""Roles, scopes and what each role may ever be granted."""

from enum import StrEnum

from helpline.models.enums import Role


class Scope(StrEnum):
    tickets_read = "tickets:read"
    tickets_write = "tickets:write"
    users_read = "users:read"
    users_write = "users:write"
    api_keys_write = "api_keys:write"
    audit_read = "audit:read"
    webhooks_write = "webhooks:write"  # admins: webhooks send ticket data elsewhere
    mailboxes_write = "mailboxes:write"  # admins: mailboxes hold mail credentials
    sla_write = "sla:write"  # admins: calendars and SLA policies


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.admin: frozenset(Scope),
    Role.agent: frozenset(
        {Scope.tickets_read, Scope.tickets_write, Scope.users_read, Scope.api_keys_write}
    ),
    Role.customer: frozenset({Scope.tickets_read, Scope.tickets_write, Scope.api_keys_write}),
}


def effective_scopes(role: Role, granted: frozenset[str]) -> frozenset[Scope]:
    """Key scopes intersected with what the owner's *current* role allows."""
    return frozenset(s for s in ROLE_SCOPES[role] if s.value in granted)
