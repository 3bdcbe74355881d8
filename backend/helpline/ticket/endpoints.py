"""REST endpoints for tickets: thin handlers over the ticket service."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from pydantic import ValidationError

from helpline.auth.dependencies import TicketsRead, TicketsReadCached, TicketsWrite
from helpline.db import UnitOfWorkRoute, UowDep
from helpline.errors import (
    Conflict,
    InvalidCursorError,
    PermissionDenied,
    PreconditionFailed,
    StatusTransitionForbidden,
    TicketClosed,
    TicketNotFound,
    ValidationFailed,
)
from helpline.http import (
    IDEMPOTENT,
    IF_MATCH_PATTERN,
    JSON_BODY,
    UNSAFE,
    NotModified,
    etag_for_version,
    if_none_match_hits,
    json_response,
    parse_if_match,
    problem_responses,
)
from helpline.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from helpline.models.enums import TicketPriority, TicketStatus
from helpline.services import services
from helpline.ticket import bulk, reads, service
from helpline.ticket.schemas import (
    COUNT_CAP,
    SEARCH_CAP,
    TAG_PATTERN,
    ReadMarker,
    ReadMarkerWrite,
    Rfc3339,
    SearchResults,
    SearchScope,
    TicketBulkResult,
    TicketBulkUpdate,
    TicketCounts,
    TicketCreate,
    TicketDetail,
    TicketFilters,
    TicketListItem,
    TicketRead,
    TicketSort,
    TicketUpdate,
)

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/tickets", tags=["tickets"])

TicketId = Annotated[uuid.UUID, Path(description="Ticket id.")]
IfMatch = Annotated[
    str | None,
    Header(
        pattern=IF_MATCH_PATTERN,
        description='Version the change is based on (the ETag, e.g. `"3"`); stale → 412.',
    ),
]


def _metadata_filters(request: Request) -> tuple[tuple[str, str], ...]:
    """The `metadata.<key>=<value>` query parameters (TicketFilters validates them)."""
    return tuple(
        sorted(
            (name.removeprefix("metadata."), value)
            for name, value in request.query_params.multi_items()
            if name.startswith("metadata.")
        )
    )


def _status_filter(raw: str | None) -> tuple[TicketStatus, ...]:
    if not raw:
        return ()
    try:
        return tuple(sorted({TicketStatus(part.strip()) for part in raw.split(",")}))
    except ValueError as exc:
        allowed = ", ".join(s.value for s in TicketStatus)
        raise ValidationFailed(
            "Unknown status in filter.",
            errors=[
                {
                    "loc": ["query", "status"],
                    "msg": f"each status must be one of: {allowed}",
                    "type": "enum",
                }
            ],
        ) from exc


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketRead,
    summary="Create a ticket",
    description="Customers create tickets for themselves; agents and admins must give "
    "`customer_id`. `status`, `priority` and `assigned_to` are for staff only.",
    operation_id="createTicket",
    responses=problem_responses(PermissionDenied, *UNSAFE, *JSON_BODY, *IDEMPOTENT, Conflict),
)
async def create_ticket(body: TicketCreate, uow: UowDep, principal: TicketsWrite) -> Response:
    row = await service.create_ticket(uow, principal, body)
    return json_response(
        TicketRead.model_validate(row),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/tickets/{row.id}", "ETag": etag_for_version(row.version)},
    )


@router.post(
    "/bulk",
    response_model=TicketBulkResult,
    summary="Change many tickets at once",
    description="Staff only (a customer → 403). The same `changes` (status, priority, assignee, "
    "team, tags to add and to remove) applied to up to 100 tickets; each ticket is checked as a "
    "single `PATCH` would be and changed wholly or not at all, and the answer (200) has one "
    "result per id, in request order: `updated`, `unchanged` (already so), `not_found` (missing "
    "or not visible), `conflict` (closed) or `invalid` (e.g. over the tag limit), with the "
    "problem that single request would have had. Every change is an ordinary update in history, "
    "audit and the change feed. What is wrong for every ticket (no change given, an unknown "
    "assignee or team, a tag both added and removed, an id twice) → 422 and nothing changes.",
    operation_id="bulkUpdateTickets",
    responses=problem_responses(PermissionDenied, *UNSAFE, *JSON_BODY, *IDEMPOTENT, Conflict),
)
async def bulk_update_tickets(
    body: TicketBulkUpdate, uow: UowDep, principal: TicketsWrite
) -> Response:
    return json_response(await bulk.bulk_update_tickets(uow, principal, body))


async def ticket_filters(
    request: Request,
    status_: Annotated[
        str | None,
        Query(
            alias="status", max_length=200, description="Comma list of statuses, e.g. `new,open`."
        ),
    ] = None,
    priority: Annotated[TicketPriority | None, Query(description="Priority.")] = None,
    assigned_to: Annotated[uuid.UUID | None, Query(description="Assignee id.")] = None,
    customer_id: Annotated[uuid.UUID | None, Query(description="Customer id.")] = None,
    created_after: Annotated[
        Rfc3339 | None, Query(description="Created at or after (RFC 3339).")
    ] = None,
    created_before: Annotated[
        Rfc3339 | None, Query(description="Created before (RFC 3339).")
    ] = None,
    updated_since: Annotated[
        Rfc3339 | None, Query(description="Updated at or after (RFC 3339).")
    ] = None,
    number: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="The ticket with this number.")
    ] = None,
    team_id: Annotated[uuid.UUID | None, Query(description="Team id.")] = None,
    tag: Annotated[
        list[Annotated[str, Query(pattern=TAG_PATTERN)]] | None,
        Query(
            max_length=10,
            description="Tickets carrying this tag; repeat for several (all must match).",
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Full-text search; `#1234` or `1234` also matches ticket number 1234.",
        ),
    ] = None,
    q_scope: Annotated[
        SearchScope,
        Query(
            description="Where `q` looks: `tickets` (title, description, number; the default), "
            "`messages` (the conversation's text; customers match public messages only) or "
            "`all` (either). `GET /api/v1/tickets/search` ranks the matches with excerpts.",
        ),
    ] = SearchScope.tickets,
    sla_breached: Annotated[
        bool | None,
        Query(
            description="Staff only. `true`: an SLA target of the ticket was missed; `false`: "
            "a policy applies and no target was missed (tickets without a policy match "
            "neither)."
        ),
    ] = None,
    sla_due_before: Annotated[
        Rfc3339 | None,
        Query(
            description="Staff only. Tickets with a running SLA deadline before this instant "
            "(RFC 3339), overdue ones included."
        ),
    ] = None,
) -> TicketFilters:
    """The list filters of a request (one parser for the list and the counts)."""
    try:
        return TicketFilters(
            status=_status_filter(status_),
            priority=priority,
            assigned_to=assigned_to,
            customer_id=customer_id,
            created_after=created_after,
            created_before=created_before,
            updated_since=updated_since,
            number=number,
            team_id=team_id,
            tags=tuple(sorted(set(tag or ()))),
            q=q.strip() if q else None,
            q_scope=q_scope,
            sla_breached=sla_breached,
            sla_due_before=sla_due_before,
            metadata=_metadata_filters(request),
        )
    except ValidationError as exc:  # the metadata.<key> filters (other params are typed above)
        raise ValidationFailed(
            "Invalid metadata filter.",
            errors=[
                {"loc": ["query", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ],
        ) from exc


Filters = Annotated[TicketFilters, Depends(ticket_filters)]
IfNoneMatch = Annotated[str | None, Header(description="ETag from a previous GET.")]


@router.get(
    "",
    response_model=Page[TicketListItem],
    summary="List tickets",
    description="Keyset-paginated list of the tickets the caller may see, newest change first by "
    "default. Filters combine with AND; `metadata.<key>=<value>` matches a metadata entry "
    "(repeatable); `q` is a full-text search over title and description. Staff get each "
    "ticket's `sla` block (null: no policy) and may filter by `sla_breached` and "
    "`sla_due_before` and sort by `sla_due` (earliest running deadline first, tickets without "
    "one last, most recently updated first); a customer using them → 403. Sends an `ETag`; "
    "`If-None-Match` with it → 304.",
    operation_id="listTickets",
    responses={
        304: {"description": "Not modified (the ETag matches)."},
        **problem_responses(PermissionDenied, InvalidCursorError),
    },
)
async def list_tickets(
    request: Request,
    uow: UowDep,
    principal: TicketsReadCached,
    filters: Filters,
    sort: Annotated[
        TicketSort,
        Query(
            description="Order: `-updated_at` (default), `updated_at`, `-created_at`, "
            "`created_at`, `sla_due` (staff only: earliest running SLA deadline first, "
            "tickets without one last)."
        ),
    ] = TicketSort.updated_desc,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-100).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`meta.next_cursor` of the previous page.")
    ] = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    document = await service.list_tickets_document(
        uow,
        principal,
        filters,
        sort,
        limit,
        cursor,
        services(request).settings.cursor_secret,
    )
    if if_none_match_hits(if_none_match, document.etag):
        raise NotModified(document.etag)
    return Response(document.body, media_type="application/json", headers={"ETag": document.etag})


@router.get(
    "/counts",
    response_model=TicketCounts,
    summary="Count tickets per status",
    description="How many of the tickets the caller may see match the filters (the list's, with "
    "the same visibility), per status; a `status` filter is ignored (every status is counted). "
    f"Each count is exact up to {COUNT_CAP} and `capped` beyond (show `{COUNT_CAP}+`): a bounded "
    "count, fast on any number of tickets. Cached and invalidated like the list; sends an "
    "`ETag`, `If-None-Match` with it → 304.",
    operation_id="countTickets",
    responses={
        304: {"description": "Not modified (the ETag matches)."},
        **problem_responses(PermissionDenied),
    },
)
async def count_tickets(
    uow: UowDep,
    principal: TicketsReadCached,
    filters: Filters,
    by: Annotated[
        Literal["status"], Query(description="What to group by (only `status` for now).")
    ] = "status",
    if_none_match: IfNoneMatch = None,
) -> Response:
    document = await service.count_tickets_document(uow, principal, filters)
    if if_none_match_hits(if_none_match, document.etag):
        raise NotModified(document.etag)
    return Response(document.body, media_type="application/json", headers={"ETag": document.etag})


@router.get(
    "/search",
    response_model=SearchResults,
    summary="Search tickets and their messages",
    description="The visible tickets that best match `q`, ranked by relevance (then by the "
    "latest change), each with an excerpt of its best match as runs of plain text with the "
    "matched words marked. `scope` says where to look: `all` (the default: title, description, "
    "number and every message), `messages` or `tickets`. Customers find only their own "
    f"tickets and match only public messages. At most {SEARCH_CAP} matches per source are "
    "ranked (`meta.capped`). For a filtered, paginated list use `GET /api/v1/tickets?q=…"
    "&q_scope=…`.",
    operation_id="searchTickets",
    responses=problem_responses(PermissionDenied),
)
async def search_tickets(
    uow: UowDep,
    principal: TicketsRead,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"\S",
            description='Words to find (web-search syntax: `"exact phrase"`, `or`, `-word`); '
            "`#1234` also finds ticket 1234; for staff, a customer's email address finds their "
            "tickets.",
        ),
    ],
    scope: Annotated[
        SearchScope, Query(description="`all` (default), `messages` or `tickets`.")
    ] = SearchScope.all,
    limit: Annotated[int, Query(ge=1, le=50, description="At most this many hits (1-50).")] = 20,
) -> SearchResults:
    return await service.search_tickets(uow, principal, q.strip(), scope, limit)


@router.get(
    "/{ticket_id}",
    response_model=TicketDetail,
    summary="Get a ticket",
    description="The ticket with its metadata and, for staff, its `sla` block (null when no "
    "policy applies; absent for customers). Sends an `ETag` — the version, for staff with a "
    'policy the version and a digest of the `sla` block (`"3.1a2b3c4d"`), which changes when '
    "the worker moves a deadline without a new version; `If-Match` takes either form and "
    "compares the version. `If-None-Match` with it → 304.",
    operation_id="getTicket",
    responses={
        304: {"description": "Not modified (the ETag matches)."},
        **problem_responses(PermissionDenied, TicketNotFound),
    },
)
async def get_ticket(
    ticket_id: TicketId,
    uow: UowDep,
    principal: TicketsReadCached,
    if_none_match: Annotated[str | None, Header(description="ETag from a previous GET.")] = None,
) -> Response:
    etag, body = await service.get_ticket_document(uow, principal, ticket_id)
    if if_none_match_hits(if_none_match, etag):
        raise NotModified(etag)
    # The cached body is exactly TicketDetail's JSON: sent as is, without re-validation.
    return Response(body, media_type="application/json", headers={"ETag": etag})


@router.patch(
    "/{ticket_id}",
    response_model=TicketRead,
    summary="Update a ticket",
    description="Partial update: only the fields in the body change. Customers may change title "
    "and description, mark their ticket `solved` and reopen a solved one (`open`); any other "
    "status change by a customer → 403 `status-transition-forbidden`. Staff also change priority, "
    "assignee and any status. A closed ticket cannot change (409). With `If-Match` of an older "
    "version the change is merged when none of its fields changed since that version (edits of "
    "different fields do not conflict); when one did, → 412 with `current_version` and "
    "`conflicts[]` (`field`, `your_value`, `current_value`).",
    operation_id="updateTicket",
    responses=problem_responses(
        PermissionDenied,
        StatusTransitionForbidden,
        *UNSAFE,
        *JSON_BODY,
        TicketNotFound,
        TicketClosed,
        PreconditionFailed,
        Conflict,
    ),
)
async def update_ticket(
    ticket_id: TicketId,
    body: TicketUpdate,
    uow: UowDep,
    principal: TicketsWrite,
    if_match: IfMatch = None,
) -> Response:
    row = await service.update_ticket(uow, principal, ticket_id, body, parse_if_match(if_match))
    return json_response(
        TicketRead.model_validate(row), headers={"ETag": etag_for_version(row.version)}
    )


@router.delete(
    "/{ticket_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a ticket",
    description="Soft delete (staff only; a closed ticket only by an admin). Honours `If-Match`.",
    operation_id="deleteTicket",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, TicketNotFound, PreconditionFailed, Conflict
    ),
)
async def delete_ticket(
    ticket_id: TicketId, uow: UowDep, principal: TicketsWrite, if_match: IfMatch = None
) -> Response:
    await service.delete_ticket(uow, principal, ticket_id, parse_if_match(if_match))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


TagName = Annotated[
    str, Path(pattern=TAG_PATTERN, description="A tag: `^[a-z0-9][a-z0-9_.:-]{0,49}$`.")
]


@router.put(
    "/{ticket_id}/tags/{tag}",
    response_model=TicketRead,
    summary="Add a tag to a ticket",
    description="Staff only. Idempotent: adding a tag the ticket has changes nothing (same "
    "version). A change bumps the version, and is history (`tags_changed`), an event "
    "(`ticket.updated` with `changes.tags`) and audit. Honours `If-Match`.",
    operation_id="addTicketTag",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, TicketNotFound, TicketClosed, PreconditionFailed, Conflict
    ),
)
async def add_ticket_tag(
    ticket_id: TicketId,
    tag: TagName,
    uow: UowDep,
    principal: TicketsWrite,
    if_match: IfMatch = None,
) -> Response:
    row = await service.change_tag(
        uow, principal, ticket_id, tag, add=True, expected_version=parse_if_match(if_match)
    )
    return json_response(
        TicketRead.model_validate(row), headers={"ETag": etag_for_version(row.version)}
    )


@router.delete(
    "/{ticket_id}/tags/{tag}",
    response_model=TicketRead,
    summary="Remove a tag from a ticket",
    description="Staff only. Idempotent: removing a tag the ticket lacks changes nothing. "
    "Honours `If-Match`.",
    operation_id="removeTicketTag",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, TicketNotFound, TicketClosed, PreconditionFailed, Conflict
    ),
)
async def remove_ticket_tag(
    ticket_id: TicketId,
    tag: TagName,
    uow: UowDep,
    principal: TicketsWrite,
    if_match: IfMatch = None,
) -> Response:
    row = await service.change_tag(
        uow, principal, ticket_id, tag, add=False, expected_version=parse_if_match(if_match)
    )
    return json_response(
        TicketRead.model_validate(row), headers={"ETag": etag_for_version(row.version)}
    )


READ_MARKERS = (
    " Staff only (a customer → 403). Read markers are the caller's own (per user and ticket, "
    "server-side: they follow them to another browser) and drive the list's `unread` flag; "
    "they need `tickets:write` (as every change) but change no ticket (no history, audit or "
    "event)."
)


@router.put(
    "/{ticket_id}/read",
    response_model=ReadMarker,
    summary="Mark a ticket read",
    description="The caller has read the ticket up to `version` (the one on screen; omitted: "
    "the current one): it is no longer `unread` in their lists until it changes again. A "
    "marker never moves back; the console sends it whenever it shows a ticket." + READ_MARKERS,
    operation_id="markTicketRead",
    responses=problem_responses(PermissionDenied, *UNSAFE, *JSON_BODY, TicketNotFound),
)
async def mark_ticket_read(
    ticket_id: TicketId,
    uow: UowDep,
    principal: TicketsWrite,
    body: ReadMarkerWrite | None = None,
) -> ReadMarker:
    version = None if body is None else body.version
    return await reads.mark_read(uow, principal, ticket_id, version)


@router.delete(
    "/{ticket_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Mark a ticket unread",
    description="Forget the caller's read marker: the ticket is `unread` in their lists until "
    "they next open it (also when it was unread already)." + READ_MARKERS,
    operation_id="markTicketUnread",
    responses=problem_responses(PermissionDenied, *UNSAFE, TicketNotFound),
)
async def mark_ticket_unread(ticket_id: TicketId, uow: UowDep, principal: TicketsWrite) -> Response:
    await reads.mark_unread(uow, principal, ticket_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
