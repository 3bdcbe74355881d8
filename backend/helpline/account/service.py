"""Accounts: what a user does with their own credentials — sign in and out, change or reset a
password, create, rotate and revoke API keys (an admin also for others). Resolving credentials
to a principal is :mod:`helpline.auth.credentials`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.account.schemas import ApiKeyCreate, Me
from helpline.auth import keys, principal_cache, repository
from helpline.auth.password_reset import PasswordResetStore
from helpline.auth.permissions import ROLE_SCOPES, Scope
from helpline.auth.principal import Principal
from helpline.auth.ratelimit import RateLimiter, RateLimitResult
from helpline.auth.sessions import SessionData, SessionStore, password_mark
from helpline.db import UnitOfWork
from helpline.errors import (
    ApiKeyNotFound,
    ApiKeyNotRotatable,
    DependencyUnavailable,
    InvalidCredentials,
    PasswordResetTokenInvalid,
    PermissionDenied,
    ScopeNotGrantable,
    ValidationFailed,
)
from helpline.kit.clock import Clock, utcnow
from helpline.kit.ids import new_id
from helpline.kit.passwords import needs_rehash, verify_password
from helpline.kit.rows import AnyRow
from helpline.models import ApiKey
from helpline.models.enums import Role
from helpline.user import service as user_service
from helpline.user.schemas import UserRead

log = structlog.get_logger("helpline.auth")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly created key: the row and the secret, which exists only here."""

    row: ApiKey
    secret: str


async def list_api_keys(session: AsyncSession, user_id: uuid.UUID) -> list[ApiKey]:
    """A user's keys, oldest first."""
    return await repository.list_keys(session, user_id)


async def issue_api_key(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    role: Role,
    name: str,
    pepper: bytes,
    scopes: list[str] | None = None,
    rate_limit_per_minute: int | None = None,
    expires_at: datetime | None = None,
    clock: Clock = utcnow,
    grantable: frozenset[Scope] | None = None,
) -> IssuedKey:
    """Create a key for a user; scopes default to everything the role allows (API and CLI).

    ``grantable`` is what the presenting credentials may hand on (an API key's own scopes;
    None for a cookie session or the command line): the default is then the role's scopes
    within it, and asking for more is 403 ``scope-not-grantable``.
    """
    if expires_at is not None and expires_at <= clock():
        raise ValidationFailed(
            "expires_at must be in the future.",
            errors=[{"loc": ["body", "expires_at"], "msg": "in the past", "type": "value_error"}],
        )
    allowed = {s.value for s in ROLE_SCOPES[role]}
    if scopes is None:
        requested = sorted(allowed & _values(grantable) if grantable is not None else allowed)
    else:
        requested = sorted(set(scopes))
    unknown = [s for s in requested if s not in {sc.value for sc in Scope}]
    beyond = [s for s in requested if s not in allowed and s not in unknown]
    if unknown or beyond:
        raise ValidationFailed(
            "Scopes are unknown or beyond the owner's role.",
            errors=[
                {"loc": ["body", "scopes"], "msg": f"scope {s!r} is not allowed", "type": "scope"}
                for s in unknown + beyond
            ],
        )
    if grantable is not None:
        _refuse_scopes_not_held(requested, grantable)
    secret = keys.generate_key()
    row = await repository.insert_key(
        session,
        key_id=new_id(),
        user_id=user_id,
        name=name,
        prefix=keys.display_prefix(secret),
        key_hash=keys.hash_key(pepper, secret),
        scopes=requested,
        rate_limit_per_minute=rate_limit_per_minute,
        expires_at=expires_at,
    )
    return IssuedKey(row=row, secret=secret)


def _values(scopes: frozenset[Scope]) -> set[str]:
    return {s.value for s in scopes}


def grantable_by(principal: Principal) -> frozenset[Scope] | None:
    """The scopes ``principal`` may put on a key it creates or rotates: an API key's own
    (effective) scopes — a key never mints a broader one; None (the owner's role decides) for a
    cookie session, which already acts with its role's scopes."""
    return principal.scopes if principal.api_key_id is not None else None


def _refuse_scopes_not_held(scopes: list[str], grantable: frozenset[Scope]) -> None:
    missing = sorted(set(scopes) - _values(grantable))
    if missing:
        raise ScopeNotGrantable(
            "An API key can grant only scopes it holds itself; the presenting key lacks "
            + ", ".join(repr(s) for s in missing)
            + ".",
            scopes=missing,
        )


# -- key lifecycle -------------------------------------------------------------------------------
def _may_manage(principal: Principal, owner_id: uuid.UUID) -> bool:
    return owner_id == principal.user_id or principal.is_admin


async def _visible_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    row = await repository.get_key(session, key_id)
    if row is None:
        raise ApiKeyNotFound()
    if not _may_manage(principal, row.user_id):
        raise ApiKeyNotFound().concealing("api_key", key_id)  # someone else's key: audited
    return row


