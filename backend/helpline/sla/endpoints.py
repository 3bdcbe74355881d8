"""REST endpoints for calendars and SLA policies (admins), and a ticket's clocks (staff)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from helpline.auth.dependencies import require
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.errors import (
    InvalidCursorError,
    PermissionDenied,
    SlaCalendarInUse,
    SlaCalendarNotFound,
    SlaNameTaken,
    SlaPolicyInvalid,
    SlaPolicyNotFound,
    SlaPolicyOrderStale,
    ValidationFailed,
)
from helpline.http import IDEMPOTENT, JSON_BODY, UNSAFE, problem_responses
from helpline.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from helpline.models.enums import TicketPriority, TicketStatus
from helpline.services import services
from helpline.sla import service
from helpline.sla.schemas import (
    CalendarCreate,
    CalendarRead,
    CalendarUpdate,
    CalendarWritten,
    ClockRead,
    HolidaySeed,
    PolicyCreate,
    PolicyOrder,
    PolicyOrderWritten,
    PolicyRead,
    PolicyUpdate,
    PolicyWritten,
    RecomputeRead,
    SlaQueueItem,
    TicketSla,
)

calendars_router = APIRouter(
    route_class=UnitOfWorkRoute, prefix="/api/v1/calendars", tags=["service levels"]
)
policies_router = APIRouter(
    route_class=UnitOfWorkRoute, prefix="/api/v1/sla-policies", tags=["service levels"]
)
queue_router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/sla", tags=["service levels"])
clocks_router = APIRouter(
    route_class=UnitOfWorkRoute, prefix="/api/v1/tickets", tags=["service levels"]
)

Admin = Annotated[Principal, require(Scope.sla_write)]
Reader = Annotated[Principal, require(Scope.tickets_read)]
CalendarId = Annotated[uuid.UUID, Path(description="Calendar id.")]
PolicyId = Annotated[uuid.UUID, Path(description="SLA policy id.")]


# -- calendars -----------------------------------------------------------------------------------
@calendars_router.post(
    "",
    status_code=201,
    summary="Create a calendar",
    description="Business hours in an IANA time zone: weekly intervals (several a day; an "
    "`end` not after `start` runs overnight), and holidays — one-off `date`s or yearly "
    "`month`/`day` rules — on which the whole local date is closed. Admins (`sla:write`).",
    operation_id="createCalendar",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, *IDEMPOTENT, SlaNameTaken, SlaPolicyInvalid
    ),
)
async def create_calendar(
    request: Request, session: SessionDep, principal: Admin, body: CalendarCreate
) -> CalendarRead:
    row = await service.create_calendar(session, principal, body, now=services(request).clock())
    return CalendarRead.model_validate(row)


@calendars_router.get(
    "",
    summary="List calendars",
    description="Every calendar, by name.",
    operation_id="listCalendars",
    responses=problem_responses(PermissionDenied),
)
async def list_calendars(session: SessionDep, principal: Admin) -> list[CalendarRead]:
    return [
        CalendarRead.model_validate(r) for r in await service.list_calendars(session, principal)
    ]


@calendars_router.get(
    "/{calendar_id}",
    summary="Get a calendar",
    description="One calendar.",
    operation_id="getCalendar",
    responses=problem_responses(PermissionDenied, SlaCalendarNotFound),
)
async def get_calendar(
    session: SessionDep, principal: Admin, calendar_id: CalendarId
) -> CalendarRead:
    return CalendarRead.model_validate(await service.get_calendar(session, principal, calendar_id))


@calendars_router.patch(
    "/{calendar_id}",
    summary="Update a calendar",
    description="Changes the given fields. When a policy uses the calendar, every open "
    "ticket's deadlines are recomputed by a job: `recompute_id` names it "
    "(`GET /api/v1/sla-policies/recomputes/{id}` shows its progress).",
    operation_id="updateCalendar",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, SlaCalendarNotFound, SlaNameTaken, SlaPolicyInvalid
    ),
)
async def update_calendar(
    request: Request,
    session: SessionDep,
    principal: Admin,
    calendar_id: CalendarId,
    body: CalendarUpdate,
) -> CalendarWritten:
    row, recompute = await service.update_calendar(
        session, principal, calendar_id, body, now=services(request).clock()
    )
    return CalendarWritten(**CalendarRead.model_validate(row).model_dump(), recompute_id=recompute)


@calendars_router.post(
    "/{calendar_id}/holidays/seed",
    summary="Add a country's public holidays",
    description="Adds the public holidays of `country` (ISO 3166-1, optionally a "
    "`subdivision`) for the given `years`, from the `holidays` package, as one-off dates (named; "
    "dates already in the calendar are kept as they are). Like an update, it recomputes open "
    "tickets when a policy uses the calendar.",
    operation_id="seedCalendarHolidays",
    responses=problem_responses(PermissionDenied, *UNSAFE, *JSON_BODY, SlaCalendarNotFound),
)
async def seed_calendar_holidays(
    request: Request,
    session: SessionDep,
    principal: Admin,
    calendar_id: CalendarId,
    body: HolidaySeed,
) -> CalendarWritten:
    row, recompute = await service.seed_holidays(
        session, principal, calendar_id, body, now=services(request).clock()
    )
    return CalendarWritten(**CalendarRead.model_validate(row).model_dump(), recompute_id=recompute)


@calendars_router.delete(
    "/{calendar_id}",
    status_code=204,
    summary="Delete a calendar",
    description="Only a calendar that no policy uses (else `409 sla-calendar-in-use`).",
    operation_id="deleteCalendar",
    responses=problem_responses(PermissionDenied, *UNSAFE, SlaCalendarNotFound, SlaCalendarInUse),
)
async def delete_calendar(
    session: SessionDep, principal: Admin, calendar_id: CalendarId
) -> Response:
    await service.delete_calendar(session, principal, calendar_id)
    return Response(status_code=204)


# -- policies ------------------------------------------------------------------------------------
def _written(row: object, recompute: uuid.UUID) -> PolicyWritten:
    return PolicyWritten(**PolicyRead.model_validate(row).model_dump(), recompute_id=recompute)


@policies_router.post(
    "",
    status_code=201,
    summary="Create an SLA policy",
    description="Policies are ordered by `position`; the first enabled one whose `conditions` "
    "all hold for a ticket (priority, customer, mailbox, metadata) applies. `targets` give, per "
    "priority, the time allowed for the first response, each next response (after a customer "
    "message) and resolution, in the calendar's business time or in calendar time. Statuses in "
    "`pause_statuses` pause the clocks. A response is a public message by staff — never an "
    "internal note or an automatic message. Open tickets are recomputed by a job "
    "(`recompute_id`).",
    operation_id="createSlaPolicy",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, *IDEMPOTENT, SlaNameTaken, SlaPolicyInvalid
    ),
)
async def create_policy(session: SessionDep, principal: Admin, body: PolicyCreate) -> PolicyWritten:
    row, recompute = await service.create_policy(session, principal, body)
    return _written(row, recompute)


@policies_router.get(
    "",
    summary="List SLA policies",
    description="Every policy in the order they are tried.",
    operation_id="listSlaPolicies",
    responses=problem_responses(PermissionDenied),
)
async def list_policies(session: SessionDep, principal: Admin) -> list[PolicyRead]:
    return [PolicyRead.model_validate(r) for r in await service.list_policies(session, principal)]


@policies_router.get(
    "/recomputes/{recompute_id}",
    summary="Progress of a recomputation",
    description="A recomputation of open tickets' clocks after a policy or calendar change: "
    "`state`, `total` open tickets, `done` so far.",
    operation_id="getSlaRecompute",
    responses=problem_responses(PermissionDenied, SlaPolicyNotFound),
)
async def get_recompute(
    session: SessionDep,
    principal: Admin,
    recompute_id: Annotated[uuid.UUID, Path(description="Recomputation id.")],
) -> RecomputeRead:
    row = await service.get_recompute(session, principal, recompute_id)
    return RecomputeRead.model_validate(row)


@policies_router.put(
    "/order",
    summary="Reorder the SLA policies",
    description="Sets the order in which policies are tried, in one step: the body lists every "
    "policy's id, first tried first. A list that is not exactly the current policies (one "
    "missing, unknown or repeated) changes nothing: `409 sla-policy-order-stale` (a repeat is "
    "`422`). When any policy moved, open tickets' clocks are recomputed (a job; its id is "
    "`recompute_id`). Admins (`sla:write`).",
    operation_id="reorderSlaPolicies",
    responses=problem_responses(PermissionDenied, *UNSAFE, *JSON_BODY, SlaPolicyOrderStale),
)
async def reorder_policies(
    session: SessionDep, principal: Admin, body: PolicyOrder
) -> PolicyOrderWritten:
    rows, recompute = await service.reorder_policies(session, principal, body.ids)
    return PolicyOrderWritten(
        policies=[PolicyRead.model_validate(r) for r in rows], recompute_id=recompute
    )


@policies_router.get(
    "/{policy_id}",
    summary="Get an SLA policy",
    description="One policy.",
    operation_id="getSlaPolicy",
    responses=problem_responses(PermissionDenied, SlaPolicyNotFound),
)
async def get_policy(session: SessionDep, principal: Admin, policy_id: PolicyId) -> PolicyRead:
    return PolicyRead.model_validate(await service.get_policy(session, principal, policy_id))


@policies_router.patch(
    "/{policy_id}",
    summary="Update an SLA policy",
    description="Changes the given fields; open tickets are recomputed by a job (`recompute_id`).",
    operation_id="updateSlaPolicy",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, SlaPolicyNotFound, SlaNameTaken, SlaPolicyInvalid
    ),
)
async def update_policy(
    session: SessionDep, principal: Admin, policy_id: PolicyId, body: PolicyUpdate
) -> PolicyWritten:
    row, recompute = await service.update_policy(session, principal, policy_id, body)
    return _written(row, recompute)


@policies_router.delete(
    "/{policy_id}",
    status_code=204,
    summary="Delete an SLA policy",
    description="Tickets it applied to fall to the next matching policy (a recompute job).",
    operation_id="deleteSlaPolicy",
    responses=problem_responses(PermissionDenied, *UNSAFE, SlaPolicyNotFound),
)
async def delete_policy(session: SessionDep, principal: Admin, policy_id: PolicyId) -> Response:
    await service.delete_policy(session, principal, policy_id)
    return Response(status_code=204)


# -- a ticket's clocks ---------------------------------------------------------------------------
@clocks_router.get(
    "/{ticket_id}/sla",
    summary="A ticket's SLA state",
    description="The policy that applies, the deadline of each running clock "
    "(`first_response_due_at`, `next_response_due_at`, `resolution_due_at`; null when none "
    "runs or it is paused), whether a clock is paused, and the kinds breached so far. Kept by "
    "the worker from the ticket's history (about a second behind a change). Staff only.",
    operation_id="getTicketSla",
    responses=problem_responses(PermissionDenied),
)
async def get_ticket_sla(
    session: SessionDep,
    principal: Reader,
    ticket_id: Annotated[uuid.UUID, Path(description="Ticket id.")],
) -> TicketSla:
    return await service.ticket_sla(session, principal, ticket_id)


@queue_router.get(
    "/queue",
    summary="SLA queue: what is about to breach",
    description="Live tickets with a running SLA deadline, earliest first (keyset-paginated on "
    "an index of deadlines). Filters: `status` (comma list), `priority`, `assigned_to`, "
    "`breached` (true: tickets that already missed a target; false: those that have not). "
    "Staff only.",
    operation_id="listSlaQueue",
    responses=problem_responses(PermissionDenied, InvalidCursorError),
)
async def list_sla_queue(
    request: Request,
    session: SessionDep,
    principal: Reader,
    status: Annotated[
        str | None, Query(description="Comma list of statuses.", examples=["new,open"])
    ] = None,
    priority: Annotated[TicketPriority | None, Query(description="One priority.")] = None,
    assigned_to: Annotated[uuid.UUID | None, Query(description="Assignee id.")] = None,
    breached: Annotated[bool | None, Query(description="Only (not) breached tickets.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`meta.next_cursor` of the previous page.")
    ] = None,
) -> Page[SlaQueueItem]:
    try:
        statuses = sorted(
            {TicketStatus(s.strip()).value for s in (status or "").split(",") if s.strip()}
        )
    except ValueError as exc:
        raise ValidationFailed(
            "Unknown status.",
            errors=[{"loc": ["query", "status"], "msg": str(exc), "type": "enum"}],
        ) from exc
    page = await service.due_queue(
        session,
        principal,
        statuses=statuses,
        priority=priority.value if priority else None,
        assigned_to=assigned_to,
        breached=breached,
        limit=limit,
        cursor=cursor,
        cursor_secret=services(request).settings.cursor_secret,
    )
    return Page[SlaQueueItem].of(
        [SlaQueueItem.model_validate(r) for r in page.rows], page.next_cursor
    )


@clocks_router.get(
    "/{ticket_id}/sla/clocks",
    summary="A ticket's SLA clocks",
    description="Every clock of the ticket as derived from its history (staff only): when it "
    "started, paused, was fulfilled or breached — the explanation of each deadline.",
    operation_id="listTicketSlaClocks",
    responses=problem_responses(PermissionDenied),
)
async def list_ticket_clocks(
    session: SessionDep,
    principal: Reader,
    ticket_id: Annotated[uuid.UUID, Path(description="Ticket id.")],
) -> list[ClockRead]:
    if not principal.is_staff:
        raise PermissionDenied("Service levels are for staff.")
    return [ClockRead.model_validate(c) for c in await service.clocks_of_ticket(session, ticket_id)]
