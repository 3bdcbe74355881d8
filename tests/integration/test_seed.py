"""`helpline seed`: realistic, deterministic development data loaded with COPY.

Each test gets its own freshly migrated database (created here, dropped afterwards) because the
seed commits, takes table locks and, for large loads, rebuilds indexes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from alembic import command

from helpline.cli.db import alembic_config
from helpline.config import Settings
from helpline.models.enums import TicketPriority, TicketStatus
from helpline.models.ticket_metadata import METADATA_KEY_PATTERN
from helpline.seed import loader, run_seed
from helpline.seed.loader import connect_kwargs

pytestmark = pytest.mark.integration

SERVER_URL = os.environ.get(
    "HELPLINE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _database_url(name: str) -> str:
    parts = urlsplit(SERVER_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


async def _fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(**connect_kwargs(url))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    return asyncio.run(_fetch(url, sql, *args))


def scalar(url: str, sql: str, *args: Any) -> Any:
    return fetch(url, sql, *args)[0][0]


@pytest.fixture
def fresh_database() -> Iterator[Callable[[], str]]:
    """A factory of new, migrated databases on the test server; all dropped afterwards."""
    maintenance = _database_url("postgres")
    created: list[str] = []

    def make() -> str:
        name = f"helpline_seedtest_{uuid.uuid4().hex[:12]}"
        fetch(maintenance, f'CREATE DATABASE "{name}"')
        created.append(name)
        url = _database_url(name)
        command.upgrade(alembic_config(url), "head")
        return url

    yield make
    for name in created:
        fetch(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(url: str, tickets: int, seed_value: int = 7, **options: Any) -> loader.SeedSummary:
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    return run_seed(settings, tickets=tickets, seed=seed_value, show_progress=False, **options)


CHECKSUM_QUERIES = {
    "users": "SELECT id, email, name, role, is_active, created_at, updated_at FROM users "
    "ORDER BY id",
    "tickets": "SELECT id, title, description, status, priority, created_at, updated_at, "
    "assigned_to, customer_id, version, deleted_at, search_vector FROM tickets ORDER BY id",
    "conversations": "SELECT id, ticket_id, message, sender_id, sender_type, is_internal, "
    "timestamp, attachments FROM conversations ORDER BY id",
    "ticket_metadata": "SELECT ticket_id, key, value, created_at, updated_at FROM ticket_metadata "
    "ORDER BY ticket_id, key",
}


def checksum(url: str) -> dict[str, str]:
    """A SHA-256 per table over every row's content."""
    out = {}
    for table, sql in CHECKSUM_QUERIES.items():
        digest = hashlib.sha256()
        for row in fetch(url, sql):
            digest.update(repr(tuple(row)).encode())
        out[table] = digest.hexdigest()
    return out


def schema_objects(url: str) -> set[tuple[str, str]]:
    """Indexes and constraints of the tables the bulk path drops and rebuilds."""
    rows = fetch(
        url,
        "SELECT tablename, indexdef FROM pg_indexes WHERE tablename = ANY($1::text[]) "
        "UNION ALL SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid::regclass::text = ANY($1::text[])",
        ["tickets", "conversations", "ticket_metadata", "sla_inbox_rest"],
    )
    return {(r[0], r[1]) for r in rows}


