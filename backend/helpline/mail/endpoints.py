"""REST endpoints of the email channel: mailboxes (admins), the inbound endpoint (signed, no
API key), the quarantine and the suppression list (admins). Thin handlers over the services."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from helpline.auth.dependencies import PUBLIC, require
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.errors import (
    EmailSuppressionNotFound,
    InboundEmailNotFound,
    InboundEmailNotQuarantined,
    InboundEmailTooLarge,
    InboundSignatureInvalid,
    InvalidCursorError,
    MailboxAddressTaken,
    MailboxConnectionFailed,
    MailboxDefaultChanged,
    MailboxDisabled,
    MailboxNotFound,
    PermissionDenied,
    UnsupportedMediaType,
)
from helpline.http import IDEMPOTENT, JSON_BODY, UNSAFE, json_response, problem_responses
from helpline.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from helpline.mail import connections, ingest, service
from helpline.mail.schemas import (
    ConnectionTest,
    InboundAccepted,
    InboundEmailRead,
    MailboxCreate,
    MailboxRead,
    MailboxUpdate,
    MailboxWithSecret,
    SuppressionRead,
)
from helpline.mail.vault import Vault
from helpline.services import services

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["email"])

Admin = Annotated[Principal, require(Scope.mailboxes_write)]
MailboxId = Annotated[uuid.UUID, Path(description="Mailbox id.")]
InboundId = Annotated[uuid.UUID, Path(description="Inbound email id.")]
INBOUND_PATH = "/api/v1/inbound/email"
RFC822 = "message/rfc822"


def vault(request: Request) -> Vault:
    return Vault.from_settings(services(request).settings)


def _with_secret(row: object, secret: str) -> MailboxWithSecret:
    return MailboxWithSecret(**MailboxRead.of(row).model_dump(), inbound_secret=secret)


@router.post(
    "/mailboxes",
    status_code=201,
    summary="Create a mailbox",
    description="A mailbox whose mail becomes tickets. The IMAP and SMTP URLs are write-only "
    "(stored encrypted, never returned). The response carries `inbound_secret`, the signing "
    "secret of the inbound HTTP endpoint — the only time it is shown.",
    operation_id="createMailbox",
    responses=problem_responses(
        PermissionDenied,
        *UNSAFE,
        *JSON_BODY,
        *IDEMPOTENT,
        MailboxAddressTaken,
        MailboxDefaultChanged,
    ),
)
async def create_mailbox(
    request: Request, session: SessionDep, principal: Admin, body: MailboxCreate
) -> MailboxWithSecret:
    row, secret = await service.create_mailbox(session, principal, body, vault(request))
    return _with_secret(row, secret)


@router.get(
    "/mailboxes",
    summary="List mailboxes",
    description="Every mailbox with its IMAP state (never its credentials).",
    operation_id="listMailboxes",
    responses=problem_responses(PermissionDenied),
)
async def list_mailboxes(session: SessionDep, principal: Admin) -> list[MailboxRead]:
    return [MailboxRead.of(r) for r in await service.list_mailboxes(session, principal)]


@router.get(
    "/mailboxes/{mailbox_id}",
    summary="Get a mailbox",
    description="One mailbox (never its credentials).",
    operation_id="getMailbox",
    responses=problem_responses(PermissionDenied, MailboxNotFound),
)
async def get_mailbox(session: SessionDep, principal: Admin, mailbox_id: MailboxId) -> MailboxRead:
    return MailboxRead.of(await service.get_mailbox(session, principal, mailbox_id))


@router.patch(
    "/mailboxes/{mailbox_id}",
    summary="Update or disable a mailbox",
    description="Only the fields given change. `is_active: false` disables it (no mail is "
    "fetched or accepted); `imap_url: null` turns IMAP off.",
    operation_id="updateMailbox",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, MailboxNotFound, MailboxDefaultChanged
    ),
)
async def update_mailbox(
    request: Request,
    session: SessionDep,
    principal: Admin,
    mailbox_id: MailboxId,
    body: MailboxUpdate,
) -> MailboxRead:
    row = await service.update_mailbox(
        session, principal, mailbox_id, body, vault(request), now=services(request).clock()
    )
    return MailboxRead.of(row)


@router.post(
    "/mailboxes/{mailbox_id}/disable",
    summary="Disable a mailbox",
    description="No more mail is fetched or accepted; what was stored stays.",
    operation_id="disableMailbox",
    responses=problem_responses(PermissionDenied, *UNSAFE, *IDEMPOTENT, MailboxNotFound),
)
async def disable_mailbox(
    request: Request, session: SessionDep, principal: Admin, mailbox_id: MailboxId
) -> MailboxRead:
    row = await service.update_mailbox(
        session,
        principal,
        mailbox_id,
        MailboxUpdate(is_active=False),
        vault(request),
        now=services(request).clock(),
    )
    return MailboxRead.of(row)


@router.post(
    "/mailboxes/{mailbox_id}/rotate-secret",
    summary="Rotate the inbound signing secret",
    description="Returns a new `inbound_secret` (shown once); the old one stops working at once.",
    operation_id="rotateMailboxSecret",
    responses=problem_responses(PermissionDenied, *UNSAFE, *IDEMPOTENT, MailboxNotFound),
)
async def rotate_mailbox_secret(
    request: Request, session: SessionDep, principal: Admin, mailbox_id: MailboxId
) -> MailboxWithSecret:
    row, secret = await service.rotate_inbound_secret(
        session, principal, mailbox_id, vault(request), now=services(request).clock()
    )
    return _with_secret(row, secret)


@router.post(
    "/mailboxes/{mailbox_id}/test-connection",
    summary="Test the mailbox's servers",
    description="Logs in to IMAP (and selects the folder) and says EHLO (and AUTH) to SMTP, "
    "with the stored credentials. 200 with each check's result when all pass; when one fails, "
    "a `mailbox-connection-failed` problem carrying the same `imap`/`smtp` results. Neither "
    "ever contains a credential.",
    operation_id="testMailboxConnection",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *IDEMPOTENT, MailboxNotFound, MailboxConnectionFailed
    ),
)
async def test_mailbox_connection(
    request: Request, session: SessionDep, principal: Admin, mailbox_id: MailboxId
) -> ConnectionTest:
    row = await service.get_mailbox(session, principal, mailbox_id)
    secrets = service.secrets_of(row, vault(request))
    settings = services(request).settings
    result = await connections.test(secrets, default_smtp_url=settings.smtp_url, timeout=10.0)
    connections.raise_if_failed(result)
    return result


@router.post(
    "/inbound/email/{mailbox_id}",
    status_code=202,
    summary="Receive a raw email",
    description="For MTAs and mail providers' inbound routes: the body is the raw RFC 5322 "
    "message (`Content-Type: message/rfc822`), signed per Standard Webhooks with the mailbox's "
    "`inbound_secret` (`webhook-id`, `webhook-timestamp`, `webhook-signature`); no API key. "
    "202 with the inbound id once it is stored (processing follows in the worker); the same "
    "message again → 200 with the same id.",
    operation_id="receiveInboundEmail",
    response_model=InboundAccepted,
    dependencies=[PUBLIC],
    responses={
        200: {"description": "Already received: the same id.", "model": InboundAccepted},
        **problem_responses(
            InboundSignatureInvalid,
            MailboxDisabled,
            InboundEmailTooLarge,
            UnsupportedMediaType,
            public=True,
        ),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {RFC822: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def receive_inbound_email(
    request: Request, session: SessionDep, mailbox_id: MailboxId
) -> Response:
    settings = services(request).settings
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != RFC822:
        raise UnsupportedMediaType("Send the raw message as message/rfc822.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > settings.mail_max_bytes:
            raise InboundEmailTooLarge(f"The limit is {settings.mail_max_bytes} bytes.")
    raw = bytes(body)
    headers = (
        request.headers.get("webhook-id"),
        request.headers.get("webhook-timestamp"),
        request.headers.get("webhook-signature"),
    )
    mailbox = await ingest.verified_mailbox(
        session, mailbox_id, vault(request), headers, raw, now=services(request).clock()
    )
    stored = await ingest.store_raw(
        session, mailbox, raw, "http", max_bytes=settings.mail_max_bytes
    )
    return json_response(
        InboundAccepted(id=stored.id, status=stored.status),
        status_code=202 if stored.created else 200,
    )


@router.get(
    "/inbound-emails",
    summary="List inbound emails",
    description="Newest first, keyset-paginated; `status=quarantined` is the quarantine.",
    operation_id="listInboundEmails",
    responses=problem_responses(PermissionDenied, InvalidCursorError),
)
async def list_inbound_emails(
    request: Request,
    session: SessionDep,
    principal: Admin,
    status: Annotated[
        Literal["received", "processed", "quarantined", "discarded"] | None,
        Query(description="Only this status."),
    ] = None,
    mailbox_id: Annotated[uuid.UUID | None, Query(description="Only this mailbox.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`meta.next_cursor` of the previous page.")
    ] = None,
) -> Page[InboundEmailRead]:
    page = await service.list_inbound_emails(
        session,
        principal,
        status=status,
        mailbox_id=mailbox_id,
        limit=limit,
        cursor=cursor,
        cursor_secret=services(request).settings.cursor_secret,
    )
    return Page[InboundEmailRead].of(
        [InboundEmailRead.model_validate(r) for r in page.rows], page.next_cursor
    )


@router.get(
    "/inbound-emails/{inbound_id}",
    summary="Get an inbound email",
    description="Its state, thread reason and the ticket/message it became (not the raw bytes).",
    operation_id="getInboundEmail",
    responses=problem_responses(PermissionDenied, InboundEmailNotFound),
)
async def get_inbound_email(
    session: SessionDep, principal: Admin, inbound_id: InboundId
) -> InboundEmailRead:
    return InboundEmailRead.model_validate(
        await service.get_inbound_email(session, principal, inbound_id)
    )


@router.post(
    "/inbound-emails/{inbound_id}/replay",
    summary="Replay a quarantined email",
    description="Processes it again (e.g. after allowing unknown senders); 409 unless quarantined.",
    operation_id="replayInboundEmail",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *IDEMPOTENT, InboundEmailNotFound, InboundEmailNotQuarantined
    ),
)
async def replay_inbound_email(
    session: SessionDep, principal: Admin, inbound_id: InboundId
) -> InboundEmailRead:
    return InboundEmailRead.model_validate(
        await service.replay_inbound_email(session, principal, inbound_id)
    )


@router.post(
    "/inbound-emails/{inbound_id}/discard",
    summary="Discard a quarantined email",
    description="It stays stored for the record and is never processed; 409 unless quarantined.",
    operation_id="discardInboundEmail",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *IDEMPOTENT, InboundEmailNotFound, InboundEmailNotQuarantined
    ),
)
async def discard_inbound_email(
    request: Request, session: SessionDep, principal: Admin, inbound_id: InboundId
) -> InboundEmailRead:
    return InboundEmailRead.model_validate(
        await service.discard_inbound_email(
            session, principal, inbound_id, now=services(request).clock()
        )
    )


@router.get(
    "/email-suppressions",
    summary="List suppressed addresses",
    description="Addresses no mail goes to (they bounced permanently), in address order.",
    operation_id="listEmailSuppressions",
    responses=problem_responses(PermissionDenied, InvalidCursorError),
)
async def list_email_suppressions(
    request: Request,
    session: SessionDep,
    principal: Admin,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`meta.next_cursor` of the previous page.")
    ] = None,
) -> Page[SuppressionRead]:
    page = await service.list_suppressions(
        session,
        principal,
        limit=limit,
        cursor=cursor,
        cursor_secret=services(request).settings.cursor_secret,
    )
    return Page[SuppressionRead].of(
        [SuppressionRead.model_validate(r) for r in page.rows], page.next_cursor
    )


@router.delete(
    "/email-suppressions/{address}",
    status_code=204,
    summary="Clear a suppressed address",
    description="Mail may go to the address again.",
    operation_id="clearEmailSuppression",
    responses=problem_responses(PermissionDenied, *UNSAFE, EmailSuppressionNotFound),
)
async def clear_email_suppression(
    session: SessionDep,
    principal: Admin,
    address: Annotated[str, Path(max_length=320, description="The address.")],
) -> Response:
    await service.clear_suppression(session, principal, address)
    return Response(status_code=204)
