"""The per-request GraphQL context: the request's unit of work, its principal and the DataLoaders.

The context is a FastAPI dependency built from the same dependencies as every REST route
(:func:`helpline.db.get_uow` and :func:`helpline.auth.dependencies.get_principal`), so one
HTTP request is one transaction with the same actor context, the same commit-once and
after-commit semantics, and an authentication failure is the same 401 problem — raised before any
GraphQL parsing or execution.

graphql-core runs sibling resolvers concurrently, but one ``AsyncSession`` admits one statement
at a time: every database access of a resolver or loader goes through :meth:`GraphQLContext.db`
(or :meth:`GraphQLContext.work` for services that take the unit of work), which serializes them.
A resolver never awaits a DataLoader while holding it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.fastapi import BaseContext

from helpline.auth.dependencies import Authenticated
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.config import Settings
from helpline.db import UnitOfWork, UowDep
from helpline.errors import PermissionDenied, ValidationFailed
from helpline.graphql.loaders import Loaders
from helpline.kit.clock import Clock
from helpline.services import services


class GraphQLContext(BaseContext):
    """What every resolver sees as ``info.context``."""

    def __init__(self, http_request: Request, uow: UnitOfWork, principal: Principal) -> None:
        super().__init__()
        self.http_request = http_request
        self.uow = uow
        self.principal = principal
        self.services = services(http_request)
        self.settings: Settings = self.services.settings
        self.clock: Clock = self.services.clock
        self.batched = False  # set by the router for a batch of operations
        self._lock = asyncio.Lock()
        self._loaders: Loaders | None = None
        self._first_operation_charged = False

    def charge_first_operation(self) -> bool:
        """True once: the request's first operation was already counted by ``get_principal``."""
        first, self._first_operation_charged = not self._first_operation_charged, True
        return first

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        """The request's session, for one service call at a time."""
        async with self._lock:
            yield self.uow.session

    @asynccontextmanager
    async def work(self) -> AsyncIterator[UnitOfWork]:
        """The request's unit of work, for one service call at a time."""
        async with self._lock:
            yield self.uow

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self)
        return self._loaders

    @property
    def cursor_secret(self) -> bytes:
        return self.settings.cursor_secret

    def require(self, scope: Scope) -> Principal:
        """The principal, if it holds ``scope`` (role ∩ key scopes), as REST's ``require``."""
        if not self.principal.has(scope):
            raise PermissionDenied(f"This action needs the '{scope.value}' permission.")
        return self.principal


async def get_context(request: Request, uow: UowDep, principal: Authenticated) -> GraphQLContext:
    """FastAPI dependency: the same unit of work and principal resolution as the REST routes."""
    return GraphQLContext(request, uow, principal)


def parse_id(value: Any, field: str) -> uuid.UUID:
    """A GraphQL ``ID`` argument as a UUID, or the same 422 REST gives for a malformed path id."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed(
            f"{field} is not a valid id.",
            errors=[{"loc": ["input", field], "msg": "not a UUID", "type": "uuid_parsing"}],
        ) from None
