"""The change feed in GraphQL: a thin resolver over the same service as `GET /api/v1/events`."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from helpline.auth.permissions import Scope
from helpline.events import service as events_service
from helpline.events.schemas import EventRead
from helpline.graphql.context import parse_id
from helpline.graphql.types import Connection, Edge, Info, PageInfo, check_page_size
from helpline.models.event import EventType

strawberry.enum(EventType, description="Kind of change-feed event.")


@strawberry.type(description="One committed change of a ticket (as `GET /api/v1/events`).")
class Event:
    id: strawberry.ID
    type: EventType
    occurred_at: datetime
    ticket_id: strawberry.ID
    actor_id: strawberry.ID | None
    data: JSON = strawberry.field(description="What changed; shape per type (see the REST docs).")

    @classmethod
    def from_read(cls, e: EventRead) -> Event:
        return cls(
            id=strawberry.ID(str(e.id)),
            type=e.type,
            occurred_at=e.occurred_at,
            ticket_id=strawberry.ID(str(e.ticket_id)),
            actor_id=None if e.actor_id is None else strawberry.ID(str(e.actor_id)),
            data=cast(JSON, e.data),
        )


@strawberry.type
class EventsQuery:
    @strawberry.field(description="The change feed (as `GET /api/v1/events`): resume with `after`.")
    async def events(
        self,
        info: Info,
        first: int = 100,
        after: str | None = None,
        types: list[EventType] | None = None,
        ticket_id: strawberry.ID | None = None,
    ) -> Connection[Event]:
        ctx = info.context
        principal = ctx.require(Scope.tickets_read)
        check_page_size(first, "first")
        async with ctx.db() as session:
            page = await events_service.read_feed(
                session,
                principal,
                after=after,
                types=tuple(sorted(t.value for t in types or ())),
                ticket_id=None if ticket_id is None else parse_id(ticket_id, "ticketId"),
                limit=first,
                cursor_secret=ctx.cursor_secret,
            )
        return Connection(
            edges=[Edge(cursor=e.cursor, node=Event.from_read(e)) for e in page.events],
            page_info=PageInfo(has_next_page=page.has_more, end_cursor=page.next_cursor),
        )