class TestSeedContent:
    def test_small_seed_covers_every_status_priority_and_message_kind(
        self, fresh_database: Callable[[], str]
    ) -> None:
        url = fresh_database()
        summary = seed(url, 30)

        assert (summary.tickets, summary.skipped) == (30, False)
        assert scalar(url, "SELECT count(*) FROM tickets") == 30
        assert {r[0] for r in fetch(url, "SELECT DISTINCT status FROM tickets")} == {
            s.value for s in TicketStatus
        }
        assert {r[0] for r in fetch(url, "SELECT DISTINCT priority FROM tickets")} == {
            p.value for p in TicketPriority
        }
        kinds = {
            (r[0], r[1])
            for r in fetch(url, "SELECT DISTINCT sender_type, is_internal FROM conversations")
        }
        assert {("customer", False), ("agent", False), ("agent", True)} <= kinds
        assert scalar(url, "SELECT count(*) FROM conversations") == summary.messages
        assert summary.messages >= 2 * 30  # multi-message conversations
        admin = fetch(url, "SELECT role FROM users WHERE email = 'admin@helpline.local'")
        assert [r[0] for r in admin] == ["admin"]
        assert scalar(url, "SELECT count(*) FROM users WHERE role = 'agent'") > 0
        assert scalar(url, "SELECT count(*) FROM users WHERE role = 'customer'") > 0
        # The inbox's sort by SLA due lists them (its trigger was off for the load).
        live = "SELECT count(*) FROM tickets WHERE deleted_at IS NULL"
        assert scalar(url, "SELECT count(*) FROM sla_inbox_rest") == scalar(url, live)

    def test_messages_are_ordered_after_creation_and_match_their_senders(
        self, fresh_database: Callable[[], str]
    ) -> None:
        url = fresh_database()
        seed(url, 30)

        bad_times = scalar(
            url,
            "SELECT count(*) FROM conversations c JOIN tickets t ON t.id = c.ticket_id "
            "WHERE c.timestamp <= t.created_at OR c.timestamp > t.updated_at",
        )
        assert bad_times == 0
        duplicates = scalar(
            url,
            "SELECT count(*) FROM (SELECT ticket_id, timestamp FROM conversations "
            "GROUP BY 1, 2 HAVING count(*) > 1) d",
        )
        assert duplicates == 0  # strictly increasing per ticket: a total order
        mismatched = scalar(
            url,
            """
            SELECT count(*) FROM conversations c
              JOIN tickets t ON t.id = c.ticket_id
              LEFT JOIN users u ON u.id = c.sender_id
             WHERE NOT CASE c.sender_type
                     WHEN 'customer' THEN u.role = 'customer' AND c.sender_id = t.customer_id
                                          AND NOT c.is_internal
                     WHEN 'agent' THEN u.role IN ('agent', 'admin')
                     ELSE c.sender_id IS NULL AND NOT c.is_internal
                   END
            """,
        )
        assert mismatched == 0
        wrong_roles = scalar(
            url,
            "SELECT count(*) FROM tickets t JOIN users c ON c.id = t.customer_id "
            "LEFT JOIN users a ON a.id = t.assigned_to WHERE c.role <> 'customer' "
            "OR (t.assigned_to IS NOT NULL AND a.role NOT IN ('agent', 'admin'))",
        )
        assert wrong_roles == 0
        # version counts the changes: at least one per message after the creation
        assert (
            scalar(
                url,
                "SELECT count(*) FROM tickets t WHERE version < 1 + (SELECT count(*) "
                "FROM conversations c WHERE c.ticket_id = t.id)",
            )
            == 0
        )

    def test_metadata_keys_and_values_are_valid(self, fresh_database: Callable[[], str]) -> None:
        url = fresh_database()
        summary = seed(url, 30)

        rows = fetch(url, "SELECT key, value::text, octet_length(value::text) FROM ticket_metadata")
        assert len(rows) == summary.metadata > 0
        pattern = re.compile(METADATA_KEY_PATTERN)
        assert all(pattern.match(r[0]) for r in rows)
        assert all(r[2] <= 4096 for r in rows)
        assert {"plan", "region", "order_id", "channel"} & {r[0] for r in rows}
        per_ticket = scalar(
            url, "SELECT max(n) FROM (SELECT count(*) n FROM ticket_metadata GROUP BY ticket_id) m"
        )
        assert 1 <= per_ticket <= 3


class TestSeedDeterminism:
    def test_same_seed_gives_identical_rows_in_two_databases(
        self, fresh_database: Callable[[], str]
    ) -> None:
        first, second, other = fresh_database(), fresh_database(), fresh_database()
        seed(first, 40, seed_value=3)
        seed(second, 40, seed_value=3)
        seed(other, 40, seed_value=4)

        assert checksum(first) == checksum(second)
        assert checksum(first)["tickets"] != checksum(other)["tickets"]

    def test_ids_are_uuidv7_and_times_end_before_the_wall_clock(
        self, fresh_database: Callable[[], str]
    ) -> None:
        url = fresh_database()
        seed(url, 20)

        ids = [r[0] for r in fetch(url, "SELECT id FROM tickets UNION ALL SELECT id FROM users")]
        assert {i.version for i in ids} == {7}
        assert scalar(url, "SELECT max(created_at) < now() FROM tickets")


