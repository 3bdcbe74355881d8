"""Ticket cache-aside and the list response cache (ADR 0006).

Tickets: one entry per id holding exactly what ``GET /tickets/{id}`` returns, stamped with the
namespace epoch and the ticket ``version``. A reader that misses takes a short *fill lease* (a
random token, ``SET NX PX``) before it reads PostgreSQL; it may store its row only while the lease
is still its own. Invalidation after commit deletes the entry **and the lease**, so a reader that
read the old row before a writer committed can never put it back (the stale-set race); the fill is
also refused if a newer version is already cached. Readers that find someone else's lease wait
briefly for that fill instead of reading PostgreSQL (stampede guard across processes); within a
process one coroutine per key does the work (single-flight).

Visibility is never cached: the entry is the staff view of the row, and every read — hit or miss —
checks ``visible_tickets(principal)`` against the ticket's customer.

Lists: the whole response body under ``visibility.cache_key()`` + the normalized query, stamped
with the epoch and the generation counter of that visibility; writes replace the generation of
``staff`` and of the ticket's customer after commit. Nothing is cached from a transaction that has
queued writes (its rows may still roll back).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from redis.exceptions import RedisError

from helpline.db import Database, UnitOfWork
from helpline.kit import roundtrip
from helpline.kit.cache import (
    CACHE_INVALIDATIONS,
    CACHE_REQUESTS,
    CACHE_SETS,
    FEED_CHANNEL,
    CacheBackend,
    CacheUnavailable,
    SingleFlight,
)
from helpline.kit.pagination import Page
from helpline.kit.periodic import Periodic
from helpline.kit.redis_client import is_cluster
from helpline.ticket import repository
from helpline.ticket.access import TicketVisibility
from helpline.ticket.schemas import TicketDetail, TicketListItem

log = logging.getLogger(__name__)

STAFF_VIEW = TicketVisibility(customer_id=None, sees_internal=True)

# Entry: b"<epoch>|<version>|<customer_id>|<json body>".
TICKET_GET = roundtrip.Script("""
local epoch = redis.call('GET', KEYS[1])
if not epoch then epoch = ARGV[3]; redis.call('SET', KEYS[1], epoch) end
local raw = redis.call('GET', KEYS[2])
if raw then
  local sep = string.find(raw, '|', 1, true)
  if sep and string.sub(raw, 1, sep - 1) == epoch then return {1, raw, epoch} end
end
if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, '', epoch} end
return {3, '', epoch}
""")

# ARGV: lease token, epoch seen at the miss, version, entry, ttl ms.
TICKET_SET = roundtrip.Script("""
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[3])
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
local raw = redis.call('GET', KEYS[2])
if raw then
  local a = string.find(raw, '|', 1, true)
  local b = a and string.find(raw, '|', a + 1, true)
  if b and string.sub(raw, 1, a - 1) == ARGV[2]
     and tonumber(string.sub(raw, a + 1, b - 1)) > tonumber(ARGV[3]) then return 0 end
end
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
return 1
""")

# Entry: b"<epoch>:<generation>[:<reader generation>]|<etag>|<json body>". A staff list page
# carries the reader's own `unread` flags: it is kept per reader (KEYS[4] is that reader's
# generation, renewed when they mark a ticket read or unread) and also dropped by every change
# (the shared staff generation).
LIST_GET = roundtrip.Script("""
local epoch = redis.call('GET', KEYS[1])
if not epoch then epoch = ARGV[1]; redis.call('SET', KEYS[1], epoch) end
local gen = redis.call('GET', KEYS[2])
if not gen then gen = ARGV[1]; redis.call('SET', KEYS[2], gen) end
local stamp = epoch .. ':' .. gen
if KEYS[4] then
  local own = redis.call('GET', KEYS[4])
  if not own then own = ARGV[1]; redis.call('SET', KEYS[4], own) end
  stamp = stamp .. ':' .. own
end
local raw = redis.call('GET', KEYS[3])
if raw then
  local sep = string.find(raw, '|', 1, true)
  if sep and string.sub(raw, 1, sep - 1) == stamp then return {1, raw} end
