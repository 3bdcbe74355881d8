"""The unified change triggers (migration 0012) record what the per-purpose ones did, row for row.

The same writes — through the service's statements and through plain SQL: creates, field changes,
touches, no-op updates, soft delete and restore, a purge with its cascades, metadata upserts and
renames, single and multi-row messages, attachments, a listening webhook, a write without actor
context, bulk statements — run on a database at 0011 (history, audit and events triggers of their
own) and on one at 0012; ticket_history, audit_log, events and the webhook deliveries they leave
must be the same rows in the same order (ids, clock times and change-set uuids aside).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic import command

from helpline.cli.db import alembic_config
from helpline.seed.loader import connect_kwargs

pytestmark = pytest.mark.migrations

ADMIN = "00000000-0000-7000-8000-000000000001"
AGENT = "00000000-0000-7000-8000-000000000002"
ALICE = "00000000-0000-7000-8000-000000000003"
BOB = "00000000-0000-7000-8000-000000000004"
KEY = "00000000-0000-7000-8000-0000000000aa"
T1 = "00000000-0000-7000-8000-000000000101"
T2 = "00000000-0000-7000-8000-000000000102"
T3 = "00000000-0000-7000-8000-000000000103"
T4 = "00000000-0000-7000-8000-000000000104"  # purged at the end (its history goes with it)
M1, M2, M3, M4 = (f"00000000-0000-7000-8000-00000000020{i}" for i in range(1, 5))
A1 = "00000000-0000-7000-8000-000000000301"
HOOK = "00000000-0000-7000-8000-000000000401"
AT = "'2026-12-01 10:00:00+00'"
SHA = "a" * 64

ACTOR = (
    "SELECT set_config('helpline.actor_type', '{type}', true),"
    " set_config('helpline.actor_id', '{user}', true),"
    " set_config('helpline.api_key_id', '{key}', true),"
    " set_config('helpline.request_id', '{request}', true),"
    " set_config('helpline.ip', '203.0.113.7', true)"
)

# (actor: (type, user, api key) or None for a write without actor context, statements)
SCRIPT: list[tuple[tuple[str, str, str] | None, list[str]]] = [
    (
        ("system", "", ""),
        [
            "INSERT INTO users (id, email, name, role, created_at, updated_at) VALUES"
            f" ('{ADMIN}', 'admin@example.com', 'Admin', 'admin', {AT}, {AT}),"
            f" ('{AGENT}', 'agent@example.com', 'Agent', 'agent', {AT}, {AT}),"
            f" ('{ALICE}', 'alice@example.com', 'Alice', 'customer', {AT}, {AT}),"
            f" ('{BOB}', 'bob@example.com', 'Bob', 'customer', {AT}, {AT})",
        ],
    ),
    # the service's create: INSERT … SELECT … WHERE EXISTS (active customer)
    (
        ("api_key", AGENT, KEY),
        [
            "INSERT INTO tickets (id, title, description, status, priority, assigned_to, customer_id,"
            " created_at, updated_at)"
            f" SELECT '{T1}', 'Printer on fire', 'Smoke everywhere', 'new', 'high', '{AGENT}',"
            f" '{ALICE}', {AT}, {AT}"
            f" WHERE EXISTS (SELECT 1 FROM users WHERE id = '{ALICE}' AND is_active)",
        ],
    ),
    (
        ("user", ALICE, ""),
        [  # two tickets in one statement
            "INSERT INTO tickets (id, title, customer_id, created_at, updated_at) VALUES"
            f" ('{T2}', 'Refund please', '{ALICE}', {AT}, {AT}),"
            f" ('{T3}', 'Second ticket', '{BOB}', {AT}, {AT})",
        ],
    ),
    (
        ("api_key", AGENT, KEY),
        [  # the service's PATCH: lock, then update
            f"SELECT * FROM tickets WHERE id = '{T1}' FOR UPDATE",
            f"UPDATE tickets SET status = 'open', priority = 'urgent', title = 'Printer fire'"
            f" WHERE id = '{T1}'",
            f"UPDATE tickets SET description = 'Now with flames' WHERE id = '{T1}'",
            f"UPDATE tickets SET assigned_to = NULL WHERE id = '{T1}'",
            f"UPDATE tickets SET customer_id = '{BOB}', assigned_to = '{ADMIN}' WHERE id = '{T1}'",
            f"UPDATE tickets SET number = number + 1000 WHERE id = '{T1}'",
            f"UPDATE tickets SET status = status, title = title WHERE id = '{T1}'",  # no change
            f"UPDATE tickets SET updated_at = clock_timestamp() WHERE id = '{T1}'",  # a touch
        ],
    ),
    (
        ("api_key", AGENT, KEY),
        [  # the service's message: touch, insert
            f"UPDATE tickets SET updated_at = clock_timestamp() WHERE id = '{T1}'"
            " AND deleted_at IS NULL AND status <> 'closed' RETURNING customer_id, mailbox_id",
            "INSERT INTO conversations (id, ticket_id, message, sender_id, sender_type, is_internal,"
            f" timestamp, attachments, channel) VALUES ('{M1}', '{T1}', 'On it.', '{AGENT}',"
            f" 'agent', false, {AT}, '[]', 'api')",
        ],
    ),
    (
        ("user", ALICE, ""),
        [  # a bulk import of messages, one of them internal
            "INSERT INTO conversations (id, ticket_id, message, sender_id, sender_type, is_internal,"
            f" timestamp) VALUES ('{M2}', '{T2}', '{'x' * 1500}', '{ALICE}', 'customer', false, {AT}),"
            f" ('{M3}', '{T2}', 'note', '{AGENT}', 'agent', true, {AT}),"
            f" ('{M4}', '{T3}', '{'y' * 1500}', NULL, 'system', false, {AT})",
        ],
    ),
    (
        ("api_key", AGENT, KEY),
        [
            f"UPDATE conversations SET message = 'On it!', is_internal = true WHERE id = '{M1}'",
            f"UPDATE conversations SET channel = 'web' WHERE id = '{M1}'",
            f"DELETE FROM conversations WHERE id = '{M4}'",
        ],
    ),
    (
        ("api_key", AGENT, KEY),
        [  # metadata: the service's upsert, renames, bulk, removal
            "INSERT INTO ticket_metadata (ticket_id, key, value) VALUES"
            f" ('{T1}', 'plan', '\"gold\"') ON CONFLICT (ticket_id, key) DO UPDATE"
            " SET value = excluded.value, updated_at = now()",
            "INSERT INTO ticket_metadata (ticket_id, key, value) VALUES"
            f" ('{T1}', 'plan', '\"silver\"') ON CONFLICT (ticket_id, key) DO UPDATE"
            " SET value = excluded.value, updated_at = now()",
            "INSERT INTO ticket_metadata (ticket_id, key, value) VALUES"
            f" ('{T1}', 'plan', '\"silver\"') ON CONFLICT (ticket_id, key) DO UPDATE"
            " SET value = excluded.value, updated_at = now()",  # same value
            "INSERT INTO ticket_metadata (ticket_id, key, value) VALUES"
            f" ('{T2}', 'a', '1'), ('{T2}', 'b', '{{\"n\": [1, 2]}}'), ('{T3}', 'c', 'null')",
            f"UPDATE ticket_metadata SET key = 'tier' WHERE ticket_id = '{T1}'",  # key only
            "UPDATE ticket_metadata SET value = '2' WHERE key IN ('a', 'b')",
            f"DELETE FROM ticket_metadata WHERE ticket_id = '{T2}' AND key = 'a'",
            f"DELETE FROM ticket_metadata WHERE ticket_id = '{T3}' AND key = 'c'",
        ],
    ),
    (
        ("api_key", AGENT, KEY),
        [  # an upload, bound to a message, deleted
            "INSERT INTO attachments (id, sha256, filename, content_type, size, storage_key,"
            f" uploaded_by) VALUES ('{A1}', '{SHA}', 'a.txt', 'text/plain', 3, '{SHA}', '{AGENT}')",
            f"UPDATE attachments SET conversation_id = '{M1}' WHERE id = '{A1}'",
            f"UPDATE attachments SET conversation_id = '{M1}' WHERE id = '{A1}'",  # no change
            f"UPDATE attachments SET filename = 'b.txt' WHERE id = '{A1}'",
            f"DELETE FROM attachments WHERE id = '{A1}'",
        ],
    ),
    (
        ("user", ADMIN, ""),
        [  # a listening webhook: deliveries and jobs with the events
            "INSERT INTO webhook_endpoints (id, url, secret, created_at) VALUES"
            f" ('{HOOK}', 'https://hooks.example.com/x', 'whsec_x', {AT})",
            f"UPDATE tickets SET status = 'pending' WHERE id = '{T2}'",
            "INSERT INTO conversations (id, ticket_id, message, sender_type, timestamp) VALUES"
            f" ('00000000-0000-7000-8000-000000000209', '{T2}', 'hooked', 'system', {AT})",
            f"INSERT INTO ticket_metadata (ticket_id, key, value) VALUES ('{T2}', 'hook', 'true')",
            f"DELETE FROM ticket_metadata WHERE ticket_id = '{T2}' AND key = 'hook'",
            "UPDATE webhook_endpoints SET enabled = false",
        ],
    ),
    (
        None,
        [  # plain SQL, no actor context
            f"UPDATE tickets SET status = 'solved' WHERE id = '{T3}'",
            f"INSERT INTO ticket_metadata (ticket_id, key, value) VALUES ('{T3}', 'raw', '0')",
        ],
    ),
    (
        ("api_key", AGENT, KEY),
        [  # soft delete (with a field change), restore, bulk update
            f"UPDATE tickets SET deleted_at = {AT}, title = 'Gone' WHERE id = '{T1}'",
            f"UPDATE tickets SET deleted_at = '2026-12-02 10:00:00+00' WHERE id = '{T1}'",
            f"UPDATE tickets SET deleted_at = NULL WHERE id = '{T1}'",
            "UPDATE tickets SET priority = 'low' WHERE priority <> 'low'",
        ],
    ),
    (
        ("user", ALICE, ""),
        [
            "INSERT INTO tickets (id, title, customer_id, created_at, updated_at) VALUES"
            f" ('{T4}', 'To be purged', '{ALICE}', {AT}, {AT})",
            f"INSERT INTO ticket_metadata (ticket_id, key, value) VALUES ('{T4}', 'k', '1'),"
            f" ('{T4}', 'l', '2')",
            "INSERT INTO conversations (id, ticket_id, message, sender_type, timestamp) VALUES"
            f" ('00000000-0000-7000-8000-000000000299', '{T4}', 'bye', 'system', {AT})",
        ],
    ),
    (
        ("user", ADMIN, ""),
        [  # a purge: cascades to metadata and messages
            f"DELETE FROM tickets WHERE id = '{T4}'",
        ],
    ),
]


def _normalize(raw: str | None) -> Any:
    """jsonb without the clock's values (updated_at moves with every write)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "updated_at"}
        return value

    return None if raw is None else strip(json.loads(raw))


