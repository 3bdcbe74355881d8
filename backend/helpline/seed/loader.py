"""Bulk loader: realistic development data through COPY, in one transaction.

Why it is shaped like this (1,000,000 tickets with ~3 messages each in a few minutes on 2 cores):

- Rows are generated straight into COPY text (``helpline.seed.generate``) and streamed to the
  server while the next batch is generated, so Python and PostgreSQL work at the same time.
  Tickets stream first; conversations and metadata are spooled to temporary files meanwhile
  and follow, so foreign keys always point at rows that already exist.
- For a large load (more new tickets than the table holds, and at least ``BULK_THRESHOLD``) the
  secondary indexes, unique and foreign-key constraints of the three tables and of
  ``sla_inbox_rest`` (a row per new live ticket) are dropped first and rebuilt at the end from
  the models' own definitions: one sort per index and one join per foreign key are far cheaper
  than millions of per-row index insertions and key checks (``sla_inbox_rest`` at 1M tickets:
  12.8 s of server CPU filled row by row, 5.1 s filled first and indexed after).
- Everything happens in one transaction: a failure or Ctrl-C leaves the database exactly as it
  was (DDL is transactional in PostgreSQL). The tables are locked for the duration. The price:
  the index builds run one after another on the one connection — another connection cannot see
  the uncommitted rows, so it cannot build an index on them. Building them concurrently would
  mean committing the rows first (a failed build would then leave a loaded database without
  some of its indexes); we keep the guarantee (docs/performance/seed.md).
- Each phase is timed (``SeedSummary.phases``; ``helpline seed`` prints them): the figures
  behind these choices are in docs/performance/seed.md.
- The AFTER triggers of the loaded tables (history, audit and events, and any added later)
  are switched off for the load — every non-internal AFTER trigger that is enabled, by name, so a
  trigger someone disabled on purpose stays disabled — and switched back on before the commit.
  Foreign keys are internal triggers and stay on (``session_replication_role = replica`` would
  switch them off too, needs a superuser, and applies to every table the session touches).
  ``ALTER TABLE … DISABLE TRIGGER`` is transactional: a failed load rolls it back with the rows.
  Instead of a history row per ticket and an audit row per row, the load records one
  ``system.seeded`` audit event with its row counts, in the same transaction.
- BEFORE triggers stay on: they derive columns of the row itself (``tickets_before_write``
  computes ``search_vector``, which is never copied). COPY fires no UPDATE trigger, so
  ``version`` and ``updated_at`` are written as generated. That trigger is most of the server's
  work in the tickets' COPY (to_tsvector of title and description: ~39 µs of ~50 µs per ticket);
  an UPDATE that filled ``search_vector`` afterwards would rewrite every row, and composing it
  in Python from pre-vectorized pieces moved more CPU to Python than it saved the server (the
  two work side by side), so it stays (docs/performance/seed.md).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import asyncpg  # type: ignore[import-untyped]  # no stubs or py.typed
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import ForeignKeyConstraint, Index, Table, UniqueConstraint
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import AddConstraint, CreateIndex

from helpline.config import Settings
from helpline.db import ActorContext
from helpline.models import Conversation, SlaInboxRest, Ticket, TicketMetadata
from helpline.models.enums import Role
from helpline.runtime import resolve_database_url
from helpline.seed.generate import (
    MESSAGE_COLUMNS,
    METADATA_COLUMNS,
    TICKET_COLUMNS,
    USER_COLUMNS,
    SeedUser,
    TicketGenerator,
    UserPlan,
    anchor_for,
    plan_users,
    user_lines,
)

BULK_THRESHOLD = 100_000
CHUNK_TICKETS = 5_000
BULK_TABLES: tuple[Table, ...] = tuple(
    model.metadata.tables[model.__tablename__]
    for model in (Ticket, Conversation, TicketMetadata, SlaInboxRest)
)
LOCK_KEY = "helpline.seed"
# Tables the seed writes (users included: their audit rows would be per-row too).
TRIGGER_TABLES = ("users", "tickets", "conversations", "ticket_metadata")
ENABLE_MODES = {"O": "ENABLE", "A": "ENABLE ALWAYS", "R": "ENABLE REPLICA"}


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What a seed run did."""

    tickets: int
    messages: int
    metadata: int
    users_created: int
    users_reused: int
    admin_email: str
    bulk: bool
    seconds: float
    skipped: bool = False
    # (phase, seconds) in the order they ran: where a load spends its time.
    phases: tuple[tuple[str, float], ...] = ()


