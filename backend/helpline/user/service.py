"""Users: creation, administration and the lookups other domains need."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth import principal_cache
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.db import UnitOfWork
from helpline.errors import (
    EmailTaken,
    LastAdmin,
    PermissionDenied,
    SelfDemotion,
    UserNotFound,
    ValidationFailed,
)
from helpline.kit.emails import normalize_email
from helpline.kit.ids import new_id
from helpline.kit.pagination import Keyset, KeysetPage, time_and_id, time_and_id_of
from helpline.kit.passwords import hash_password, password_problems
from helpline.kit.rows import AnyRow
from helpline.models.enums import Role
from helpline.user import repository
from helpline.user.schemas import UserCreate, UserUpdate

EndSessions = Callable[[uuid.UUID], Awaitable[None]]
# Revokes a user's live API keys in the caller's transaction (the auth domain owns keys).
RevokeKeys = Callable[[AsyncSession, uuid.UUID], Awaitable[None]]
USER_SORT = "-created_at"


@dataclass(frozen=True, slots=True)
class UserFilters:
    role: Role | None = None
    is_active: bool | None = None
    email: str | None = None
    staff: bool | None = None  # agents and admins (True), customers (False)


# Newest first.
USER_KEYSET: Keyset[Any, tuple[datetime, uuid.UUID]] = Keyset(
    USER_SORT, time_and_id_of(lambda r: r.created_at), time_and_id(uuid.UUID)
)


async def _checked_password_hash(password: str, *, email: str, name: str) -> str:
    problems = password_problems(password, email=email, name=name)
    if problems:
        raise ValidationFailed(
            "The password is too weak.",
            errors=[{"loc": ["body", "password"], "msg": p, "type": "password"} for p in problems],
        )
    return await asyncio.to_thread(hash_password, password)  # slow by design: off the loop


async def create_user(
    session: AsyncSession, data: UserCreate, *, public_domains_only: bool = False
) -> AnyRow:
    """Create a user; 409 when the email is taken, 422 when the password is weak.

    ``public_domains_only`` (setting ``email_public_domains_only``) refuses addresses under
    special-use domains such as ``.local``; the schema accepts any syntactically valid address.
    """
    if public_domains_only:
        try:
            normalize_email(str(data.email), public_only=True)
        except ValueError as exc:
            raise ValidationFailed(
                str(exc),
                errors=[{"loc": ["body", "email"], "msg": str(exc), "type": "value_error"}],
            ) from None
    values: dict[str, Any] = {
        "id": new_id(),
        "email": str(data.email),
        "name": data.name,
        "role": data.role.value,
    }
    if data.password is not None:
        values["password_hash"] = await _checked_password_hash(
            data.password.get_secret_value(), email=str(data.email), name=data.name
        )
    row = await repository.insert_user(session, values)
    if row is None:
        raise EmailTaken(f"A user with email {data.email} already exists.")
    return row


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> AnyRow:
    row = await repository.get_user(session, user_id)
    if row is None:
        raise UserNotFound()
    return row


async def get_visible_user(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID
) -> AnyRow:
    """A user the caller may see: anyone for `users:read`, otherwise only themselves."""
    if user_id != principal.user_id and not principal.has(Scope.users_read):
        raise UserNotFound()
    return await get_user(session, user_id)


async def list_users(
    session: AsyncSession,
    filters: UserFilters,
    *,
    limit: int,
    cursor: str | None,
    cursor_secret: bytes,
) -> KeysetPage[AnyRow]:
    """One keyset page of users, newest first."""
    after = USER_KEYSET.after(cursor_secret, cursor)
    rows = await repository.list_users(
        session,
        role=filters.role.value if filters.role else None,
        is_active=filters.is_active,
        email=filters.email,
        staff=filters.staff,
        limit=limit,
        after=after,
    )
    return USER_KEYSET.page(cursor_secret, rows, limit)


async def staff_directory(
    session: AsyncSession, principal: Principal, limit: int
) -> tuple[list[AnyRow], bool]:
    """Active agents and admins by name, at most ``limit``, and whether more exist (callers
    with `users:read`)."""
    if not principal.has(Scope.users_read):
        raise PermissionDenied("Reading the staff directory needs `users:read`.")
    rows = await repository.list_staff_directory(session, limit)
    return rows[:limit], len(rows) > limit


async def update_user(
    uow: UnitOfWork,
    user_id: uuid.UUID,
    data: UserUpdate,
    end_sessions: EndSessions,
    revoke_keys: RevokeKeys,
    *,
    acting_user: uuid.UUID | None = None,
) -> AnyRow:
    """Apply an admin's change; deactivation or a new password ends the user's sessions.

    ``acting_user`` (the admin making the change) cannot demote or deactivate themselves: one
    slip of a select would lock them out, or leave the team without the admin it counted on.

    Deactivation also revokes the user's keys, so that a later reactivation does not bring them
    back to life: the admin issues new keys deliberately.
    """
    session = uow.session
    current = await repository.lock_user(session, user_id)
    if current is None:
        raise UserNotFound()
    values: dict[str, Any] = {}
    if data.name is not None:
        values["name"] = data.name
    if data.role is not None:
        values["role"] = data.role.value
    if data.is_active is not None:
        values["is_active"] = data.is_active
    if data.password is not None:
        values["password_hash"] = await _checked_password_hash(
            data.password.get_secret_value(),
            email=current.email,
            name=data.name or current.name,
        )
    if not values:
        return current
    loses_admin = current.role == Role.admin.value and current.is_active
    loses_admin = loses_admin and (
        values.get("role", Role.admin.value) != Role.admin.value or values.get("is_active") is False
    )
    if loses_admin and acting_user == user_id:
        raise SelfDemotion("Ask another admin to change your own role or to deactivate you.")
    if loses_admin and await repository.count_active_admins(session) <= 1:
        raise LastAdmin("At least one active admin must remain.")
    row = await repository.update_user(session, user_id, values)
    if row is None:
        raise UserNotFound()
    if values.get("is_active") is False and current.is_active:
        await revoke_keys(session, user_id)
    if values.get("is_active") is False or "password_hash" in values:
        uow.after_commit(lambda: end_sessions(user_id))
    if "role" in values or "is_active" in values:
        principal_cache.changed_after_commit(uow)  # cached keys of this user re-resolve
    return row


async def deactivate_user(
    uow: UnitOfWork,
    user_id: uuid.UUID,
    end_sessions: EndSessions,
    revoke_keys: RevokeKeys,
    *,
    acting_user: uuid.UUID | None = None,
) -> None:
    """Deactivate (never delete) a user: keys are revoked and sessions end at once."""
    await update_user(
        uow,
        user_id,
        UserUpdate(is_active=False),
        end_sessions,
        revoke_keys,
        acting_user=acting_user,
    )


async def get_user_by_email(session: AsyncSession, email: str) -> AnyRow | None:
    """The user with this email (case-insensitive), if any."""
    return await repository.get_user_by_email(session, email)


async def get_login_candidate(session: AsyncSession, email: str) -> AnyRow | None:
    """id, role, is_active and password_hash of the account with this email, if any."""
    return await repository.get_login_candidate(session, email)


async def get_credentials(session: AsyncSession, user_id: uuid.UUID) -> AnyRow:
    """id, email, name, is_active and password_hash of a user, or 404."""
    row = await repository.get_credentials(session, user_id)
    if row is None:
        raise UserNotFound()
    return row


async def set_password(
    session: AsyncSession, user_id: uuid.UUID, password: str, *, loc: str = "new_password"
) -> str:
    """Store a new (strength-checked) password; returns its hash. Ending sessions is the
    caller's business (a self-service change keeps the caller's own session)."""
    user = await get_credentials(session, user_id)
    problems = password_problems(password, email=user.email, name=user.name)
    if problems:
        raise ValidationFailed(
            "The password is too weak.",
            errors=[{"loc": ["body", loc], "msg": p, "type": "password"} for p in problems],
        )
    password_hash = await asyncio.to_thread(hash_password, password)
    await repository.set_password_hash(session, user_id, password_hash)
    return password_hash


async def rehash_password(session: AsyncSession, user_id: uuid.UUID, password: str) -> str:
    """Re-hash a verified password with the current argon2 parameters; returns the new hash."""
    password_hash = await asyncio.to_thread(hash_password, password)
    await repository.set_password_hash(session, user_id, password_hash)
    return password_hash


async def record_login(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    await repository.set_last_login(session, user_id, at)


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


async def get_visible_users(
    session: AsyncSession, principal: Principal, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, AnyRow]:
    """Many users in one query, with the rule of :func:`get_visible_user` (unseen ids absent)."""
    if not principal.has(Scope.users_read):
        user_ids = [u for u in user_ids if u == principal.user_id]
    if not user_ids:
        return {}
    return {row.id: row for row in await repository.get_users(session, user_ids)}