async def _run_and_collect(url: str) -> dict[str, list[tuple[Any, ...]]]:
    conn = await asyncpg.connect(**connect_kwargs(url))
    try:
        for number, (actor, statements) in enumerate(SCRIPT):
            async with conn.transaction():
                if actor is not None:
                    kind, user, key = actor
                    await conn.execute(
                        ACTOR.format(type=kind, user=user, key=key, request=f"req-{number}")
                    )
                for statement in statements:
                    await conn.execute(statement)
        history = await conn.fetch(
            "SELECT ticket_id, change_type, changed_by, old_value, new_value, request_id,"
            " version, dense_rank() OVER (ORDER BY change_set_id) AS change_set"
            " FROM ticket_history ORDER BY id"
        )
        sets: dict[int, int] = {}  # change sets numbered by first appearance
        audit = await conn.fetch(
            "SELECT actor_type, actor_id, api_key_id, action, entity_type, entity_id,"
            " request_id, host(ip), changes, outcome FROM audit_log"
            " WHERE action <> 'system.migrated' ORDER BY id"
        )
        events = await conn.fetch(
            "SELECT type, ticket_id, internal, actor_id, request_id, data FROM events ORDER BY id"
        )
        deliveries = await conn.fetch(
            "SELECT e.type, d.ticket_id, d.status FROM webhook_deliveries d"
            " JOIN events e ON e.id = d.event_id ORDER BY d.id"
        )
        jobs = await conn.fetchval(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'helpline:deliver_webhooks'"
        )
    finally:
        await conn.close()
    return {
        "history": [
            (*r[:3], _normalize(r[3]), _normalize(r[4]), *r[5:7], sets.setdefault(r[7], len(sets)))
            for r in history
        ],
        "audit": [(*r[:8], _normalize(r[8]), r[9]) for r in audit],
        "events": [(*r[:5], _normalize(r[5])) for r in events],
        "deliveries": [tuple(r) for r in deliveries],
        "jobs": [(jobs,)],
    }


