"""Users, the caller and API keys: thin resolvers over the user and auth services."""

from __future__ import annotations

from datetime import datetime

import strawberry

from helpline.account import service as account_service
from helpline.account.endpoints import password_resets
from helpline.account.schemas import ApiKeyCreate, ApiKeyRotate, PasswordChange
from helpline.auth import credentials
from helpline.auth.dependencies import session_store
from helpline.auth.permissions import Scope
from helpline.graphql.context import GraphQLContext, parse_id
from helpline.graphql.ticket import build, given
from helpline.graphql.types import Connection, Edge, Info, PageInfo, User, check_page_size
from helpline.kit.pagination import DEFAULT_LIMIT
from helpline.models import ApiKey as ApiKeyRow
from helpline.models.enums import Role
from helpline.user import service as user_service
from helpline.user.schemas import UserCreate, UserUpdate


@strawberry.type(
    description="The caller: its user and the effective permissions of its credentials."
)
class Me:
    user: User
    scopes: list[str] = strawberry.field(description="Key scopes ∩ the current role.")
    authenticated_by: str = strawberry.field(description="`api_key` or `session`.")
    api_key_id: strawberry.ID | None


@strawberry.type(description="An API key (never its secret).")
class ApiKey:
    id: strawberry.ID
    user_id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="First characters of the key, to recognise it.")
    scopes: list[str]
    rate_limit_per_minute: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime
    lineage_id: strawberry.ID
    rotated_from_id: strawberry.ID | None

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=strawberry.ID(str(row.id)),
            user_id=strawberry.ID(str(row.user_id)),
            name=row.name,
            prefix=row.prefix,
            scopes=list(row.scopes),
            rate_limit_per_minute=row.rate_limit_per_minute,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
            created_at=row.created_at,
            lineage_id=strawberry.ID(str(row.lineage_id)),
            rotated_from_id=None
            if row.rotated_from_id is None
            else strawberry.ID(str(row.rotated_from_id)),
        )


@strawberry.type(description="A new key and its secret (shown only here).")
class CreatedApiKey:
    api_key: ApiKey
    key: str = strawberry.field(description="The secret; store it now.")


@strawberry.input(description="Users list filters (the REST query parameters).")
class UserFilterInput:
    role: Role | None = None
    is_active: bool | None = None
    email: str | None = None


@strawberry.type
class UserQuery:
    @strawberry.field(description="The caller (as `GET /api/v1/auth/me`).")
    async def me(self, info: Info) -> Me:
        ctx = info.context
        async with ctx.db() as session:
            row = await user_service.get_user(session, ctx.principal.user_id)
        p = ctx.principal
        return Me(
            user=User.from_row(row),
            scopes=sorted(s.value for s in p.scopes),
            authenticated_by="session" if p.session_id else "api_key",
            api_key_id=None if p.api_key_id is None else strawberry.ID(str(p.api_key_id)),
        )

    @strawberry.field(description="A user: anyone for `users:read`, otherwise only yourself.")
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        ctx = info.context
        async with ctx.db() as session:
            row = await user_service.get_visible_user(session, ctx.principal, parse_id(id, "id"))
        return User.from_row(row)

    @strawberry.field(description="Users, newest first (`users:read`).")
    async def users(
        self,
        info: Info,
        filter: UserFilterInput | None = None,
        first: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Connection[User]:
        ctx = info.context
        ctx.require(Scope.users_read)
        check_page_size(first, "first")
        f = filter or UserFilterInput()
        async with ctx.db() as session:
            page = await user_service.list_users(
                session,
                user_service.UserFilters(role=f.role, is_active=f.is_active, email=f.email),
                limit=first,
                cursor=after,
                cursor_secret=ctx.cursor_secret,
            )
        # The user service hands out only the cursor after a page's last row.
        edges = [Edge(cursor=page.next_cursor or "", node=User.from_row(r)) for r in page.rows]
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor
            ),
        )

    @strawberry.field(description="Your API keys (admins: any user's with `userId`).")
    async def api_keys(self, info: Info, user_id: strawberry.ID | None = None) -> list[ApiKey]:
        ctx = info.context
        principal = ctx.require(Scope.api_keys_write)
        owner = None if user_id is None else parse_id(user_id, "userId")
        async with ctx.db() as session:
            rows = await account_service.list_keys_for(session, principal, owner)
        return [ApiKey.from_row(r) for r in rows]


@strawberry.input(description="A new user (admins only).")
class CreateUserInput:
    email: str
    name: str
    role: Role
    password: str | None = strawberry.UNSET


@strawberry.input(description="An admin's change to a user; only the fields given change.")
class UpdateUserInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    role: Role | None = strawberry.UNSET
    is_active: bool | None = strawberry.UNSET
    password: str | None = strawberry.UNSET


@strawberry.input(description="A new API key for the caller (admins: for `userId`).")
class CreateApiKeyInput:
    name: str
    scopes: list[str] | None = strawberry.UNSET
    expires_at: datetime | None = strawberry.UNSET
    rate_limit_per_minute: int | None = strawberry.UNSET
    user_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input(description="Rotate a key; the old one works for the grace period.")
class RotateApiKeyInput:
    id: strawberry.ID
    grace_period_seconds: int | None = strawberry.UNSET


