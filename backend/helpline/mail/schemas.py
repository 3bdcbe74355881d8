"""Representations of mailboxes, inbound emails and suppressions (credentials never appear)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from helpline.kit.emails import EmailAddress
from helpline.models.enums import TicketPriority

IMAP_SCHEMES = frozenset({"imap", "imaps"})
SMTP_SCHEMES = frozenset({"smtp", "smtps", "smtp+starttls", "log"})
DEFAULT_ACKNOWLEDGEMENT = (
    "Thank you for your message. We have opened ticket #{number} ({title}) and will answer "
    "as soon as we can. Please keep [#{number}] in the subject when you write about it."
)


def _url(schemes: frozenset[str], what: str) -> Any:
    def check(value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in schemes:
            raise ValueError(f"{what} must use one of: {', '.join(sorted(schemes))}")
        if parts.scheme != "log" and not parts.hostname:
            raise ValueError(f"{what} needs a host")
        return value

    return AfterValidator(check)


UrlText = Annotated[str, Field(max_length=2000)]
ImapUrl = Annotated[UrlText | None, _url(IMAP_SCHEMES, "imap_url")]
SmtpUrl = Annotated[UrlText | None, _url(SMTP_SCHEMES, "smtp_url")]
DisplayName = Annotated[str, Field(max_length=200)]
Template = Annotated[str, Field(max_length=20_000)]


class MailboxCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "address": "support@example.com",
                    "display_name": "Example Support",
                    "imap_url": "imaps://support%40example.com:app-password@imap.example.com:993/INBOX",
                    "allow_unknown_senders": True,
                    "auto_acknowledge": True,
                }
            ]
        },
    )

    address: EmailAddress = Field(description="The address customers write to.")
    display_name: DisplayName = Field("", description="Name in From of outgoing mail.")
    imap_url: ImapUrl = Field(
        None,
        description="`imaps://USER:PASS@HOST:PORT/FOLDER` to fetch mail from (write-only, "
        "stored encrypted); omit for a mailbox fed by the inbound HTTP endpoint or the CLI.",
    )
    smtp_url: SmtpUrl = Field(
        None, description="Outgoing server for this mailbox (write-only; default: the setting)."
    )
    default_priority: TicketPriority = Field(
        TicketPriority.normal, description="Priority of tickets opened by mail."
    )
    default_assignee: uuid.UUID | None = Field(
        None, description="Agent or admin assigned to tickets opened by mail."
    )
    default_team_id: uuid.UUID | None = Field(
        None, description="Team that tickets opened by mail belong to (rules can route further)."
    )
    allow_unknown_senders: bool = Field(
        True, description="Unknown senders become customers (else their mail is quarantined)."
    )
    auto_acknowledge: bool = Field(False, description="Answer each new ticket automatically.")
    auto_acknowledge_template: Template = Field(
        DEFAULT_ACKNOWLEDGEMENT, description="Acknowledgement text; `{number}`, `{title}`."
    )
    is_active: bool = Field(True, description="Disabled mailboxes take no mail.")
    is_default: bool = Field(
        False,
        description="Mail the public staff replies of tickets opened on the web or by the API "
        "from this mailbox (at most one default: making this one the default unsets the other).",
    )


class MailboxUpdate(BaseModel):
    """Only the fields present change; `imap_url: null` turns IMAP off."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = Field(None, description="Name in From of outgoing mail.")
    imap_url: ImapUrl = Field(None, description="New IMAP URL (write-only), or null.")
    smtp_url: SmtpUrl = Field(None, description="New SMTP URL (write-only), or null.")
    default_priority: TicketPriority | None = Field(
        None, description="Priority of tickets opened by mail."
    )
    default_assignee: uuid.UUID | None = Field(
        None, description="Agent or admin assigned to tickets opened by mail."
    )
    default_team_id: uuid.UUID | None = Field(
        None, description="Team of tickets opened by mail, or null for none."
    )
    allow_unknown_senders: bool | None = Field(
        None, description="Unknown senders become customers (else their mail is quarantined)."
    )
    auto_acknowledge: bool | None = Field(None, description="Answer each new ticket automatically.")
    auto_acknowledge_template: Template | None = Field(
        None, description="Acknowledgement text; `{number}`, `{title}`."
    )
    is_active: bool | None = Field(None, description="Disabled mailboxes take no mail.")
    is_default: bool | None = Field(
        None,
        description="Make it the default mailbox (the previous default stops being one), or not.",
    )


class MailboxRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Mailbox id.")
    address: str = Field(description="The address.")
    display_name: str = Field(description="Name in From of outgoing mail.")
    inbound: Literal["imap", "http"] = Field(
        description="`imap` when the worker fetches its mail; `http` when only the inbound "
        "endpoint and `helpline mail ingest` feed it."
    )
    smtp_override: bool = Field(description="Whether it has its own SMTP server.")
    default_priority: TicketPriority = Field(description="Priority of tickets opened by mail.")
    default_assignee: uuid.UUID | None = Field(
        description="Agent or admin assigned to tickets opened by mail."
    )
    default_team_id: uuid.UUID | None = Field(
        description="Team of tickets opened by mail (null: none; a deleted team clears it)."
    )
    allow_unknown_senders: bool = Field(
        description="Unknown senders become customers (else their mail is quarantined)."
    )
    auto_acknowledge: bool = Field(description="Answer each new ticket automatically.")
    auto_acknowledge_template: str = Field(
        description="Acknowledgement text; `{number}`, `{title}`."
    )
    is_active: bool = Field(description="Disabled mailboxes take no mail.")
    is_default: bool = Field(
        description="Whether it mails the replies of tickets opened on the web or by the API."
    )
    imap_uidvalidity: int | None = Field(description="IMAP folder UIDVALIDITY last seen.")
    imap_last_uid: int | None = Field(description="Highest IMAP UID stored.")
    imap_error: str | None = Field(description="Last IMAP error (null when healthy).")
    imap_checked_at: datetime | None = Field(description="Last successful IMAP check.")
    inbound_path: str = Field(description="Path of its inbound HTTP endpoint.")
    created_at: datetime = Field(description="When it was created (UTC).")
    updated_at: datetime = Field(description="Last change by an admin (UTC).")

    @classmethod
    def of(cls, row: Any) -> MailboxRead:
        return cls(
            id=row.id,
            address=row.address,
            display_name=row.display_name,
            inbound="imap" if row.imap_url_encrypted is not None else "http",
            smtp_override=row.smtp_url_encrypted is not None,
            default_priority=row.default_priority,
            default_assignee=row.default_assignee,
            default_team_id=row.default_team_id,
            allow_unknown_senders=row.allow_unknown_senders,
            auto_acknowledge=row.auto_acknowledge,
            auto_acknowledge_template=row.auto_acknowledge_template,
            is_active=row.is_active,
            is_default=row.is_default,
            imap_uidvalidity=row.imap_uidvalidity,
            imap_last_uid=row.imap_last_uid,
            imap_error=row.imap_error,
            imap_checked_at=row.imap_checked_at,
            inbound_path=f"/api/v1/inbound/email/{row.id}",
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class MailboxWithSecret(MailboxRead):
    inbound_secret: str = Field(
        description="`whsec_…` signing secret of the inbound HTTP endpoint; shown only this once."
    )


class ConnectionCheck(BaseModel):
    ok: bool = Field(description="Whether the server answered and accepted the login.")
    detail: str = Field(description="What happened (never a credential).")


class ConnectionTest(BaseModel):
    imap: ConnectionCheck | None = Field(description="IMAP login + SELECT; null without IMAP.")
    smtp: ConnectionCheck = Field(description="SMTP connection and EHLO (log:// always ok).")


class InboundAccepted(BaseModel):
    id: uuid.UUID = Field(description="Inbound email id.")
    status: str = Field(description="received | processed | quarantined | discarded.")


class InboundEmailRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Its id.")
    mailbox_id: uuid.UUID = Field(description="The mailbox that received it.")
    size: int = Field(description="Raw size in bytes.")
    sha256: str = Field(description="Hex SHA-256 of the raw message.")
    message_id: str | None = Field(description="Message-ID (without <>).")
    source: str = Field(description="http | imap | cli: how it first arrived.")
    imap_uidvalidity: int | None = Field(
        description="UIDVALIDITY of the folder it came from (IMAP only)."
    )
    imap_uid: int | None = Field(description="Its IMAP UID (IMAP only).")
    status: str = Field(description="received | processed | quarantined | discarded.")
    reason: str | None = Field(description="Why it was quarantined or discarded.")
    sender: str | None = Field(description="From address.")
    ticket_id: uuid.UUID | None = Field(description="The ticket it went to.")
    conversation_id: uuid.UUID | None = Field(description="The message it became.")
    thread_reason: str | None = Field(
        description="How it was threaded: reply_token | references | subject | new_ticket | bounce."
    )
    attempts: int = Field(description="Processing attempts.")
    received_at: datetime = Field(description="When it was stored (UTC).")
    processed_at: datetime | None = Field(description="When processing decided its fate (UTC).")
    raw_purged_at: datetime | None = Field(
        None,
        description="When the retention job dropped its raw bytes (HELPLINE_MAIL_RAW_RETENTION_"
        "DAYS); the row stays, so the same message is still recognised as a duplicate.",
    )


class SuppressionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    address: str = Field(description="Suppressed address (lower-case).")
    reason: str = Field(description="Why (the bounce's status and diagnostic).")
    created_at: datetime = Field(description="When it was created (UTC).")