def test_unified_triggers_write_the_same_rows(make_database):
    before_url, after_url = make_database(migrate=False), make_database(migrate=False)
    command.upgrade(alembic_config(before_url), "0011")
    command.upgrade(alembic_config(after_url), "0012")

    before = asyncio.run(_run_and_collect(before_url))
    after = asyncio.run(_run_and_collect(after_url))

    for table in ("history", "audit", "events", "deliveries", "jobs"):
        assert after[table] == before[table], table
    # the script exercised every kind of row (a vacuous comparison would pass too)
    assert {r[1] for r in before["history"]} >= {
        "created", "status_changed", "priority_changed", "assignee_changed", "title_changed",
        "description_changed", "metadata_set", "metadata_removed", "message_added", "deleted",
        "restored",
    }  # fmt: skip
    assert {r[3] for r in before["audit"]} >= {
        "ticket.created", "ticket.updated", "ticket.deleted", "ticket.restored",
        "ticket.purged", "ticket.message_added", "ticket.message_updated",
        "ticket.message_deleted", "ticket.metadata_set", "ticket.metadata_removed",
        "attachment.uploaded", "attachment.bound", "attachment.deleted",
    }  # fmt: skip
    assert {r[0] for r in before["events"]} >= {
        "ticket.created", "ticket.updated", "ticket.deleted", "message.created",
        "metadata.changed", "attachment.added",
    }  # fmt: skip
    assert before["deliveries"]
    assert before["jobs"][0][0] > 0
    assert any("db_user" in (r[8] or {}) for r in before["audit"])


