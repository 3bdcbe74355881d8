"""Access events from the HTTP layer, for REST and GraphQL alike (one path for both).

Failed access — 401 (``auth.failed``), 403 (``permission.denied``), 429
(``rate_limit.exceeded``) and a 404 that hid an existing resource (``access.not_visible``, an
IDOR attempt) — and web-session logins and logouts
go to the buffered :class:`~helpline.audit.service.AuditService`, never tied to the request's
transaction: a denied request rolls back, its denial must still be recorded.
"""

from __future__ import annotations

import uuid

from fastapi import Request

from helpline.audit.service import (
    AuditService,
    access_failure_event,
    record_rate_limited,
    session_event,
)
from helpline.auth.principal import Principal
from helpline.db.route import request_work
from helpline.errors import HelplineError, NotFound, RateLimited, Unauthenticated
from helpline.services import services

# "Who am I?" without any credentials is how a client asks whether it is signed in (the web
# interface's sign-in page does, every time): an answer, not a failed authentication. With
# credentials that do not work it is audited like any other route.
PROBE_PATHS = frozenset({"/api/v1/auth/me"})


def _audit(request: Request) -> AuditService | None:
    return services(request).audit


def _principal(request: Request) -> Principal | None:
    """The caller, if the request's unit of work got as far as resolving one."""
    work = request_work(request.scope)
    caller = work.principal if work is not None else None
    return caller if isinstance(caller, Principal) else None


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def is_audited_failure(exc: HelplineError, path: str = "") -> bool:
    if isinstance(exc, Unauthenticated) and not exc.credentials_presented and path in PROBE_PATHS:
        return False
    return exc.status in (401, 403) or (isinstance(exc, NotFound) and exc.concealed is not None)


def record_access_failure(request: Request, exc: HelplineError) -> None:
    """Queue the audit event of a refused access (aggregated when it repeats)."""
    audit = _audit(request)
    if isinstance(exc, RateLimited):
        record_rate_limited(
            audit,
            exc,
            principal=_principal(request),
            ip=_ip(request),
            now=services(request).clock(),
        )
        return
    if audit is None or not is_audited_failure(exc, request.url.path):
        return
    audit.emit(
        access_failure_event(
            status=exc.status,
            slug=exc.slug,
            detail=exc.detail,
            method=request.method,
            path=request.url.path,
            principal=_principal(request),
            request_id=getattr(request.state, "request_id", None),
            ip=_ip(request),
            now=services(request).clock(),
            concealed=exc.concealed if isinstance(exc, NotFound) else None,
        )
    )


def record_session_event(request: Request, action: str, user_id: uuid.UUID) -> None:
    """Queue ``auth.login`` or ``auth.logout`` for a web session."""
    audit = _audit(request)
    if audit is None:
        return
    audit.emit(
        session_event(
            action,
            user_id=user_id,
            request_id=getattr(request.state, "request_id", None),
            ip=_ip(request),
            now=services(request).clock(),
        )
    )
