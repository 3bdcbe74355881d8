"""Users: creation and the lookups other domains need."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.errors import EmailTaken, UserNotFound, ValidationFailed
from helpline.kit.ids import new_id
from helpline.kit.rows import AnyRow
from helpline.models.enums import Role
from helpline.user import repository
from helpline.user.schemas import UserCreate


async def create_user(session: AsyncSession, data: UserCreate) -> AnyRow:
    """Create a user; 409 when the email is taken."""
    row = await repository.insert_user(
        session,
        {"id": new_id(), "email": str(data.email), "name": data.name, "role": data.role.value},
    )
    if row is None:
        raise EmailTaken(f"A user with email {data.email} already exists.")
    return row


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> AnyRow:
    row = await repository.get_user(session, user_id)
    if row is None:
        raise UserNotFound()
    return row


async def get_user_by_email(session: AsyncSession, email: str) -> AnyRow | None:
    """The user with this email (case-insensitive), if any."""
    return await repository.get_user_by_email(session, email)


async def require_user_with_role(
    session: AsyncSession, user_id: uuid.UUID, roles: set[Role], field: str
) -> AnyRow:
    """The active user ``user_id`` with one of ``roles``, or a 422 naming ``field``."""
    row = await repository.get_user(session, user_id)
    if row is None or not row.is_active or Role(row.role) not in roles:
        wanted = " or ".join(sorted(r.value for r in roles))
        raise ValidationFailed(
            f"{field} must reference an active {wanted}.",
            errors=[
                {"loc": ["body", field], "msg": f"not an active {wanted}", "type": "reference"}
            ],
        )
    return row