async def list_keys_for(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID | None
) -> list[ApiKey]:
    """The caller's keys, or (admins) another user's."""
    owner = user_id or principal.user_id
    if not _may_manage(principal, owner):
        raise PermissionDenied("Only admins may list another user's keys.")
    return await repository.list_keys(session, owner)


async def get_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    """One key the caller may manage, or 404."""
    return await _visible_key(session, principal, key_id)


async def create_key(
    session: AsyncSession, principal: Principal, data: ApiKeyCreate, *, pepper: bytes, clock: Clock
) -> IssuedKey:
    """Issue a key for the caller (or, for admins, another user) within the owner's role."""
    owner_id = data.user_id or principal.user_id
    if not _may_manage(principal, owner_id):
        raise PermissionDenied("Only admins may create keys for another user.")
    await _refuse_rotated_out_key(session, principal)
    owner = await user_service.get_user(session, owner_id)
    return await issue_api_key(
        session,
        user_id=owner.id,
        role=Role(owner.role),
        name=data.name,
        pepper=pepper,
        scopes=None if data.scopes is None else [s.value for s in data.scopes],
        rate_limit_per_minute=data.rate_limit_per_minute,
        expires_at=data.expires_at,
        clock=clock,
        grantable=grantable_by(principal),
    )


async def revoke_key(
    uow: UnitOfWork, principal: Principal, key_id: uuid.UUID, *, clock: Clock
) -> None:
    """Revoke at once (idempotent): the next lookup on any worker sees revoked_at."""
    session = uow.session
    row = await _visible_key(session, principal, key_id)
    await repository.revoke_key(session, row.id, clock())
    principal_cache.changed_after_commit(uow)


async def _refuse_rotated_out_key(session: AsyncSession, principal: Principal) -> None:
    """A key replaced by rotation still works during its grace period, but mints no keys."""
    if principal.api_key_id is not None and await repository.has_successor(
        session, principal.api_key_id
    ):
        raise PermissionDenied(
            "This key was replaced by rotation: during its grace period it cannot create or "
            "rotate keys; use the new key."
        )


def _is_live(row: ApiKey, now: datetime) -> bool:
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


async def rotate_key(
    uow: UnitOfWork,
    principal: Principal,
    key_id: uuid.UUID,
    *,
    grace_period_seconds: int,
    pepper: bytes,
    clock: Clock,
) -> IssuedKey:
    """Replace a key: same owner, name, scopes and limit; the old one expires after the grace."""
    session = uow.session
    target = await _visible_key(session, principal, key_id)
    await _refuse_rotated_out_key(session, principal)
    now = clock()
    lineage = await repository.lock_lineage(session, target.lineage_id)
    old = next(k for k in lineage if k.id == key_id)
    grantable = grantable_by(principal)
    if grantable is not None:  # the new secret must not carry more than the presenting key
        owner_role = principal.role if old.user_id == principal.user_id else None
        if owner_role is None:
            owner_role = Role((await user_service.get_user(session, old.user_id)).role)
        # Scopes the owner's role no longer allows are inert on either key: not a grant.
        _refuse_scopes_not_held(
            [s for s in old.scopes if s in _values(ROLE_SCOPES[owner_role])], grantable
        )
    if not _is_live(old, now):
        raise ApiKeyNotRotatable("A revoked or expired key cannot be rotated.")
    if any(_is_live(k, now) for k in lineage if k.id != old.id):
        raise ApiKeyNotRotatable(
            "This key's lineage already has another live key; wait for its grace period to end "
            "or revoke it."
        )
    secret = keys.generate_key()
    row = await repository.insert_key(
        session,
        key_id=new_id(),
        user_id=old.user_id,
        name=old.name,
        prefix=keys.display_prefix(secret),
        key_hash=keys.hash_key(pepper, secret),
        scopes=list(old.scopes),
        rate_limit_per_minute=old.rate_limit_per_minute,
        expires_at=old.expires_at,
        lineage_id=old.lineage_id,
        rotated_from_id=old.id,
    )
    grace_end = now + timedelta(seconds=grace_period_seconds)
    if old.expires_at is None or grace_end < old.expires_at:
        await repository.set_key_expiry(session, old.id, grace_end)
        principal_cache.changed_after_commit(uow)
    return IssuedKey(row=row, secret=secret)


# -- sessions ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LoginOutcome:
    token: str
    data: SessionData
    user: AnyRow


async def check_login_limits(
    limiter: RateLimiter | None,
    store: SessionStore,
    *,
    ip: str,
    email: str,
    per_ip: int,
    per_account: int,
) -> RateLimitResult | None:
    """Count a login attempt per IP and per account; raise 429 when either is exhausted.

    The session store is asked first: while it (Redis) is down every attempt is 503 — never a
    429 from the per-process fallback limiter, which would only count attempts that cannot
    succeed anyway.
    """
    await store.ensure_available()
    if limiter is None:
        return None
    by_ip = await limiter.hit("login-ip", ip, per_ip)
    if not by_ip.allowed:
        raise by_ip.exceeded()
    account = keys.hash_key(b"login-account", email.lower()).hex()[:32]  # no email in Redis
    by_account = await limiter.hit("login-account", account, per_account)
    if not by_account.allowed:
        raise by_account.exceeded()
    return by_ip if by_ip.remaining <= by_account.remaining else by_account


