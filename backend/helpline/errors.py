"""Typed errors rendered as RFC 9457 problem+json.

Each problem is one class with a stable ``slug`` (its ``type`` is ``/problems/<slug>``), an HTTP
status and a title. Handlers raise; one handler renders. Unexpected exceptions become a generic
500 problem without details.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_CONTENT_TYPE = "application/problem+json"


class HelplineError(Exception):
    """Base of every error a client may see."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"
    description: ClassVar[str] = (
        "An unexpected error occurred; the request id identifies it in logs."
    )

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    @classmethod
    def type_uri(cls) -> str:
        return f"/problems/{cls.slug}"

    def to_problem(self, *, instance: str, request_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type_uri(),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "request_id": request_id,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def problem_catalogue() -> list[type[HelplineError]]:
    """Every concrete problem class, for docs and OpenAPI."""
    seen: dict[str, type[HelplineError]] = {}
    stack: list[type[HelplineError]] = [HelplineError]
    while stack:
        cls = stack.pop()
        seen.setdefault(cls.slug, cls)
        stack.extend(cls.__subclasses__())
    return sorted(seen.values(), key=lambda c: (c.status, c.slug))


# 400 / 415 / 413 -------------------------------------------------------------------------------
class BadRequest(HelplineError):
    status, slug, title = 400, "bad-request", "Bad request"
    description = "The request is malformed (for example a body that is not valid JSON)."


class JsonTooDeep(BadRequest):
    slug, title = "json-too-deep", "JSON nested too deeply"
    description = "The JSON body nests arrays and objects deeper than the server accepts."


class QueryTooCostly(BadRequest):
    slug, title = "query-too-costly", "GraphQL operation too costly"
    description = (
        "The GraphQL operation could return more nodes than one operation may (list sizes "
        "multiplied through nesting: `first`/`count`, or their defaults); `cost` and `limit` "
        "say by how much. Nothing ran. Ask for smaller pages or fewer nested lists."
    )


class OperationNameRequired(BadRequest):
    slug, title = "operation-name-required", "GraphQL operation name required"
    description = (
        "The GraphQL document holds several operations: `operationName` must say which to run."
    )


class InvalidCursorError(HelplineError):
    status, slug, title = 400, "invalid-cursor", "Invalid cursor"
    description = "The pagination cursor is malformed, forged or belongs to another sort order."


class PayloadTooLarge(HelplineError):
    status, slug, title = 413, "payload-too-large", "Payload too large"
    description = "The request body exceeds the configured limit."


class UnsupportedMediaType(HelplineError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"
    description = "The request body's content type is not accepted by this endpoint."


class AttachmentTooLarge(PayloadTooLarge):
    slug, title = "attachment-too-large", "Attachment too large"
    description = "The uploaded file exceeds the attachment size limit; nothing was stored."


class UnsupportedAttachmentType(UnsupportedMediaType):
    slug, title = "unsupported-attachment-type", "Unsupported attachment type"
    description = "The file's type, detected from its bytes, is not an allowed attachment type."


class RangeNotSatisfiable(HelplineError):
    status, slug, title = 416, "range-not-satisfiable", "Range not satisfiable"
    description = "The requested byte range lies outside the attachment."


# 401 / 403 -------------------------------------------------------------------------------------
class Unauthenticated(HelplineError):
    status, slug, title = 401, "unauthenticated", "Authentication required"
    description = "No credentials, or credentials that are malformed, unknown or revoked."
    # False when the request carried no credentials at all (no key, no session cookie).
    credentials_presented: bool = True

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="helpline"'})
        super().__init__(detail, **kw)

    @classmethod
    def no_credentials(cls) -> Unauthenticated:
        error = cls("An API key is required.")
        error.credentials_presented = False
        return error


class ApiKeyExpired(Unauthenticated):
    slug, title = "api-key-expired", "API key expired"
    description = "The API key has passed its expiry (or the end of its rotation grace period)."


class PasswordResetTokenInvalid(HelplineError):
    status, slug, title = 400, "password-reset-token-invalid", "Password reset token invalid"
    description = "The password reset token is unknown, already used, replaced or expired."


class InvalidCredentials(Unauthenticated):
    slug, title = "invalid-credentials", "Invalid credentials"
    description = "The email and password do not match an active account (which one is not said)."


class SessionExpired(Unauthenticated):
    slug, title = "session-expired", "Session expired"
    description = "The login session has ended (logout, timeout, deactivation or password change)."


class PermissionDenied(HelplineError):
    status, slug, title = 403, "permission-denied", "Permission denied"
    description = "The caller is authenticated but lacks the role or scope for this action."


class StatusTransitionForbidden(PermissionDenied):
    slug, title = "status-transition-forbidden", "Status change not allowed"
    description = (
        "Customers may mark their ticket solved, and reopen a solved one; every other status "
        "change is for staff."
    )


class SelfDemotion(PermissionDenied):
    slug, title = "self-demotion", "Admins cannot demote or deactivate themselves"
    description = (
        "An admin's own role and active flag are changed by another admin, never by themselves."
    )


class ScopeNotGrantable(PermissionDenied):
    slug, title = "scope-not-grantable", "Scope not grantable"
    description = (
        "A key created or rotated through an API key may hold only scopes that the presenting "
        "key holds itself (a cookie session may grant its role's scopes); `scopes` lists them."
    )


class CsrfTokenInvalid(PermissionDenied):
    slug, title = "csrf-token-invalid", "CSRF token missing or invalid"
    description = "A cookie-authenticated unsafe request must echo the session's `X-CSRF-Token`."


# 404 -------------------------------------------------------------------------------------------
class NotFound(HelplineError):
    status, slug, title = 404, "not-found", "Not found"
    description = "No such route or resource."
    # (entity type, id) when the resource exists but the caller may not see it: audited as an
    # access attempt, never shown (the response is the same as for a resource that is absent).
    concealed: tuple[str, str] | None = None

    def concealing(self, entity_type: str, entity_id: object) -> NotFound:
        self.concealed = (entity_type, str(entity_id))
        return self


class TicketNotFound(NotFound):
    slug, title = "ticket-not-found", "Ticket not found"
    description = "The ticket does not exist, is deleted, or is not visible to the caller."


class DraftNotFound(NotFound):
    slug, title = "draft-not-found", "Draft not found"
    description = "The caller has no draft on this ticket (none saved, or it was sent)."


class MetadataKeyNotFound(NotFound):
    slug, title = "metadata-key-not-found", "Metadata key not found"
    description = "The ticket has no metadata entry with this key."


class UserNotFound(NotFound):
    slug, title = "user-not-found", "User not found"
    description = "The user does not exist or is not visible to the caller."


class ApiKeyNotFound(NotFound):
    slug, title = "api-key-not-found", "API key not found"
    description = "The API key does not exist or belongs to someone else."


class AttachmentNotFound(NotFound):
    slug, title = "attachment-not-found", "Attachment not found"
    description = "The attachment does not exist or is not visible to the caller."


# 405 / 409 / 412 / 422 / 429 / 503 -------------------------------------------------------------
class MethodNotAllowed(HelplineError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"
    description = "The route exists but does not accept this HTTP method."


class Conflict(HelplineError):
    status, slug, title = 409, "conflict", "Conflict"
    description = "The request conflicts with the current state of the resource."


class TicketClosed(Conflict):
    slug, title = "ticket-closed", "Ticket is closed"
    description = "A closed ticket is terminal: it cannot be changed, and gets no new messages."


class EmailTaken(Conflict):
    slug, title = "email-taken", "Email already in use"
    description = "Another user already has this email address (compared case-insensitively)."


class ApiKeyNotRotatable(Conflict):
    slug, title = "api-key-not-rotatable", "API key cannot be rotated"
    description = (
        "The key is revoked or expired, or its lineage already has a second live key (a rotation "
        "whose grace period has not ended)."
    )


class LastAdmin(Conflict):
    slug, title = "last-admin", "Last active admin"
    description = "The change would leave no active admin."


class MetadataLimitReached(Conflict):
    slug, title = "metadata-limit-reached", "Metadata limit reached"
    description = "The ticket already has the maximum number of metadata keys."


class IdempotencyKeyInFlight(Conflict):
    slug, title = "idempotency-key-in-flight", "Request with this Idempotency-Key in progress"
    description = (
        "A request with the same Idempotency-Key is still being processed; retry once it is done "
        "to get its response replayed."
    )


class PreconditionFailed(HelplineError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"
    description = (
        "The If-Match version is stale and a field of the change was changed since: the body "
        "carries `current_version` and, per such field, `conflicts[]` with both values."
    )


class ValidationFailed(HelplineError):
    status, slug, title = 422, "validation-error", "Validation failed"
    description = "One or more fields are invalid; `errors[]` names each field and the reason."


class AttachmentNotBindable(ValidationFailed):
    slug, title = "attachment-not-bindable", "Attachment cannot be attached"
    description = (
        "Each `attachment_ids` entry must be an upload of the caller's that is not yet bound to a "
        "message (unknown, foreign, already bound and collected uploads all look alike)."
    )


class IdempotencyKeyInvalid(ValidationFailed):
    slug, title = "idempotency-key-invalid", "Invalid Idempotency-Key"
    description = "An Idempotency-Key is 1-255 visible ASCII characters (no spaces)."


class IdempotencyKeyReused(ValidationFailed):
    slug, title = "idempotency-key-reused", "Idempotency-Key reused with another request"
    description = (
        "This Idempotency-Key was already used (within 24 hours) for a request with a different "
        "method, path or body; use a new key for a new request."
    )


class RateLimited(HelplineError):
    status, slug, title = 429, "rate-limited", "Too many requests"
    description = "The caller exceeded its rate limit; retry after `Retry-After` seconds."
    result: Any = None  # the limiter's verdict (policy, limit), for the audit event


class DependencyUnavailable(HelplineError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"
    description = "A dependency (database) is unavailable; retry later."


def database_error(exc: Exception) -> HelplineError | None:
    """Map a database error caused by client input to its 4xx (REST and GraphQL alike); None
    means a server fault. ``exc`` is a SQLAlchemy ``DBAPIError`` (its driver error in ``orig``)."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(
        getattr(orig, "__cause__", None), "sqlstate", None
    )
    if not isinstance(sqlstate, str):
        return None
    if sqlstate.startswith("22") or sqlstate in ("23502", "23514"):  # data / not-null / check
        return ValidationFailed(
            "A value is not acceptable to the database (bad characters or range)."
        )
    if sqlstate in ("23505", "40001", "40P01"):
        return Conflict("The change conflicts with a concurrent change; retry.")
    if sqlstate == "57014":
        return DependencyUnavailable("The database took too long to answer.")
    return None


# webhooks -------------------------------------------------------------------------------------
# Every problem type lives here, so that the catalogue (docs, OpenAPI examples) never depends on
# which modules happen to be imported first.
class WebhookNotFound(NotFound):
    slug, title = "webhook-not-found", "Webhook endpoint not found"
    description = "No webhook endpoint (or delivery) with this id."


class TeamNotFound(NotFound):
    slug, title = "team-not-found", "Team not found"
    description = "No team with this id."


class MacroNotFound(NotFound):
    slug, title = "macro-not-found", "Macro not found"
    description = "No macro with this id that the caller may see (shared, or their own)."


class RuleNotFound(NotFound):
    slug, title = "rule-not-found", "Rule not found"
    description = "No automation rule with this id."


class ViewNotFound(NotFound):
    slug, title = "view-not-found", "Saved view not found"
    description = "None of the caller's saved views has this id (others' views are never shown)."


class NameTaken(Conflict):
    slug, title = "name-taken", "Name already in use"
    description = (
        "Another team or rule, or another of the caller's saved views, already has this name "
        "(compared case-insensitively)."
    )


class ViewLimitReached(Conflict):
    slug, title = "view-limit-reached", "Saved view limit reached"
    description = "The caller already has the maximum number of saved views; delete one first."


class TemplateRefused(ValidationFailed):
    slug, title = "template-refused", "Template refused"
    description = (
        "The macro template uses a placeholder that does not exist, or a construct the sandbox "
        "does not allow (statements, calls, subscripts, private or dunder attributes, unknown "
        "filters); `errors[]` names each one."
    )


class RuleInvalid(ValidationFailed):
    slug, title = "rule-invalid", "Rule invalid"
    description = (
        "A condition names an unknown field, operator or event, or an action an unknown kind "
        "or a value of the wrong type; `errors[]` names each one."
    )


class WebhookTargetRefused(ValidationFailed):
    slug, title = "webhook-target-refused", "Webhook target refused"
    description = (
        "The URL's host does not resolve, or resolves to an address that is not globally "
        "reachable (loopback, private, link-local, shared, reserved, multicast …) and that "
        "HELPLINE_WEBHOOK_ALLOWED_HOSTS does not allow, or names a cloud metadata service "
        "(refused always)."
    )


# email channel --------------------------------------------------------------------------------
class MailboxNotFound(NotFound):
    slug, title = "mailbox-not-found", "Mailbox not found"
    description = "No mailbox with this id or address."


class MailboxAddressTaken(Conflict):
    slug, title = "mailbox-address-taken", "Mailbox address already in use"
    description = "Another mailbox has this address (compared case-insensitively)."


class MailboxDefaultChanged(Conflict):
    slug, title = "mailbox-default-changed", "Default mailbox changed meanwhile"
    description = (
        "Another request made a different mailbox the default at the same moment (one default "
        "at most); read the mailboxes again and retry."
    )


class MailboxConnectionFailed(HelplineError):
    status, slug, title = 422, "mailbox-connection-failed", "Mailbox connection failed"
    description = (
        "Testing the mailbox's servers failed: `imap` and `smtp` carry each check's result "
        "(`ok`, `detail`; `imap` is null without IMAP). No credential is ever echoed."
    )


class MailboxDisabled(Conflict):
    slug, title = "mailbox-disabled", "Mailbox disabled"
    description = "The mailbox is disabled and takes no mail; an admin can enable it again."


class InboundSignatureInvalid(Unauthenticated):
    slug, title = "inbound-signature-invalid", "Inbound signature invalid"
    description = (
        "The inbound mail request is not signed with the mailbox's secret per Standard Webhooks "
        "(`webhook-id`, `webhook-timestamp` within 5 minutes, `webhook-signature`)."
    )


class InboundEmailTooLarge(PayloadTooLarge):
    slug, title = "inbound-email-too-large", "Inbound message too large"
    description = "The message exceeds HELPLINE_MAIL_MAX_BYTES; nothing was stored."


class InboundEmailNotFound(NotFound):
    slug, title = "inbound-email-not-found", "Inbound email not found"
    description = "No inbound email with this id."


class InboundEmailNotQuarantined(Conflict):
    slug, title = "inbound-email-not-quarantined", "Inbound email is not quarantined"
    description = "Only a quarantined inbound email can be replayed or discarded."


class EmailSuppressionNotFound(NotFound):
    slug, title = "email-suppression-not-found", "Address not suppressed"
    description = "The address is not on the suppression list."


# service levels -------------------------------------------------------------------------------
class SlaCalendarNotFound(NotFound):
    slug, title = "sla-calendar-not-found", "Calendar not found"
    description = "No SLA calendar with this id."


class SlaPolicyNotFound(NotFound):
    slug, title = "sla-policy-not-found", "SLA policy not found"
    description = "No SLA policy (or recomputation) with this id."


class SlaNameTaken(Conflict):
    slug, title = "sla-name-taken", "Name already in use"
    description = "Another calendar (or policy) already has this name."


class SlaCalendarInUse(Conflict):
    slug, title = "sla-calendar-in-use", "Calendar in use"
    description = "A policy uses this calendar; change or delete that policy first."


class SlaPolicyOrderStale(Conflict):
    slug, title = "sla-policy-order-stale", "Policy order is stale"
    description = (
        "The order must name every policy exactly once: a policy was added or deleted since "
        "the list was read. Read the policies again and resend the whole order."
    )


class SlaPolicyInvalid(ValidationFailed):
    slug, title = "sla-policy-invalid", "SLA policy invalid"
    description = (
        "The policy cannot work as given: a business-time target without a calendar, an "
        "unknown calendar, or a calendar with no business time at all."
    )
