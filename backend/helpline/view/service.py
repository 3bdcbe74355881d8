"""Saved views: each agent's (and admin's) own named inbox filters. Private: a user only ever
reads or changes their own (another's is 404, as if it did not exist); customers have none."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.errors import NameTaken, PermissionDenied, ViewLimitReached, ViewNotFound
from helpline.kit.ids import new_id
from helpline.models import SavedView
from helpline.view import repository
from helpline.view.schemas import MAX_VIEWS_PER_USER, ViewCreate, ViewUpdate


def _staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise PermissionDenied("Saved views are for agents and admins.")


def _taken(name: str) -> NameTaken:
    return NameTaken(
        f"You already have a view named {name!r}.",
        errors=[{"loc": ["body", "name"], "msg": "already in use", "type": "unique"}],
    )


async def list_views(session: AsyncSession, principal: Principal) -> list[SavedView]:
    """The caller's views, in their order (position, then name)."""
    _staff(principal)
    return await repository.list_views(session, principal.user_id, MAX_VIEWS_PER_USER)


async def get_view(session: AsyncSession, principal: Principal, view_id: uuid.UUID) -> SavedView:
    """One of the caller's views (404 for any other id)."""
    _staff(principal)
    row = await repository.get_view(session, principal.user_id, view_id)
    if row is None:
        raise ViewNotFound()
    return row


async def create_view(session: AsyncSession, principal: Principal, data: ViewCreate) -> SavedView:
    """A new view of the caller's: 409 past the cap or on a name they already use."""
    _staff(principal)
    await repository.lock_owner(session, principal.user_id)
    view_id = new_id()
    if data.is_default:
        await repository.clear_default(session, principal.user_id)
    row = await repository.insert_view(
        session,
        {
            "id": view_id,
            "user_id": principal.user_id,
            "name": data.name,
            "query": data.query.stored(),
            "is_default": data.is_default,
        },
        data.position,
        MAX_VIEWS_PER_USER,
    )
    if row is not None:
        return row
    count, taken = await repository.count_and_name_taken(session, principal.user_id, data.name)
    if taken:
        raise _taken(data.name)
    raise ViewLimitReached(f"You have {count} saved views, the most allowed; delete one first.")


async def update_view(
    session: AsyncSession,
    principal: Principal,
    view_id: uuid.UUID,
    data: ViewUpdate,
    now: datetime,
) -> SavedView:
    """Rename, replace the query, move, or make (or unmake) the default."""
    _staff(principal)
    values: dict[str, Any] = data.model_dump(exclude_unset=True, exclude={"query"})
    values = {k: v for k, v in values.items() if v is not None}
    if data.query is not None:
        values["query"] = data.query.stored()
    if not values:
        return await get_view(session, principal, view_id)
    values["updated_at"] = now
    await repository.lock_owner(session, principal.user_id)
    if data.is_default:
        await repository.clear_default(session, principal.user_id, keep=view_id)
    row = await repository.update_view(session, principal.user_id, view_id, values)
    if row is None:
        await get_view(session, principal, view_id)  # 404 when it is not the caller's
        raise _taken(data.name or "")
    return row


async def delete_view(session: AsyncSession, principal: Principal, view_id: uuid.UUID) -> None:
    """Delete one of the caller's views (404 for any other id)."""
    _staff(principal)
    if not await repository.delete_view(session, principal.user_id, view_id):
        raise ViewNotFound()
