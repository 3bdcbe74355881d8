"""The application's services: one typed container, built by the lifespan, read by dependencies.

Everything a process holds for its whole life — the database, Redis, the cache backend, the rate
limiter, the principal cache, the buffered audit writer, the background loops — is one field here,
typed, instead of an attribute of ``app.state``. Dependencies reach it through :func:`services`.
Building and closing it is ``helpline.app``'s business (the composition root); this module only
names the types, so that any layer may depend on it without importing the domains it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from helpline.attachment.storage import StorageBackend
    from helpline.audit.service import AuditService
    from helpline.auth.credentials import CredentialResolver
    from helpline.auth.principal_cache import PrincipalCache
    from helpline.auth.ratelimit import RateLimiter
    from helpline.auth.usage import KeyUseRecorder
    from helpline.config import Settings
    from helpline.conversation.service import ReplyMailer
    from helpline.db import Database
    from helpline.events.live import FeedWatcher
    from helpline.kit.cache import CacheBackend
    from helpline.kit.clock import Clock
    from helpline.kit.periodic import Periodic
    from helpline.kit.replicas import ReadRouter
    from helpline.presence.service import PresenceService
    from helpline.ticket.cache import InvalidationOutbox


@dataclass(eq=False)
class AppServices:
    """What one application instance holds while it runs (built in the lifespan)."""

    settings: Settings
    clock: Clock
    db: Database
    redis: Any
    cache: CacheBackend | None
    rate_limiter: RateLimiter | None  # None: no limits (a benchmark variant)
    principals: PrincipalCache
    credentials: CredentialResolver
    key_use: KeyUseRecorder
    audit: AuditService
    attachment_storage: StorageBackend
    migration_head: str | None
    known_revisions: frozenset[str]
    read_router: ReadRouter | None = None
    invalidation_outbox: InvalidationOutbox | None = None
    feed_watcher: FeedWatcher | None = None  # wakes this process's event streams
    presence: PresenceService | None = None
    periodic: list[Periodic] = field(default_factory=list)  # the process's background loops
    # Mails staff replies on tickets that came by mail (helpline.mail.outbox.queue_reply).
    reply_mailer: ReplyMailer | None = None


def services(connection: HTTPConnection) -> AppServices:
    """The services of the application serving ``connection`` (a request)."""
    found: AppServices = connection.app.state.services
    return found
