"""Idempotency rules: the claim is its own committed transaction; the completion is not.

A POST with an ``Idempotency-Key`` first *claims* the key (INSERT … ON CONFLICT DO NOTHING,
committed at once, so concurrent requests see it). The winner runs the request. Its response is
stored on the claim *inside the request's own transaction*, just before that transaction commits
(a before-commit step of the request's unit of work, which holds the built response), so the change
and its stored response commit together or not at all: a process that dies after the commit
leaves a completed key that every retry replays, and a claim still in flight always means the
change did not commit. A request that commits nothing (e.g. a validation error) or whose route
does not build its response before the commit stores it afterwards (``finish``).

A response that a retry should not get again — 401/403 (credentials may be fixed),
408/409/412/425/429 (transient or concurrent), any 5xx, or a crash before any response —
*releases* the claim instead, so the retry runs the request anew. A claim left in flight by a
crashed process is taken over once it is older than ``idempotency_inflight_timeout_s``; if the
original request is in fact still running, its commit then fails (its claim is no longer the
one in the row) instead of duplicating the change. Keys expire after ``idempotency_ttl_hours``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from helpline.db import Database, UnitOfWork
from helpline.errors import IdempotencyKeyInFlight, IdempotencyKeyInvalid, IdempotencyKeyReused
from helpline.idempotency import repository
from helpline.kit.metrics import REGISTRY

KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAYED_HEADERS = ("content-type", "location", "etag")
RELEASED_STATUSES = frozenset({401, 403, 408, 409, 412, 425, 429})

OUTCOMES = REGISTRY.counter(
    "helpline_idempotency_requests_total",
    "POSTs with an Idempotency-Key by outcome (executed, replayed, in_flight, mismatch, released).",
)


@dataclass(frozen=True, slots=True)
class Claim:
    principal: str
    key: str
    claimed_at: datetime


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class Pending:
    """The claim of a request being run, and whether its own commit stored the response."""

    claim: Claim
    committed: bool = False  # the response was stored by the request's own commit

    async def store_before_commit(self, uow: UnitOfWork) -> None:
        """A before-commit step of the request's unit of work: store the response the route
        built in the same transaction as the change (see the module docstring)."""
        response = uow.response
        body = getattr(response, "body", None)
        if not isinstance(body, bytes) or not should_store(response.status_code):
            return  # streamed, or not to be replayed: the middleware finishes the claim
        headers = {
            k.lower(): v for k, v in response.headers.items() if k.lower() in REPLAYED_HEADERS
        }
        claim_ = self.claim
        result = await uow.session.execute(
            repository.complete_claim_statement(
                claim_.principal, claim_.key, claim_.claimed_at, response.status_code,
                _encode_body(body), headers,
            )
        )  # fmt: skip
        if result.rowcount != 1:  # type: ignore[attr-defined]
            # Our claim was taken over (we ran past the in-flight timeout): the retry that took
            # it over owns the key now, so this change must not commit as well.
            raise IdempotencyKeyInFlight(
                "A retry with this key took over; this request rolled back."
            )
        uow.after_commit(self._committed)

    async def _committed(self) -> None:
        self.committed = True


def check_key(raw: str) -> str:
    """The key, or 422 when it is not 1-255 visible ASCII characters."""
    if not KEY_RE.match(raw):
        raise IdempotencyKeyInvalid(
            "Idempotency-Key must be 1-255 visible ASCII characters.",
            errors=[
                {
                    "loc": ["header", "Idempotency-Key"],
                    "msg": "1-255 visible ASCII characters",
                    "type": "value_error",
                }
            ],
        )
    return raw


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode()):
        digest.update(part + b"\0")
    digest.update(body)
    return digest.hexdigest()


def should_store(status: int) -> bool:
    return status < 500 and status not in RELEASED_STATUSES


def _encode_body(body: bytes) -> Any:
    try:
        return body.decode()  # a JSON string keeps the bytes exactly (jsonb would reorder keys)
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode()}


def _decode_body(stored: Any) -> bytes:
    if isinstance(stored, dict):
        return base64.b64decode(stored["base64"])
    return str(stored or "").encode()


async def claim(
    db: Database,
    principal: str,
    key: str,
    request_fingerprint: str,
    *,
    ttl_seconds: int,
    inflight_timeout_seconds: int,
) -> Claim | StoredResponse:
    """Claim the key for this request, or the stored response to replay; 409/422 otherwise."""
    async with db.transaction() as session:
        await repository.delete_expired_key(session, principal, key, ttl_seconds)
        claimed_at = await repository.insert_claim(session, principal, key, request_fingerprint)
        if claimed_at is not None:
            OUTCOMES.inc(outcome="executed")
            return Claim(principal, key, claimed_at)
        row = await repository.get_key(session, principal, key)
        if row is None:  # released between our insert and select: the client may retry at once
            raise IdempotencyKeyInFlight("The first request with this key just finished; retry.")
        if row.request_fingerprint != request_fingerprint:
            OUTCOMES.inc(outcome="mismatch")
            raise IdempotencyKeyReused()
        if row.response_status is not None:
            OUTCOMES.inc(outcome="replayed")
            return StoredResponse(
                status=row.response_status,
                headers=dict(row.response_headers or {}),
                body=_decode_body(row.response_body),
            )
        claimed_at = await repository.take_over_stale_claim(
            session, principal, key, inflight_timeout_seconds
        )
        if claimed_at is not None:
            OUTCOMES.inc(outcome="taken_over")
            return Claim(principal, key, claimed_at)
        OUTCOMES.inc(outcome="in_flight")
        raise IdempotencyKeyInFlight()


async def finish(
    db: Database, claim_: Claim, status: int, headers: dict[str, str], body: bytes
) -> None:
    """Store the response for replay, or release the claim (see the module docstring)."""
    async with db.transaction() as session:
        if should_store(status):
            kept = {k: v for k, v in headers.items() if k in REPLAYED_HEADERS}
            await repository.complete_claim(
                session, claim_.principal, claim_.key, claim_.claimed_at, status,
                _encode_body(body), kept,
            )  # fmt: skip
        else:
            OUTCOMES.inc(outcome="released")
            await repository.release_claim(session, claim_.principal, claim_.key, claim_.claimed_at)


async def release(db: Database, claim_: Claim) -> None:
    """Give the key back after a crash of the request (it never produced a response)."""
    OUTCOMES.inc(outcome="released")
    async with db.transaction() as session:
        await repository.release_claim(session, claim_.principal, claim_.key, claim_.claimed_at)


async def purge_expired(db: Database, ttl_seconds: int) -> int:
    """Delete keys past their lifetime (safe to run on a schedule)."""
    async with db.transaction() as session:
        return await repository.purge_expired(session, ttl_seconds)