def run_seed(
    settings: Settings,
    *,
    tickets: int,
    seed: int,
    if_empty: bool = False,
    show_progress: bool = True,
) -> SeedSummary:
    """Create users, tickets, conversations and metadata (deterministic for a seed)."""
    url = resolve_database_url(settings)
    return asyncio.run(
        _seed(
            url,
            admin_email=settings.seed_admin_email,
            tickets=tickets,
            seed=seed,
            if_empty=if_empty,
            show_progress=show_progress,
        )
    )


def connect_kwargs(url: str) -> dict[str, Any]:
    """asyncpg connection arguments for an ordinary or libpq-style (socket) PostgreSQL URL."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    query = dict(parse_qsl(parts.query))
    kwargs: dict[str, Any] = {
        "host": parts.hostname or query.get("host"),
        "port": parts.port or (int(query["port"]) if "port" in query else None),
        "user": parts.username or query.get("user"),
        "password": parts.password or query.get("password") or None,
        "database": parts.path.lstrip("/") or query.get("dbname"),
        "server_settings": {"application_name": "helpline-seed", "jit": "off"},
    }
    return {k: v for k, v in kwargs.items() if v is not None}


class _Progress:
    """A rich progress display on stderr, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self.bar: Progress | None = None
        self.phases: list[tuple[str, float]] = []
        if enabled:
            self.bar = Progress(
                TextColumn("{task.description:<14}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time one phase of the load (shown in the summary, and as it ends when a bar shows)."""
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        self.phases.append((name, seconds))
        if self.bar is not None:
            self.bar.console.log(f"{name}: {seconds:.1f} s")

    @contextmanager
    def shown(self) -> Iterator[None]:
        if self.bar is None:
            yield
            return
        with self.bar:
            yield

    def task(self, description: str, total: int) -> Callable[[int], None]:
        if self.bar is None:
            return lambda _n: None
        bar, task_id = self.bar, self.bar.add_task(description, total=total)
        return lambda n: bar.advance(task_id, n)


async def _seed(
    url: str,
    *,
    admin_email: str,
    tickets: int,
    seed: int,
    if_empty: bool,
    show_progress: bool,
) -> SeedSummary:
    started = time.perf_counter()
    conn: asyncpg.Connection = await asyncpg.connect(**connect_kwargs(url))
    progress = _Progress(show_progress)
    phase = progress.phase
    try:
        with progress.shown():
            transaction = conn.transaction()
            await transaction.start()
            try:
                await _set_actor(conn)
                # One seed at a time; concurrent runs would pick the same offset.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", LOCK_KEY)
                existing: int = await conn.fetchval("SELECT count(*) FROM tickets")
                if if_empty and existing:
                    await transaction.rollback()
                    return SeedSummary(0, 0, 0, 0, 0, admin_email, False, 0.0, skipped=True)
                enabled = await _disable_row_triggers(conn)
                anchor = anchor_for(seed)
                with phase("users"):
                    plan = plan_users(seed, tickets, admin_email, anchor)
                    plan, created, reused = await _upsert_users(conn, plan, progress)
                bulk = tickets >= max(BULK_THRESHOLD, existing)
                messages = metadata = 0
                if tickets:
                    generator = TicketGenerator(
                        seed=seed, total=tickets, offset=existing, anchor=anchor, plan=plan
                    )
                    if bulk:
                        with phase("drop indexes"):
                            await _prepare_bulk(conn)
                    messages, metadata = await _load(conn, generator, progress)
                    with phase("sla_inbox_rest"):
                        await _fill_sla_inbox_rest(conn)
                    if bulk:
                        await _finish_bulk(conn, progress)
                await _record_load(
                    conn, seed=seed, tickets=tickets, messages=messages, metadata=metadata,
                    users_created=created, users_reused=reused, bulk=bulk,
                )  # fmt: skip
                await _restore_row_triggers(conn, enabled)
            except BaseException:
                await transaction.rollback()
                raise
            with phase("commit"):
                await transaction.commit()
            await _analyze(conn, bulk, progress)
    finally:
        await conn.close()
    return SeedSummary(
        tickets, messages, metadata, created, reused, admin_email, bulk,
        time.perf_counter() - started, phases=tuple(progress.phases),
    )  # fmt: skip


async def _fill_sla_inbox_rest(conn: asyncpg.Connection) -> None:
    """What the switched-off ``sla_inbox_rest_on_ticket`` trigger would have written: a row per
    new live ticket (none has a deadline before the SLA worker sees it), in one statement."""
    await conn.execute(
        "INSERT INTO sla_inbox_rest (ticket_id, ticket_updated_at)"
        " SELECT t.id, t.updated_at FROM tickets t WHERE t.deleted_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM sla_ticket_states s"
        "                 WHERE s.ticket_id = t.id AND s.due_at IS NOT NULL)"
        " ON CONFLICT (ticket_id) DO NOTHING"
    )


async def _set_actor(conn: asyncpg.Connection) -> None:
    for name, value in ActorContext.system("seed").as_settings().items():
        await conn.execute("SELECT set_config($1, $2, true)", name, value)


async def _disable_row_triggers(conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
    """Switch off every enabled non-internal AFTER trigger of the seeded tables; return them."""
    rows = await conn.fetch(
        "SELECT c.relname, t.tgname, t.tgenabled::text FROM pg_trigger t"
        " JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE c.oid = ANY($1::regclass[]) AND NOT t.tgisinternal AND t.tgenabled <> 'D'"
        # BEFORE triggers derive columns of the row itself (search_vector): they stay on.
        " AND (t.tgtype::int & 2) = 0"
        " ORDER BY c.relname, t.tgname",
        list(TRIGGER_TABLES),
    )
    enabled = [(r["relname"], r["tgname"], r["tgenabled"]) for r in rows]
    for table, trigger, _mode in enabled:
        await conn.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"')
    return enabled


async def _restore_row_triggers(
    conn: asyncpg.Connection, enabled: list[tuple[str, str, str]]
) -> None:
    for table, trigger, mode in enabled:
        await conn.execute(f'ALTER TABLE "{table}" {ENABLE_MODES[mode]} TRIGGER "{trigger}"')


async def _record_load(conn: asyncpg.Connection, *, seed: int, **counts: int | bool) -> None:
    """One audit event for the whole load (the per-row audit triggers were off)."""
    changes = {"seed": seed, **counts}
    await conn.execute(
        "SELECT helpline_audit('system.seeded', 'seed', NULL, $1::jsonb)", json.dumps(changes)
    )


async def _upsert_users(
    conn: asyncpg.Connection, plan: UserPlan, progress: _Progress
) -> tuple[UserPlan, int, int]:
    """Insert the planned users that do not exist yet (by email); use the existing ones."""
    advance = progress.task("users", len(plan.all))
    await conn.execute(
        "CREATE TEMP TABLE seed_users (LIKE users INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    await conn.copy_to_table(
        "seed_users", source=_aiter_bytes(user_lines(plan)), columns=USER_COLUMNS, format="text"
    )
    status = await conn.execute(
        "INSERT INTO users (id, email, name, role, is_active, created_at, updated_at) "
        "SELECT id, email, name, role, is_active, created_at, updated_at FROM seed_users "
        "ORDER BY created_at, id ON CONFLICT ((lower(email))) DO NOTHING"
    )
    created = int(status.rsplit(" ", 1)[-1])
    rows = await conn.fetch(
        "SELECT lower(s.email) AS email, u.id::text AS id, u.role FROM seed_users s "
        "JOIN users u ON lower(u.email) = lower(s.email)"
    )
    actual = {r["email"]: (r["id"], r["role"]) for r in rows}
    advance(len(plan.all))

    def resolve(users: tuple[SeedUser, ...], roles: set[str]) -> tuple[SeedUser, ...]:
        kept = []
        for u in users:
            user_id, role = actual[u.email.lower()]
            if role in roles:  # an existing account with another role is left out
                kept.append(SeedUser(user_id, u.email, u.name, role, u.created_ms))
        return tuple(kept)

    staff = resolve(plan.staff, {Role.admin.value, Role.agent.value})
    customers = resolve(plan.customers, {Role.customer.value})
    admin_id, admin_role = actual[plan.admin.email.lower()]
    admin = SeedUser(admin_id, plan.admin.email, plan.admin.name, admin_role, plan.admin.created_ms)
    if not staff or not customers:
        raise RuntimeError("seed: no usable agents or customers (emails taken by other roles)")
    return UserPlan(admin=admin, staff=staff, customers=customers), created, len(rows) - created


async def _aiter_bytes(lines: Iterator[str], batch: int = 10_000) -> AsyncIterator[bytes]:
    buffer: list[str] = []
    for line in lines:
        buffer.append(line)
        if len(buffer) >= batch:
            yield "".join(buffer).encode()
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode()


def _bulk_objects() -> tuple[list[Index], list[UniqueConstraint], list[ForeignKeyConstraint]]:
    """Secondary indexes and unique/foreign-key constraints of the bulk tables (from the models,
    which `alembic check` keeps identical to the migrated schema)."""
    indexes: list[Index] = []
    uniques: list[UniqueConstraint] = []
    foreign: list[ForeignKeyConstraint] = []
    for table in BULK_TABLES:
        indexes.extend(sorted(table.indexes, key=lambda i: str(i.name)))
        for constraint in sorted(table.constraints, key=lambda c: str(c.name)):
            if isinstance(constraint, UniqueConstraint):
                uniques.append(constraint)
            elif isinstance(constraint, ForeignKeyConstraint):
                foreign.append(constraint)
    return indexes, uniques, foreign


def _ddl(element: Any) -> str:
    return str(element.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]


async def _prepare_bulk(conn: asyncpg.Connection) -> None:
    indexes, uniques, foreign = _bulk_objects()
    for fk in foreign:
        await conn.execute(f'ALTER TABLE {fk.table.name} DROP CONSTRAINT IF EXISTS "{fk.name}"')
    for uq in uniques:
        await conn.execute(f'ALTER TABLE {uq.table.name} DROP CONSTRAINT IF EXISTS "{uq.name}"')
    for index in indexes:
        await conn.execute(f'DROP INDEX IF EXISTS "{index.name}"')


async def _finish_bulk(conn: asyncpg.Connection, progress: _Progress) -> None:
    indexes, uniques, foreign = _bulk_objects()
    advance = progress.task("indexes", len(indexes) + len(uniques) + len(foreign))
    # Session-local and undone by the transaction's end; sorts for index builds and the
    # foreign-key validation joins stay in memory.
    await conn.execute("SET LOCAL maintenance_work_mem = '2GB'")
    await conn.execute("SET LOCAL work_mem = '512MB'")
    for index in indexes:
        with progress.phase(f"index {index.name}"):
            await conn.execute(_ddl(CreateIndex(index)))
        advance(1)
    for constraint in (*uniques, *foreign):
        with progress.phase(f"constraint {constraint.name}"):
            await conn.execute(_ddl(AddConstraint(constraint)))
        advance(1)


async def _load(
    conn: asyncpg.Connection, generator: TicketGenerator, progress: _Progress
) -> tuple[int, int]:
    """Stream tickets while spooling their conversations and metadata; then copy those."""
    advance = progress.task("tickets", generator.total)
    counts = {"messages": 0, "metadata": 0}
    with (
        tempfile.TemporaryFile(prefix="helpline-seed-") as messages_file,
        tempfile.TemporaryFile(prefix="helpline-seed-") as metadata_file,
    ):

        async def ticket_stream() -> AsyncIterator[bytes]:
            while generator.next_index < generator.total:
                chunk = generator.chunk(CHUNK_TICKETS)
                messages_file.write("".join(chunk.messages).encode())
                metadata_file.write("".join(chunk.metadata).encode())
                counts["messages"] += len(chunk.messages)
                counts["metadata"] += len(chunk.metadata)
                yield "".join(chunk.tickets).encode()
                advance(len(chunk.tickets))

        with progress.phase("tickets"):
            await conn.copy_to_table(
                "tickets", source=ticket_stream(), columns=TICKET_COLUMNS, format="text"
            )
        await _copy_file(
            conn, "conversations", MESSAGE_COLUMNS, messages_file, counts["messages"], progress
        )
        await _copy_file(
            conn, "ticket_metadata", METADATA_COLUMNS, metadata_file, counts["metadata"], progress
        )
    return counts["messages"], counts["metadata"]


async def _copy_file(
    conn: asyncpg.Connection,
    table: str,
    columns: tuple[str, ...],
    spool: IO[bytes],
    rows: int,
    progress: _Progress,
) -> None:
    size = spool.tell()
    spool.seek(0)
    advance = progress.task(table, rows)

    async def stream() -> AsyncIterator[bytes]:
        while block := spool.read(4 << 20):
            # Cut at the last line end so the progress counts whole rows.
            cut = block.rfind(b"\n") + 1
            if cut < len(block):
                spool.seek(cut - len(block), 1)
                block = block[:cut]
            yield block
            advance(block.count(b"\n"))

    if size:
        with progress.phase(table):
            await conn.copy_to_table(table, source=stream(), columns=columns, format="text")


async def _analyze(conn: asyncpg.Connection, bulk: bool, progress: _Progress) -> None:
    """Fresh statistics (and, after a bulk load, the visibility map and hint bits)."""
    tables = ("users", *(t.name for t in BULK_TABLES))
    advance = progress.task("vacuum" if bulk else "analyze", len(tables))
    for table in tables:
        with progress.phase(f"{'vacuum' if bulk else 'analyze'} {table}"):
            await conn.execute(f"VACUUM (ANALYZE) {table}" if bulk else f"ANALYZE {table}")
        advance(1)
