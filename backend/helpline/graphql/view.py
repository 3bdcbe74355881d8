"""GraphQL for saved views: the same service, schemas and permissions as `/api/v1/views`
(REST's scope first, then the service's staff and ownership checks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from helpline.auth.permissions import Scope
from helpline.graphql.context import parse_id
from helpline.graphql.ticket import build, given
from helpline.graphql.types import Info
from helpline.view import service as view_service
from helpline.view.schemas import ViewCreate, ViewRead, ViewUpdate


@strawberry.type(description="One of your saved inbox views (as `GET /api/v1/views/{id}`).")
class SavedView:
    id: strawberry.ID
    name: str
    query: JSON = strawberry.field(
        description="The ticket list's filters and sort, by the REST list's query parameter "
        'names (only those set), e.g. `{"status": ["new"], "sort": "sla_due"}`.'
    )
    position: int = strawberry.field(description="Order in the list (ascending; ties by name).")
    is_default: bool = strawberry.field(description="The inbox opens with it.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> SavedView:
        read = ViewRead.model_validate(row)
        return cls(
            id=strawberry.ID(str(read.id)),
            name=read.name,
            query=cast(JSON, read.query.stored()),
            position=read.position,
            is_default=read.is_default,
            created_at=read.created_at,
            updated_at=read.updated_at,
        )


@strawberry.input(description="A new saved view (as `POST /api/v1/views`).")
class CreateViewInput:
    name: str
    query: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="The ticket list's filters and sort (REST's)."
    )
    position: int | None = strawberry.field(
        default=strawberry.UNSET, description="Order (default: after the last)."
    )
    is_default: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Make it your default view."
    )


@strawberry.input(description="Change a saved view: only the fields given change.")
class UpdateViewInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    query: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="The whole query (replaces it)."
    )
    position: int | None = strawberry.UNSET
    is_default: bool | None = strawberry.UNSET


def _values(input: object) -> dict[str, Any]:
    values = {k: v for k, v in given(input).items() if v is not None}
    values.pop("id", None)
    return values


@strawberry.type
class ViewQuery:
    @strawberry.field(description="Your saved views, in order (agents and admins).")
    async def views(self, info: Info) -> list[SavedView]:
        ctx = info.context
        principal = ctx.require(Scope.tickets_read)
        async with ctx.db() as session:
            rows = await view_service.list_views(session, principal)
        return [SavedView.from_row(r) for r in rows]


@strawberry.type
class ViewMutation:
    @strawberry.mutation(description="Save a view (as `POST /api/v1/views`).")
    async def create_view(self, info: Info, input: CreateViewInput) -> SavedView:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        data = build(ViewCreate, _values(input))
        async with ctx.db() as session:
            row = await view_service.create_view(session, principal, data)
        return SavedView.from_row(row)

    @strawberry.mutation(description="Change one of your saved views (as `PATCH`).")
    async def update_view(self, info: Info, input: UpdateViewInput) -> SavedView:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        view_id = parse_id(input.id, "id")
        data = build(ViewUpdate, _values(input))
        async with ctx.db() as session:
            row = await view_service.update_view(session, principal, view_id, data, ctx.clock())
        return SavedView.from_row(row)

    @strawberry.mutation(description="Delete one of your saved views; its id.")
    async def delete_view(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        async with ctx.db() as session:
            await view_service.delete_view(session, principal, parse_id(id, "id"))
        return id