end
return {0, stamp}
""")

LIST_SET = roundtrip.Script("""
local epoch = redis.call('GET', KEYS[1])
local gen = redis.call('GET', KEYS[2])
if not epoch or not gen then return 0 end
local stamp = epoch .. ':' .. gen
if KEYS[4] then
  local own = redis.call('GET', KEYS[4])
  if not own then return 0 end
  stamp = stamp .. ':' .. own
end
if stamp ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
return 1
""")


# The shape of the cached bodies: part of every entry's key, so that entries rendered by an
# older release (without a field the representation has since gained) are never served after
# an upgrade. Bump it when TicketRead/TicketDetail change. r2: tickets carry `number`; r3: the
# staff-only `sla` block is kept beside the body; r4: staff list items carry `unread` and
# `customer`, staff list pages are kept per reader.
REPRESENTATION = "r4"


@dataclass(frozen=True, slots=True)
class TicketEntry:
    """A ticket as GET returns it: the JSON body plus what access checks and ETags need.

    ``body`` is the representation without the staff-only ``sla`` block (what a customer
    gets, sent as is); ``sla`` is that block's JSON (``null``: no policy applies; ``None``: not
    loaded, a customer's uncached read). Staff get the body with the block spliced in, so
    neither view is ever re-serialized on a cache hit."""

    version: int
    customer_id: uuid.UUID
    body: bytes
    sla: bytes | None = None
    rendered: TicketDetail | None = field(default=None, compare=False)  # known without parsing

    def detail(self) -> TicketDetail:
        """The ticket as an object, with its ``sla`` block when loaded (parsed only when it
        came from Redis)."""
        if self.rendered is not None:
            return self.rendered
        return TicketDetail.model_validate_json(self.staff_body())

    def staff_body(self) -> bytes:
        if self.sla is None:
            return self.body
        return b"".join((self.body[:-1], b',"sla":', self.sla, b"}"))

    def body_for(self, visibility: TicketVisibility) -> bytes:
        """The JSON this caller gets: customers never see the ``sla`` block."""
        return self.staff_body() if visibility.sees_internal else self.body

    def etag_for(self, visibility: TicketVisibility) -> str:
        """The version as ETag; for staff with a policy, the version and a digest of the
        ``sla`` block, which the worker changes without a new version (If-Match reads the
        version only)."""
        if not visibility.sees_internal or self.sla is None or self.sla == b"null":
            return f'"{self.version}"'
        return f'"{self.version}.{hashlib.sha256(self.sla).hexdigest()[:8]}"'

    def visible_to(self, visibility: TicketVisibility) -> bool:
        return visibility.customer_id is None or visibility.customer_id == self.customer_id

    @classmethod
    def from_row(cls, row: Any) -> TicketEntry:
        detail = TicketDetail.model_validate(row)
        loaded = "sla" in row._fields
        body = detail.model_dump_json(exclude={"sla"}).encode()
        sla = detail.sla.model_dump_json().encode() if detail.sla is not None else b"null"
        return cls(
            version=row.version,
            customer_id=row.customer_id,
            body=body,
            sla=sla if loaded else None,
            rendered=detail,
        )

    @classmethod
    def parse(cls, raw: bytes) -> TicketEntry:
        _epoch, version, customer, size, rest = raw.split(b"|", 4)
        n = int(size)
        return cls(
            version=int(version),
            customer_id=uuid.UUID(customer.decode()),
            body=rest[n:],
            sla=rest[:n] if n else None,
        )

    def pack(self, epoch: bytes) -> bytes:
        sla = self.sla or b""
        return b"|".join(
            (
                epoch,
                str(self.version).encode(),
                str(self.customer_id).encode(),
                str(len(sla)).encode(),
                sla + self.body,
            )
        )


# Staff pages carry each ticket's `sla` block; a customer's page has none (parsed: null).
TicketPage = Page[TicketListItem]
# A list page, or another list-shaped answer cached the same way (the per-status counts).
LoadPage = Callable[[], Awaitable[BaseModel]]


@dataclass(frozen=True, slots=True)
class ListDocument:
    """A list response as REST sends it (JSON bytes and a weak ETag) and as GraphQL reads it
    (:meth:`page`). The cache owns the encoding: callers hand it objects and get objects back."""

    etag: str
    body: bytes
    rendered: TicketPage | None = field(default=None, compare=False)  # known without parsing

    @classmethod
    def of(cls, body: bytes, rendered: TicketPage | None = None) -> ListDocument:
        return cls(f'W/"{hashlib.sha256(body).hexdigest()[:32]}"', body, rendered)

    @classmethod
    def render(cls, page: BaseModel) -> ListDocument:
        return cls.of(page.model_dump_json().encode(), page if isinstance(page, Page) else None)

    def page(self) -> TicketPage:
        """The page as objects (parsed only when it came from Redis)."""
        if self.rendered is not None:
            return self.rendered
        return TicketPage.model_validate_json(self.body)


async def render_list(uow: UnitOfWork, load: LoadPage) -> ListDocument:
    """Load a page and encode it, its connection back in the pool before the encoding."""
    page = await load()
    await uow.release()
    return ListDocument.render(page)


def _b(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class TicketCache:
    """Ticket and list caching for one backend (one per app; single-flight is per process)."""

    def __init__(
        self,
        backend: CacheBackend,
        *,
        ttl_s: int = 300,
        jitter: float = 0.1,
        list_ttl_s: int = 5,
        lease_ms: int = 2000,
        lease_wait_ms: int = 150,
    ) -> None:
        self.backend = backend
        self.ttl_s = ttl_s
        self.jitter = jitter
        self.list_ttl_s = list_ttl_s
        self.lease_ms = lease_ms
        self.lease_wait_s = lease_wait_ms / 1000
        self.flights = SingleFlight()
        self.outbox: InvalidationOutbox | None = None

    # keys ---------------------------------------------------------------------------------
    def _ticket_keys(self, ticket_id: uuid.UUID) -> list[str]:
        b = self.backend
        kind = f"ticket.{REPRESENTATION}"
        return [b.epoch_key, b.key(kind, ticket_id), b.key(kind, ticket_id, "lease")]

    def _generation_key(self, scope: str) -> str:
        return self.backend.key("listgen", scope)

    def _ttl_ms(self, seconds: int) -> int:
        return int(seconds * 1000 * (1 + random.uniform(0, self.jitter)))  # noqa: S311  # nosec B311

    # tickets ------------------------------------------------------------------------------
    async def get_ticket(
        self, uow: UnitOfWork, ticket_id: uuid.UUID, visibility: TicketVisibility
    ) -> TicketEntry | None:
        """The ticket if it exists and ``visibility`` may see it, else None."""
        if uow.changed:
            CACHE_REQUESTS.inc(cache="ticket", result="bypass")
            entry = await self._load(uow, ticket_id)
        else:
            entry = await self.flights.do(
                str(ticket_id), lambda: self._read_through(uow, ticket_id)
            )
        if entry is None or not entry.visible_to(visibility):
            return None
        return entry

    async def _load(self, uow: UnitOfWork, ticket_id: uuid.UUID) -> TicketEntry | None:
        row = await uow.read(lambda s: repository.get_ticket(s, ticket_id, STAFF_VIEW))
        await uow.release()  # the connection goes back before the body is built
        return None if row is None else TicketEntry.from_row(row)

    async def _read_through(self, uow: UnitOfWork, ticket_id: uuid.UUID) -> TicketEntry | None:
        keys = self._ticket_keys(ticket_id)
        token = self.backend.token()
        deadline = time.monotonic() + self.lease_wait_s
        try:
            while True:
                call = TICKET_GET.call(keys, [token, self.lease_ms, self.backend.token()])
                status, raw, epoch = await self._first_trip(uow, "ticket", call)
                if status == 1:
                    CACHE_REQUESTS.inc(cache="ticket", result="hit")
                    return TicketEntry.parse(raw)
                if status == 2 or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.005)  # another process is filling this key
        except CacheUnavailable:
            CACHE_REQUESTS.inc(cache="ticket", result="error")
            return await self._load(uow, ticket_id)
        CACHE_REQUESTS.inc(cache="ticket", result="miss")
        entry = await self._load(uow, ticket_id)
        if status == 2 and entry is not None:
            await self._fill(keys, token, _b(epoch), entry)
        return entry

    async def _first_trip(self, uow: UnitOfWork, cache: str, call: roundtrip.Call) -> Any:
        """Run ``call``; the unit's deferred Redis work (its rate-limit hit) rides along.

        A refused hit raises 429 here, before the answer is used. If Redis cannot be used, the
        deferred work is settled on its own (its owner's fallback) and CacheUnavailable raised.
        """
        deferred = uow.take_deferred()
        if deferred is None:
            return (await self._execute(cache, [call]))[0]
        calls = [*deferred.calls, call]
        try:  # on the deferred work's own client, whose timeout suits the rate limit
            answers = await self.backend.run(
                cache,
                lambda: roundtrip.execute(deferred.redis, calls),
                timeout_s=deferred.timeout_s,
                bounded=deferred.socket_bounded,
            )
        except CacheUnavailable as exc:
            if exc.tried:
                await deferred.fallback(exc)
            else:
                await deferred.flush()
            raise
        await deferred.resolve(answers[:-1])
        return answers[-1]

    async def _execute(self, cache: str, calls: list[roundtrip.Call]) -> list[Any]:
        redis = self.backend.redis
        return await self.backend.run(cache, lambda: roundtrip.execute(redis, calls))

    async def _fill(self, keys: list[str], token: str, epoch: bytes, entry: TicketEntry) -> None:
        args = [token, epoch, entry.version, entry.pack(epoch), self._ttl_ms(self.ttl_s)]
        try:
            (stored,) = await self._execute("ticket", [TICKET_SET.call(keys, args)])
        except CacheUnavailable:
            return
        CACHE_SETS.inc(cache="ticket", outcome="stored" if stored else "rejected")

    # lists --------------------------------------------------------------------------------
    async def get_list(
        self,
        uow: UnitOfWork,
        visibility: TicketVisibility,
        query: str,
        load: LoadPage,
        *,
        reader: uuid.UUID | None = None,
    ) -> ListDocument:
        """The list page for this visibility and normalized query, cached briefly. With
        ``reader`` (a staff page with that user's `unread` flags) the entry is theirs alone and
        also dropped when they mark a ticket read or unread."""
        if uow.changed:
            CACHE_REQUESTS.inc(cache="list", result="bypass")
            return await render_list(uow, load)
        scope = visibility.cache_key()
        digest = hashlib.sha256(query.encode()).hexdigest()[:32]
        entry = scope if reader is None else f"{scope}:{reader}"
        keys = [
            self.backend.epoch_key,
            self._generation_key(scope),
            self.backend.key(f"list.{REPRESENTATION}", entry, digest),
        ]
        if reader is not None:
            keys.append(self._generation_key(f"reader:{reader}"))
        return await self.flights.do(f"list:{entry}:{digest}", lambda: self._list(uow, keys, load))

    async def invalidate_reader(self, reader: uuid.UUID) -> None:
        """Drop ``reader``'s list pages (their read markers changed): a new generation."""
        key = self._generation_key(f"reader:{reader}")
        redis = self.backend.redis
        try:
            await self.backend.run(
                "invalidate", lambda: redis.set(key, self.backend.token()), invalidation=True
            )
        except CacheUnavailable:
            # Marked lost by the backend: the epoch is renewed when Redis is back.
            log.warning("read-marker invalidation not delivered; epoch will be renewed")

    async def _list(self, uow: UnitOfWork, keys: list[str], load: LoadPage) -> ListDocument:
        try:
            call = LIST_GET.call(keys, [self.backend.token()])
            hit, value = await self._first_trip(uow, "list", call)
        except CacheUnavailable:
            CACHE_REQUESTS.inc(cache="list", result="error")
            return await render_list(uow, load)
        if hit == 1:
            CACHE_REQUESTS.inc(cache="list", result="hit")
            _stamp, etag, body = _b(value).split(b"|", 2)
            return ListDocument(etag=etag.decode(), body=body)
        CACHE_REQUESTS.inc(cache="list", result="miss")
        document = await render_list(uow, load)
        stamp = _b(value)
        packed = b"|".join((stamp, document.etag.encode(), document.body))
        args = [stamp, packed, self._ttl_ms(self.list_ttl_s)]
        try:
            (stored,) = await self._execute("list", [LIST_SET.call(keys, args)])
            CACHE_SETS.inc(cache="list", outcome="stored" if stored else "rejected")
        except CacheUnavailable:
            pass
        return document

    # invalidation -------------------------------------------------------------------------
    async def invalidate(self, tickets: dict[uuid.UUID, uuid.UUID | None]) -> None:
        """Drop the entries and fill leases of ``tickets`` and renew the affected generations;
        if Redis cannot be reached, record them in the outbox for another process."""
        try:
            await self.deliver(tickets)
        except CacheUnavailable:
            CACHE_INVALIDATIONS.inc(outcome="lost")
            if self.outbox is not None:
                await self.outbox.record(tickets)
            else:
                log.warning("cache invalidation not delivered; epoch will be renewed on recovery")
            return
        CACHE_INVALIDATIONS.inc(outcome="delivered")

    async def deliver(self, tickets: dict[uuid.UUID, uuid.UUID | None]) -> None:
        """One MULTI: delete the entries and leases, replace the list generations and announce
        the change to the event streams of every process (or raise)."""
        keys = [k for tid in tickets for k in self._ticket_keys(tid)[1:]]
        scopes = {"staff"} | {f"c:{c}" for c in tickets.values() if c is not None}
        redis = self.backend.redis
        # A cluster routes PUBLISH on its own (it names no key): sent after the MULTI there.
        clustered = is_cluster(redis)

        async def op() -> None:
            async with redis.pipeline(transaction=True) as pipe:
                if keys:
                    pipe.delete(*keys)
                for scope in sorted(scopes):
                    pipe.set(self._generation_key(scope), self.backend.token())
                if not clustered:
                    pipe.publish(self.backend.key(FEED_CHANNEL), b"1")
                await pipe.execute()
            if clustered:
                await redis.publish(self.backend.key(FEED_CHANNEL), b"1")

        await self.backend.run("invalidate", op, invalidation=True)


class InvalidationOutbox:
    """Invalidations this process could not send to Redis, kept in PostgreSQL for every process.

    Without it, a process that lost Redis (and only that process) would leave every other
    process serving the changed ticket — or trusting the revoked key — from Redis until the
    entry's TTL ran out. Every process looks at the table every ``interval_s`` and delivers each
    row it has not delivered yet to *its own* Redis namespace: a ticket row deletes the entry
    and lease and renews the list generations, a ``principals`` row replaces the principals'
    generation. Rows are not consumed: the database may serve several namespaces (deployments,
    regions, key prefixes, each with its Redis), and the first process to deliver a row must
    not take it from the others (the probe's stale reads: a process of another deployment
    deleted the row after "delivering" it to its own Redis). Rows are pruned once older than
    ``retention_s``, past every TTL they could concern. In normal operation the table is empty
    and a look is one cheap statement.
    """

    def __init__(
        self,
        database: Database,
        cache: TicketCache | None,
        *,
        interval_s: float = 1.0,
        batch: int = 500,
        retention_s: float = 600.0,
        prune_every: int = 60,
    ) -> None:
        self.database = database
        self.cache = cache
        self.interval_s = interval_s
        self.batch = batch
        self.retention_s = retention_s
        self.prune_every = prune_every
        # How a principals row is delivered (set by the app): replace the generation, or raise.
        self.principals: Callable[[], Awaitable[None]] | None = None
        self._after = 0  # the highest id this process delivered (ids commit in order)
        self._looks = 0
        self.deliverer = Periodic("invalidation-outbox", self.deliver, interval_s=interval_s)
        if cache is not None:
            cache.outbox = self

    async def record(
        self, tickets: dict[uuid.UUID, uuid.UUID | None], *, principals: bool = False
    ) -> None:
        try:
            async with self.database.transaction() as session:
                await repository.record_lost_invalidations(session, tickets, principals=principals)
        except Exception:  # PostgreSQL gone too: the epoch renewal on recovery is what is left
            log.exception("cache invalidation lost and could not be recorded")
            return
        what = f"{len(tickets)} ticket(s)" + (", principals" if principals else "")
        log.warning("cache invalidation not delivered; recorded for delivery (%s)", what)

    async def record_principal_change(self) -> None:
        """A credential or its owner changed and Redis could not be told: record it."""
        await self.record({}, principals=True)

    async def deliver(self) -> int:
        """Deliver the recorded invalidations this process has not delivered; how many rows."""
        async with self.database.unit_of_work() as work:
            self._looks += 1
            if self._looks % self.prune_every == 0:
                await repository.prune_lost_invalidations(
                    work.session, retention_s=self.retention_s
                )
            rows = await work.read(  # alone: in autocommit, no BEGIN/COMMIT
                lambda s: repository.recent_lost_invalidations(
                    s, after=self._after, retention_s=self.retention_s, limit=self.batch
                )
            )
        if not rows:
            return 0
        tickets: dict[uuid.UUID, uuid.UUID | None] = {}
        for row in rows:
            if row.kind == "ticket":
                tickets[row.ticket_id] = row.customer_id or tickets.get(row.ticket_id)
        try:
            if tickets and self.cache is not None:
                await self.cache.deliver(tickets)
            if self.principals is not None and any(r.kind == "principals" for r in rows):
                await self.principals()
        except (CacheUnavailable, RedisError, OSError, TimeoutError):
            return 0  # this process cannot reach Redis either: the same rows again next time
        except Exception:
            log.warning("recorded invalidations not delivered", exc_info=True)
            return 0
        self._after = rows[-1].id
        CACHE_INVALIDATIONS.inc(len(rows), outcome="recovered")
        return len(rows)


def for_backend(backend: CacheBackend) -> TicketCache:
    settings = backend.settings
    if settings is None:
        return TicketCache(backend)
    return TicketCache(
        backend,
        ttl_s=settings.cache_ticket_ttl_s,
        jitter=settings.cache_ttl_jitter,
        list_ttl_s=settings.cache_list_ttl_s,
        lease_ms=settings.cache_lease_ms,
        lease_wait_ms=settings.cache_lease_wait_ms,
    )


def for_app(backend: CacheBackend) -> TicketCache:
    """The ticket cache that lives on ``backend`` (one per app)."""
    return backend.extension("ticket", for_backend)


def of(uow: UnitOfWork) -> TicketCache | None:
    """The ticket cache of the unit's cache backend (None: caching off, read PostgreSQL)."""
    return None if uow.cache is None else for_app(uow.cache)


@dataclass(eq=False, slots=True)
class _Invalidation:
    """The unit's one after-commit invalidation: every ticket it changed (id -> customer id)."""

    cache: TicketCache | None
    tickets: dict[uuid.UUID, uuid.UUID | None]

    async def __call__(self) -> None:
        if self.cache is not None:
            await self.cache.invalidate(self.tickets)


def invalidate_after_commit(
    uow: UnitOfWork, ticket_id: uuid.UUID, customer_id: uuid.UUID | None
) -> None:
    """Queue invalidation of a changed ticket; marks the unit's reads as not cacheable."""
    uow.changed = True
    pending = uow.collect(_Invalidation, lambda: _Invalidation(of(uow), {}))
    pending.tickets[ticket_id] = customer_id or pending.tickets.get(ticket_id)


@dataclass(eq=False, slots=True)
class _ReaderInvalidation:
    """The unit's after-commit renewal of the readers' list generations (read markers)."""

    cache: TicketCache | None
    readers: set[uuid.UUID]

    async def __call__(self) -> None:
        if self.cache is not None:
            for reader in self.readers:
                await self.cache.invalidate_reader(reader)


def invalidate_reader_after_commit(uow: UnitOfWork, reader: uuid.UUID) -> None:
    """Queue the renewal of ``reader``'s list pages (their read markers change)."""
    uow.changed = True
    uow.collect(_ReaderInvalidation, lambda: _ReaderInvalidation(of(uow), set())).readers.add(
        reader
    )