async def login(
    uow: UnitOfWork,
    store: SessionStore,
    *,
    email: str,
    password: str,
    mark_secret: bytes,
    clock: Clock,
) -> LoginOutcome:
    """Check a password and prepare a session (stored by :func:`open_session`). Unknown email
    and wrong password look the same.

    While sessions cannot be stored every attempt is 503 (:func:`check_login_limits` asks the
    store first), before any password is checked: an outage must not tell a right password
    (which could not log in) from a wrong one.
    """
    session = uow.session
    candidate = await user_service.get_login_candidate(session, email)
    password_hash = candidate.password_hash if candidate is not None else None
    ok = await verify_password(password_hash, password)
    if candidate is None or not ok or not candidate.is_active:
        raise InvalidCredentials("The email or password is incorrect.")
    if password_hash is not None and needs_rehash(password_hash):
        # Hashed with older argon2 parameters: the plain password is at hand only now. (The new
        # hash changes the session mark, so the user's older sessions end; rare by nature.)
        password_hash = await user_service.rehash_password(session, candidate.id, password)
    token, data = store.prepare(candidate.id, password_mark(mark_secret, password_hash))
    await user_service.record_login(session, candidate.id, clock())
    user = await user_service.get_user(session, candidate.id)
    return LoginOutcome(token=token, data=data, user=user)


async def open_session(store: SessionStore, outcome: LoginOutcome) -> None:
    """Store a prepared login session; 503 when the store fails.

    Not an after-commit effect: a login whose session could not be stored must fail (and roll
    back), never answer 200 with a cookie that names no session. The caller commits right
    after and calls :func:`discard_session` if that commit fails.
    """
    await store.save(outcome.data)


async def discard_session(store: SessionStore, outcome: LoginOutcome) -> None:
    """Remove a stored session whose login did not commit (best effort: its token was never
    handed out, and it expires with the session TTL)."""
    try:
        await store.delete(outcome.data.session_id, outcome.data.user_id)
    except DependencyUnavailable:
        log.warning("could not remove the session of a login that did not commit")


async def change_password(
    uow: UnitOfWork,
    store: SessionStore,
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    mark_secret: bytes,
) -> None:
    """Self-service: the current password is required; every other session of the user ends
    (the caller's own session, if it is one, stays valid)."""
    session = uow.session
    user = await user_service.get_credentials(session, principal.user_id)
    if not await verify_password(user.password_hash, current_password):
        raise ValidationFailed(
            "The current password is incorrect.",
            errors=[{"loc": ["body", "current_password"], "msg": "incorrect", "type": "password"}],
        )
    password_hash = await user_service.set_password(session, principal.user_id, new_password)
    mark = password_mark(mark_secret, password_hash)

    async def end_other_sessions() -> None:
        await store.end_other_sessions(principal.user_id, principal.session_id, mark)

    uow.after_commit(end_other_sessions)


async def issue_password_reset(
    session: AsyncSession, resets: PasswordResetStore, user_id: uuid.UUID
) -> str:
    """A single-use reset token for a user (admins; shown once, replaces an earlier one)."""
    await user_service.get_credentials(session, user_id)  # 404 for an unknown user
    return await resets.issue(user_id)


async def redeem_password_reset(
    uow: UnitOfWork,
    resets: PasswordResetStore,
    store: SessionStore,
    *,
    token: str,
    new_password: str,
) -> None:
    """Set a new password with a reset token; all of the user's sessions end."""
    session = uow.session
    user_id = await resets.peek(token)
    if user_id is None:
        raise PasswordResetTokenInvalid()
    # Strength first: a weak password must not use the token up.
    await user_service.set_password(session, user_id, new_password)
    if await resets.redeem(token) != user_id:  # used concurrently: this change rolls back
        raise PasswordResetTokenInvalid()

    async def end_sessions() -> None:
        await store.delete_all(user_id)

    uow.after_commit(end_sessions)


async def describe_me(session: AsyncSession, principal: Principal) -> Me:
    """The authenticated user and what these credentials may do (key scopes ∩ current role)."""
    user = await user_service.get_user(session, principal.user_id)
    return Me.model_validate(
        {
            **UserRead.model_validate(user).model_dump(),
            "scopes": sorted(s.value for s in principal.scopes),
            "authenticated_by": "session" if principal.session_id else "api_key",
            "api_key_id": principal.api_key_id,
        }
    )


async def logout(store: SessionStore, principal: Principal) -> None:
    """End the caller's session (a no-op for API keys)."""
    if principal.session_id is not None:
        await store.delete(principal.session_id, principal.user_id)