def _ticket_changes() -> Any:
    path = Path(__file__).resolve().parents[2] / "migrations" / "lib" / "ticket_changes.py"
    spec = importlib.util.spec_from_file_location("ticket_changes_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_ticket_column_is_tracked_or_bookkeeping(database_url):
    """A column added to tickets must join the tracked fields (migrations/lib/ticket_changes.py)
    in the migration that adds it: the trigger only fires for the columns it lists."""

    async def columns_and_trigger() -> tuple[set[str], str]:
        conn = await asyncpg.connect(**connect_kwargs(database_url))
        try:
            columns = {
                r[0]
                for r in await conn.fetch(
                    "SELECT attname FROM pg_attribute WHERE attrelid = 'tickets'::regclass"
                    " AND attnum > 0 AND NOT attisdropped"
                )
            }
            trigger = await conn.fetchval(
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger"
                " WHERE tgrelid = 'tickets'::regclass AND tgname = 'tickets_changes'"
            )
            return columns, trigger
        finally:
            await conn.close()

    columns, trigger = asyncio.run(columns_and_trigger())
    changes = _ticket_changes()
    listed = trigger.split(" UPDATE OF ", 1)[1].split(" ON ", 1)[0].split(", ")
    assert set(listed) | set(changes.UNTRACKED) == columns
    assert not set(listed) & set(changes.UNTRACKED)
