"""SQLAlchemy models, one file per table. Importing this package registers them all."""

from helpline.models.api_key import ApiKey
from helpline.models.attachment import Attachment
from helpline.models.audit_archive import AuditArchive
from helpline.models.audit_log import AuditLog
from helpline.models.audit_seal import AuditSeal
from helpline.models.base import Base
from helpline.models.cache_invalidation import CacheInvalidation
from helpline.models.conversation import Conversation
from helpline.models.email_suppression import EmailSuppression
from helpline.models.event import Event
from helpline.models.idempotency_key import IdempotencyKey
from helpline.models.inbound_email import InboundEmail
from helpline.models.macro import Macro
from helpline.models.mailbox import Mailbox
from helpline.models.outbound_email import OutboundEmail
from helpline.models.report_rollup import (
    ReportRollup,
    ReportRollupBin,
    ReportRollupZone,
    TicketRollupState,
)
from helpline.models.rule import Rule, RuleExecution, RuleFeedCursor, RuleState, RuleTimer
from helpline.models.saved_view import SavedView
from helpline.models.sla import (
    SlaCalendar,
    SlaClock,
    SlaFeedPosition,
    SlaInboxRest,
    SlaPolicy,
    SlaRecompute,
    SlaTicketState,
)
from helpline.models.team import Team, TeamMember
from helpline.models.ticket import Ticket
from helpline.models.ticket_draft import TicketDraft
from helpline.models.ticket_history import TicketHistory
from helpline.models.ticket_metadata import TicketMetadata
from helpline.models.ticket_metric_fact import MetricFeedPosition, TicketMetricFact
from helpline.models.ticket_read_marker import TicketReadMarker
from helpline.models.user import User
from helpline.models.webhook_delivery import WebhookDelivery
from helpline.models.webhook_endpoint import WebhookEndpoint

__all__ = [
    "ApiKey",
    "Attachment",
    "AuditArchive",
    "AuditLog",
    "AuditSeal",
    "Base",
    "CacheInvalidation",
    "Conversation",
    "EmailSuppression",
    "Event",
    "IdempotencyKey",
    "InboundEmail",
    "Macro",
    "Mailbox",
    "MetricFeedPosition",
    "OutboundEmail",
    "ReportRollup",
    "ReportRollupBin",
    "ReportRollupZone",
    "Rule",
    "RuleExecution",
    "RuleFeedCursor",
    "RuleState",
    "RuleTimer",
    "SavedView",
    "SlaCalendar",
    "SlaClock",
    "SlaFeedPosition",
    "SlaInboxRest",
    "SlaPolicy",
    "SlaRecompute",
    "SlaTicketState",
    "Team",
    "TeamMember",
    "Ticket",
    "TicketDraft",
    "TicketHistory",
    "TicketMetadata",
    "TicketMetricFact",
    "TicketReadMarker",
    "TicketRollupState",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