class TestSeedReruns:
    def test_if_empty_does_nothing_when_tickets_exist(
        self, fresh_database: Callable[[], str]
    ) -> None:
        url = fresh_database()
        seed(url, 10)
        before = checksum(url)

        summary = seed(url, 50, if_empty=True)

        assert summary.skipped
        assert checksum(url) == before

    def test_if_empty_seeds_an_empty_database(self, fresh_database: Callable[[], str]) -> None:
        url = fresh_database()
        summary = seed(url, 12, if_empty=True)
        assert not summary.skipped
        assert scalar(url, "SELECT count(*) FROM tickets") == 12

    def test_cli_if_empty_prints_a_note_and_exits_zero(
        self, fresh_database: Callable[[], str]
    ) -> None:
        url = fresh_database()
        seed(url, 5)
        env = {**os.environ, "HELPLINE_DATABASE_URL": url, "HELPLINE_ENV": "development"}
        done = subprocess.run(
            [sys.executable, "-c", "from helpline.cli.main import app; app()", "seed",
             "--tickets", "50", "--if-empty", "--no-progress"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "nothing seeded" in done.stdout
        assert scalar(url, "SELECT count(*) FROM tickets") == 5

    def test_second_run_adds_tickets_and_reuses_users(
        self, fresh_database: Callable[[], str]
    ) -> None:
        url = fresh_database()
        first = seed(url, 15)
        users = scalar(url, "SELECT count(*) FROM users")

        again = seed(url, 15)

        assert scalar(url, "SELECT count(*) FROM tickets") == 30
        assert scalar(url, "SELECT count(*) FROM users") == users
        assert (again.users_created, again.users_reused) == (0, first.users_created)


class TestBulkPath:
    def test_bulk_load_rebuilds_every_index_and_constraint(
        self, fresh_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        url = fresh_database()
        before = schema_objects(url)
        monkeypatch.setattr(loader, "BULK_THRESHOLD", 10)

        summary = seed(url, 25)

        assert summary.bulk
        assert schema_objects(url) == before
        assert scalar(url, "SELECT count(*) FROM tickets") == 25
        assert scalar(url, "SELECT count(*) FROM tickets WHERE search_vector IS NULL") == 0
        live = "SELECT count(*) FROM tickets WHERE deleted_at IS NULL"
        assert scalar(url, "SELECT count(*) FROM sla_inbox_rest") == scalar(url, live)
        # Every phase is timed, in the order it ran (helpline seed prints them).
        names = [name for name, _ in summary.phases]
        assert names[:6] == [
            "users", "drop indexes", "tickets", "conversations", "ticket_metadata",
            "sla_inbox_rest",
        ]  # fmt: skip
        assert "index ix_conversations_message_search" in names
        assert "index ix_sla_inbox_rest_recent" in names
        assert "constraint fk_sla_inbox_rest_ticket_id_tickets" in names
        assert names[-6:] == [
            "commit", "vacuum users", "vacuum tickets", "vacuum conversations",
            "vacuum ticket_metadata", "vacuum sla_inbox_rest",
        ]  # fmt: skip
        assert all(seconds >= 0 for _, seconds in summary.phases)

    def test_bulk_load_is_identical_to_the_row_path(
        self, fresh_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        plain, bulk = fresh_database(), fresh_database()
        seed(plain, 25)
        monkeypatch.setattr(loader, "BULK_THRESHOLD", 10)
        seed(bulk, 25)

        assert checksum(plain) == checksum(bulk)


def trigger_states(url: str) -> list[tuple[str, str, str]]:
    rows = fetch(
        url,
        "SELECT c.relname, t.tgname, t.tgenabled::text FROM pg_trigger t"
        " JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
        " AND c.relname IN ('users', 'tickets', 'conversations', 'ticket_metadata')"
        " ORDER BY 1, 2",
    )
    return [(r[0], r[1], r[2]) for r in rows]


def writes_history_and_audit(url: str) -> bool:
    """A direct change after the seed still fires the history and audit triggers."""
    fetch(
        url,
        "UPDATE tickets SET title = 'after the seed' WHERE id = (SELECT id FROM tickets ORDER BY id LIMIT 1)",
    )
    history = scalar(url, "SELECT count(*) FROM ticket_history WHERE change_type = 'title_changed'")
    audit = scalar(url, "SELECT count(*) FROM audit_log WHERE action = 'ticket.updated'")
    return bool(history == 1 and audit == 1)


class TestSeedTriggers:
    @pytest.mark.parametrize("bulk", [False, True], ids=["row-path", "bulk-path"])
    def test_load_writes_one_audit_event_instead_of_per_row_rows(
        self, fresh_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch, bulk: bool
    ) -> None:
        url = fresh_database()
        fetch(url, "ALTER TABLE users DISABLE TRIGGER users_audit")  # off on purpose: stays off
        before = trigger_states(url)
        assert ("users", "users_audit", "D") in before
        assert sum(state == "O" for _, _, state in before) >= 6
        if bulk:
            monkeypatch.setattr(loader, "BULK_THRESHOLD", 10)

        summary = seed(url, 30)

        assert summary.bulk is bulk
        assert scalar(url, "SELECT count(*) FROM ticket_history") == 0
        rows = fetch(url, "SELECT action, actor_type, entity_type, changes FROM audit_log")
        assert len(rows) == 1
        action, actor_type, entity_type, changes = rows[0]
        assert (action, actor_type, entity_type) == ("system.seeded", "system", "seed")
        assert json.loads(changes) == {
            "seed": 7,
            "tickets": 30,
            "messages": summary.messages,
            "metadata": summary.metadata,
            "users_created": summary.users_created,
            "users_reused": 0,
            "bulk": bulk,
        }
        assert summary.messages > 0
        assert trigger_states(url) == before
        assert writes_history_and_audit(url)

    def test_a_failed_load_leaves_every_trigger_on(
        self, fresh_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        url = fresh_database()
        before = trigger_states(url)

        async def fail(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("disk full")  # after every row was copied

        monkeypatch.setattr(loader, "_record_load", fail)
        with pytest.raises(RuntimeError, match="disk full"):
            seed(url, 30)

        assert trigger_states(url) == before
        assert scalar(url, "SELECT count(*) FROM tickets") == 0
        assert scalar(url, "SELECT count(*) FROM audit_log") == 0
        monkeypatch.undo()
        seed(url, 5)
        assert writes_history_and_audit(url)