@strawberry.input(description="Revoke a key at once.")
class RevokeApiKeyInput:
    id: strawberry.ID


@strawberry.type
class RevokeApiKeyPayload:
    id: strawberry.ID


@strawberry.input(description="Change the caller's password (the current one is required).")
class ChangePasswordInput:
    current_password: str
    new_password: str = strawberry.field(
        description="At least 12 characters, not common, not the email or name."
    )


@strawberry.type
class ChangePasswordPayload:
    ok: bool = strawberry.field(description="True: every other session of the user has ended.")


@strawberry.input(description="Issue a single-use password reset token for a user (admins).")
class IssuePasswordResetInput:
    user_id: strawberry.ID


@strawberry.type(description="A password reset token: shown once; redeem it over REST.")
class PasswordResetToken:
    user_id: strawberry.ID
    token: str = strawberry.field(
        description="Redeem with `POST /api/v1/auth/password-reset`; a new token replaces it."
    )
    expires_in: int = strawberry.field(description="Seconds until the token expires.")


def _pepper(ctx: GraphQLContext) -> bytes:
    return ctx.settings.api_key_pepper.get_secret_value().encode()


def _created(issued: account_service.IssuedKey) -> CreatedApiKey:
    return CreatedApiKey(api_key=ApiKey.from_row(issued.row), key=issued.secret)


@strawberry.type
class UserMutation:
    @strawberry.mutation(description="Create a user (as `POST /api/v1/users`; `users:write`).")
    async def create_user(self, info: Info, input: CreateUserInput) -> User:
        ctx = info.context
        ctx.require(Scope.users_write)
        data = build(UserCreate, given(input))
        async with ctx.db() as session:
            row = await user_service.create_user(
                session, data, public_domains_only=ctx.settings.email_public_domains_only
            )
        return User.from_row(row)

    @strawberry.mutation(description="Update a user (as `PATCH /api/v1/users/{id}`).")
    async def update_user(self, info: Info, input: UpdateUserInput) -> User:
        ctx = info.context
        principal = ctx.require(Scope.users_write)
        values = given(input)
        user_id = parse_id(values.pop("id"), "id")
        data = build(UserUpdate, values)
        sessions = session_store(ctx.http_request)
        async with ctx.work() as uow:
            row = await user_service.update_user(
                uow,
                user_id,
                data,
                sessions.delete_all,
                credentials.revoke_keys_of_user,
                acting_user=principal.user_id,
            )
        return User.from_row(row)

    @strawberry.mutation(description="Create an API key (as `POST /api/v1/api-keys`).")
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreatedApiKey:
        ctx = info.context
        principal = ctx.require(Scope.api_keys_write)
        values = given(input)
        if values.get("user_id") is not None:
            values["user_id"] = parse_id(values["user_id"], "userId")
        data = build(ApiKeyCreate, values)
        async with ctx.db() as session:
            issued = await account_service.create_key(
                session, principal, data, pepper=_pepper(ctx), clock=ctx.clock
            )
        return _created(issued)

    @strawberry.mutation(description="Rotate an API key (as `POST …/{id}/rotate`).")
    async def rotate_api_key(self, info: Info, input: RotateApiKeyInput) -> CreatedApiKey:
        ctx = info.context
        principal = ctx.require(Scope.api_keys_write)
        values = given(input)
        key_id = parse_id(values.pop("id"), "id")
        body = build(ApiKeyRotate, values)
        async with ctx.work() as uow:
            issued = await account_service.rotate_key(
                uow,
                principal,
                key_id,
                grace_period_seconds=body.grace_period_seconds,
                pepper=_pepper(ctx),
                clock=ctx.clock,
            )
        return _created(issued)

    @strawberry.mutation(description="Revoke an API key (as `DELETE /api/v1/api-keys/{id}`).")
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
        ctx = info.context
        principal = ctx.require(Scope.api_keys_write)
        async with ctx.work() as uow:
            await account_service.revoke_key(
                uow, principal, parse_id(input.id, "id"), clock=ctx.clock
            )
        return RevokeApiKeyPayload(id=input.id)

    @strawberry.mutation(description="Change my password (as `POST /api/v1/auth/password`).")
    async def change_password(
        self, info: Info, input: ChangePasswordInput
    ) -> ChangePasswordPayload:
        ctx = info.context
        data = build(PasswordChange, given(input))
        async with ctx.work() as uow:
            await account_service.change_password(
                uow,
                session_store(ctx.http_request),
                ctx.principal,
                current_password=data.current_password.get_secret_value(),
                new_password=data.new_password.get_secret_value(),
                mark_secret=ctx.settings.secret_key.get_secret_value().encode(),
            )
        return ChangePasswordPayload(ok=True)

    @strawberry.mutation(
        description="Issue a password reset token (as `POST /api/v1/users/{id}/password-reset`)."
    )
    async def issue_password_reset(
        self, info: Info, input: IssuePasswordResetInput
    ) -> PasswordResetToken:
        ctx = info.context
        ctx.require(Scope.users_write)
        user_id = parse_id(input.user_id, "userId")
        resets = password_resets(ctx.http_request)
        async with ctx.db() as session:
            token = await account_service.issue_password_reset(session, resets, user_id)
        return PasswordResetToken(
            user_id=strawberry.ID(str(user_id)), token=token, expires_in=resets.ttl
        )
