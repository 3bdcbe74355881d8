"""All SQL for teams."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import Team, TeamMember

MEMBERS = (
    select(func.coalesce(func.array_agg(TeamMember.user_id), text("'{}'::uuid[]")))
    .where(TeamMember.team_id == Team.id)
    .correlate(Team)
    .scalar_subquery()
    .label("member_ids")
)
COLUMNS = (Team.id, Team.name, Team.description, MEMBERS, Team.created_at, Team.updated_at)


async def insert_team(session: AsyncSession, values: dict[str, Any]) -> bool:
    """False when the name is taken (case-insensitively)."""
    try:
        async with session.begin_nested():
            await session.execute(insert(Team).values(**values))
    except IntegrityError:
        return False
    return True


async def get_team(session: AsyncSession, team_id: uuid.UUID) -> AnyRow | None:
    return (await session.execute(select(*COLUMNS).where(Team.id == team_id))).first()


async def team_exists(session: AsyncSession, team_id: uuid.UUID) -> bool:
    stmt = select(Team.id).where(Team.id == team_id)
    return (await session.execute(stmt)).first() is not None


async def list_teams(session: AsyncSession) -> list[AnyRow]:
    stmt = select(*COLUMNS).order_by(func.lower(Team.name), Team.id)
    return list((await session.execute(stmt)).all())


async def update_team(session: AsyncSession, team_id: uuid.UUID, values: dict[str, Any]) -> bool:
    """False when the new name is taken."""
    try:
        async with session.begin_nested():
            await session.execute(update(Team).where(Team.id == team_id).values(**values))
    except IntegrityError:
        return False
    return True


async def set_members(session: AsyncSession, team_id: uuid.UUID, user_ids: list[uuid.UUID]) -> None:
    """Replace the members: only the differences are written (and audited)."""
    await session.execute(
        delete(TeamMember).where(
            TeamMember.team_id == team_id, TeamMember.user_id.not_in(user_ids or [uuid.UUID(int=0)])
        )
    )
    if user_ids:
        await session.execute(
            text(
                "INSERT INTO team_members (team_id, user_id)"
                " SELECT :team_id, unnest(CAST(:user_ids AS uuid[])) ON CONFLICT DO NOTHING"
            ),
            {"team_id": team_id, "user_ids": user_ids},
        )


async def has_tickets(session: AsyncSession, team_id: uuid.UUID) -> bool:
    stmt = text("SELECT EXISTS (SELECT 1 FROM tickets WHERE team_id = :team_id)")
    return bool((await session.execute(stmt, {"team_id": team_id})).scalar())


async def delete_team(session: AsyncSession, team_id: uuid.UUID) -> bool:
    result = await session.execute(delete(Team).where(Team.id == team_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def members(session: AsyncSession, team_id: uuid.UUID) -> list[uuid.UUID]:
    """Active staff members, in a stable order (round-robin walks it)."""
    stmt = text(
        "SELECT m.user_id FROM team_members m JOIN users u ON u.id = m.user_id"
        " WHERE m.team_id = :team_id AND u.is_active AND u.role IN ('agent', 'admin')"
        " ORDER BY m.user_id"
    )
    return list((await session.execute(stmt, {"team_id": team_id})).scalars())


async def next_assignee(session: AsyncSession, team_id: uuid.UUID) -> uuid.UUID | None:
    """The active member after the one assigned last (wrapping), recorded as assigned last; the
    team row's lock makes concurrent assignments take turns."""
    stmt = text(
        "WITH team AS (SELECT id, last_assigned_to FROM teams WHERE id = :team_id FOR UPDATE),"
        " candidates AS (SELECT m.user_id FROM team_members m JOIN users u ON u.id = m.user_id"
        "  WHERE m.team_id = :team_id AND u.is_active AND u.role IN ('agent', 'admin')),"
        " chosen AS (SELECT coalesce("
        "  (SELECT c.user_id FROM candidates c, team t WHERE t.last_assigned_to IS NOT NULL"
        "    AND c.user_id > t.last_assigned_to ORDER BY c.user_id LIMIT 1),"
        "  (SELECT user_id FROM candidates ORDER BY user_id LIMIT 1)) AS user_id)"
        " UPDATE teams SET last_assigned_to = chosen.user_id FROM chosen"
        " WHERE teams.id = :team_id AND chosen.user_id IS NOT NULL"
        " RETURNING chosen.user_id"
    )
    return (await session.execute(stmt, {"team_id": team_id})).scalar()


async def least_loaded_assignee(session: AsyncSession, team_id: uuid.UUID) -> uuid.UUID | None:
    """The active member with the fewest open tickets (new, open, pending, on hold), ties to
    the lowest id. The team row's lock is taken first, in its own statement: a concurrent
    assignment to the team waits for it, then counts in a new snapshot that sees the first
    one's committed ticket (READ COMMITTED) — two workers never both pick the same agent
    from the same counts."""
    locked = await session.execute(
        text("SELECT id FROM teams WHERE id = :team_id FOR UPDATE"), {"team_id": team_id}
    )
    if locked.first() is None:
        return None
    stmt = text(
        "SELECT u.id FROM team_members m JOIN users u ON u.id = m.user_id"
        " WHERE m.team_id = :team_id AND u.is_active AND u.role IN ('agent', 'admin')"
        " ORDER BY (SELECT count(*) FROM tickets t WHERE t.assigned_to = u.id"
        "  AND t.deleted_at IS NULL AND t.status NOT IN ('solved', 'closed')), u.id"
        " LIMIT 1"
    )
    return (await session.execute(stmt, {"team_id": team_id})).scalar()
