"""Per-request DataLoaders: one query per relation per request, whatever the number of parents.

Each batch function calls a service (never a repository) under the context's session lock.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from helpline.auth.principal import Principal
from helpline.conversation import service as conversation_service
from helpline.history import service as history_service
from helpline.history.service import HistoryPage
from helpline.kit.rows import AnyRow
from helpline.metadata import service as metadata_service
from helpline.sla import service as sla_service
from helpline.sla.schemas import TicketSla
from helpline.ticket import reads as ticket_reads
from helpline.user import service as user_service


class LoaderContext(Protocol):
    """What the loaders need of the request's GraphQL context (which holds them)."""

    principal: Principal

    def db(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    @property
    def cursor_secret(self) -> bytes: ...


TicketAndCount = tuple[uuid.UUID, int]


class Loaders:
    """The DataLoaders of one request (their caches live as long as the request)."""

    def __init__(self, ctx: LoaderContext) -> None:
        self.ctx = ctx
        self.users: DataLoader[uuid.UUID, AnyRow | None] = DataLoader(self._users)
        self.metadata: DataLoader[uuid.UUID, dict[str, Any]] = DataLoader(self._metadata)
        self.first_messages: DataLoader[TicketAndCount, list[AnyRow]] = DataLoader(
            self._messages(newest=False)
        )
        self.last_messages: DataLoader[TicketAndCount, list[AnyRow]] = DataLoader(
            self._messages(newest=True)
        )
        self.history: DataLoader[TicketAndCount, HistoryPage] = DataLoader(self._history)
        self.sla: DataLoader[uuid.UUID, TicketSla | None] = DataLoader(self._sla)
        self.unread: DataLoader[uuid.UUID, bool | None] = DataLoader(self._unread)

    async def _unread(self, ids: list[uuid.UUID]) -> list[bool | None]:
        async with self.ctx.db() as session:
            found = await ticket_reads.unread_of_tickets(
                session, self.ctx.principal, list(set(ids))
            )
        return [found.get(i) for i in ids]

    async def _sla(self, ids: list[uuid.UUID]) -> list[TicketSla | None]:
        async with self.ctx.db() as session:
            found = await sla_service.sla_of_tickets(session, list(set(ids)))
        return [found.get(i) for i in ids]

    async def _users(self, ids: list[uuid.UUID]) -> list[AnyRow | None]:
        async with self.ctx.db() as session:
            found = await user_service.get_visible_users(
                session, self.ctx.principal, list(set(ids))
            )
        return [found.get(i) for i in ids]

    async def _metadata(self, ids: list[uuid.UUID]) -> list[dict[str, Any]]:
        async with self.ctx.db() as session:
            maps = await metadata_service.metadata_of_tickets(
                session, self.ctx.principal, list(set(ids))
            )
        return [maps.get(i, {}) for i in ids]

    def _messages(
        self, *, newest: bool
    ) -> Callable[[list[TicketAndCount]], Awaitable[list[list[AnyRow]]]]:
        async def load(keys: list[TicketAndCount]) -> list[list[AnyRow]]:
            # One window query per distinct page size (a query asks for one size per field).
            by_count: dict[int, set[uuid.UUID]] = defaultdict(set)
            for ticket_id, count in keys:
                by_count[count].add(ticket_id)
            found: dict[TicketAndCount, list[AnyRow]] = {}
            async with self.ctx.db() as session:
                for count, ids in by_count.items():
                    rows = await conversation_service.messages_of_tickets(
                        session, self.ctx.principal, sorted(ids), count, newest=newest
                    )
                    found.update({(i, count): r for i, r in rows.items()})
            return [found.get(key, []) for key in keys]

        return load

    async def _history(self, keys: list[TicketAndCount]) -> list[HistoryPage]:
        by_count: dict[int, set[uuid.UUID]] = defaultdict(set)
        for ticket_id, count in keys:
            by_count[count].add(ticket_id)
        found: dict[TicketAndCount, HistoryPage] = {}
        async with self.ctx.db() as session:
            for count, ids in by_count.items():
                pages = await history_service.history_of_tickets(
                    session, self.ctx.principal, sorted(ids), count, self.ctx.cursor_secret
                )
                found.update({(i, count): page for i, page in pages.items()})
        return [found[key] for key in keys]
