"""GraphQL for SLA policies' order: the same service, schema and permission as
`PUT /api/v1/sla-policies/order` (REST's scope first, then the service's admin check)."""

from __future__ import annotations

import strawberry

from helpline.auth.permissions import Scope
from helpline.graphql.context import parse_id
from helpline.graphql.ticket import build
from helpline.graphql.types import Info
from helpline.sla import service as sla_service
from helpline.sla.schemas import PolicyOrder, PolicyRead


@strawberry.type(description="An SLA policy's place in the order (as `GET /api/v1/sla-policies`).")
class SlaPolicyPosition:
    id: strawberry.ID
    name: str
    position: int = strawberry.field(description="Lower first; the first match applies.")
    enabled: bool = strawberry.field(description="A disabled policy is skipped when matching.")

    @classmethod
    def of(cls, read: PolicyRead) -> SlaPolicyPosition:
        return cls(
            id=strawberry.ID(str(read.id)),
            name=read.name,
            position=read.position,
            enabled=read.enabled,
        )


@strawberry.type(description="The policies in their new order (as the REST response).")
class SlaPolicyOrder:
    policies: list[SlaPolicyPosition]
    recompute_id: strawberry.ID | None = strawberry.field(
        description="The recomputation of open tickets' clocks queued (null: nothing moved)."
    )


@strawberry.type
class SlaMutation:
    @strawberry.mutation(
        description="Set the order in which SLA policies are tried, in one step: every policy's "
        "id, first tried first (admins; as `PUT /api/v1/sla-policies/order`)."
    )
    async def reorder_sla_policies(self, info: Info, ids: list[strawberry.ID]) -> SlaPolicyOrder:
        ctx = info.context
        principal = ctx.require(Scope.sla_write)
        data = build(PolicyOrder, {"ids": [parse_id(i, "ids") for i in ids]})
        async with ctx.db() as session:
            rows, recompute = await sla_service.reorder_policies(session, principal, data.ids)
        return SlaPolicyOrder(
            policies=[SlaPolicyPosition.of(PolicyRead.model_validate(r)) for r in rows],
            recompute_id=None if recompute is None else strawberry.ID(str(recompute)),
        )
