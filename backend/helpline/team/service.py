"""Teams: admins manage them; staff read them; a ticket belongs to at most one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.errors import Conflict, NameTaken, PermissionDenied, TeamNotFound, ValidationFailed
from helpline.kit.ids import new_id
from helpline.kit.rows import AnyRow
from helpline.models.enums import Role
from helpline.team import repository
from helpline.team.schemas import TeamCreate, TeamUpdate
from helpline.user import service as user_service

STAFF = {Role.agent, Role.admin}


def require_staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise PermissionDenied("Teams are for agents and admins.")


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDenied("Only admins manage teams.")


async def _check_members(session: AsyncSession, member_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    unique = sorted(set(member_ids))
    for user_id in unique:
        await user_service.require_user_with_role(session, user_id, STAFF, "member_ids")
    return unique


def _taken(name: str) -> NameTaken:
    return NameTaken(
        f"A team named {name!r} exists.",
        errors=[{"loc": ["body", "name"], "msg": "already in use", "type": "unique"}],
    )


async def create_team(session: AsyncSession, principal: Principal, data: TeamCreate) -> AnyRow:
    """A new team with its members."""
    require_admin(principal)
    members = await _check_members(session, data.member_ids)
    team_id = new_id()
    values = {"id": team_id, "name": data.name, "description": data.description}
    if not await repository.insert_team(session, values):
        raise _taken(data.name)
    await repository.set_members(session, team_id, members)
    return await get_team(session, principal, team_id)


async def get_team(session: AsyncSession, principal: Principal, team_id: uuid.UUID) -> AnyRow:
    require_staff(principal)
    row = await repository.get_team(session, team_id)
    if row is None:
        raise TeamNotFound()
    return row


async def list_teams(session: AsyncSession, principal: Principal) -> list[AnyRow]:
    require_staff(principal)
    return await repository.list_teams(session)


async def update_team(
    session: AsyncSession, principal: Principal, team_id: uuid.UUID, data: TeamUpdate, now: datetime
) -> AnyRow:
    """Rename, describe, or replace the members."""
    require_admin(principal)
    await get_team(session, principal, team_id)
    values: dict[str, Any] = {}
    if data.name is not None:
        values["name"] = data.name
    if data.description is not None:
        values["description"] = data.description
    if values:
        values["updated_at"] = now
        if not await repository.update_team(session, team_id, values):
            raise _taken(data.name or "")
    if data.member_ids is not None:
        await repository.set_members(
            session, team_id, await _check_members(session, data.member_ids)
        )
    return await get_team(session, principal, team_id)


async def delete_team(session: AsyncSession, principal: Principal, team_id: uuid.UUID) -> None:
    """Delete a team that no ticket belongs to (409 otherwise: move them first — a silent
    ``SET NULL`` would change tickets without history, events or cache invalidation)."""
    require_admin(principal)
    await get_team(session, principal, team_id)
    if await repository.has_tickets(session, team_id):
        raise Conflict("Tickets belong to this team; move them to another team (or none) first.")
    if not await repository.delete_team(session, team_id):
        raise TeamNotFound()


async def require_team(session: AsyncSession, team_id: uuid.UUID, field: str = "team_id") -> None:
    """A 422 naming ``field`` unless the team exists."""
    if not await repository.team_exists(session, team_id):
        raise ValidationFailed(
            f"{field} must reference a team.",
            errors=[{"loc": ["body", field], "msg": "no such team", "type": "reference"}],
        )


async def team_members(session: AsyncSession, team_id: uuid.UUID) -> list[uuid.UUID]:
    """The team's active agents and admins (for assignment by rules)."""
    return await repository.members(session, team_id)


async def next_assignee(session: AsyncSession, team_id: uuid.UUID) -> uuid.UUID | None:
    """Round robin: the team's next active agent or admin (None: nobody to assign)."""
    return await repository.next_assignee(session, team_id)


async def least_loaded_assignee(session: AsyncSession, team_id: uuid.UUID) -> uuid.UUID | None:
    """The team's active agent or admin with the fewest open tickets (ties: lowest id)."""
    return await repository.least_loaded_assignee(session, team_id)


async def team_exists(session: AsyncSession, team_id: uuid.UUID) -> bool:
    return await repository.team_exists(session, team_id)
