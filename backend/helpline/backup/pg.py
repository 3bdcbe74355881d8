"""PostgreSQL plumbing for backups: URLs, the client tools, and the few catalog queries.

pg_dump/pg_restore do the heavy lifting; asyncpg is used for what needs a live session (the
exported snapshot that keeps the dump and the table statistics consistent, database creation).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

from helpline.backup.errors import BackupError, ToolFailed
from helpline.backup.manifest import DatabaseStats, TableStats

_SCHEMES = {"postgresql", "postgres", "postgresql+asyncpg"}
_SAFE_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")

_TABLES_SQL = """
SELECT n.nspname AS schema, c.relname AS name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
ORDER BY 1, 2
"""
# Partitioned parents (relkind 'p') hold no rows themselves; their leaf partitions are counted.

_TABLE_STATS_SQL = (
    "SELECT count(*) AS rows, coalesce(sum(('x' || left(md5(ROW(r.*)::text), 15))"
    "::bit(60)::bigint::numeric), 0)::text AS checksum FROM {table} AS r"
)

_SEQUENCES_SQL = """
SELECT schemaname AS schema, sequencename AS name, last_value
FROM pg_sequences ORDER BY 1, 2
"""

_USER_RELATIONS_SQL = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
"""


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_database_name(name: str) -> str:
    """Accept only plain database names, so a typo cannot address something unexpected."""
    if not _SAFE_DB_NAME.match(name):
        raise BackupError(f"invalid database name {name!r} (letters, digits, _ $ -; max 63)")
    return name


@dataclass(frozen=True)
class DatabaseUrl:
    """A PostgreSQL URL in libpq form; the password travels in PGPASSWORD, never in argv."""

    scheme: str
    netloc: str
    database: str
    query: str

    @classmethod
    def parse(cls, raw: str) -> DatabaseUrl:
        parts = urlsplit(raw)
        if parts.scheme not in _SCHEMES:
            raise BackupError("database URL must be postgresql://user:pass@host:port/db")
        database = unquote(parts.path.lstrip("/")) or "postgres"
        return cls("postgresql", parts.netloc, database, parts.query)

    @property
    def password(self) -> str | None:
        pw = urlsplit(self.url).password
        return unquote(pw) if pw is not None else None

    @property
    def url(self) -> str:
        return urlunsplit((self.scheme, self.netloc, "/" + quote(self.database), self.query, ""))

    @property
    def public_url(self) -> str:
        """The URL without its password: safe for argv and logs."""
        parts = urlsplit(self.url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        if parts.username:
            netloc = f"{parts.username}@{netloc}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    def with_database(self, database: str) -> DatabaseUrl:
        return DatabaseUrl(self.scheme, self.netloc, database, self.query)

    def client_env(self) -> dict[str, str]:
        # Child processes need PATH, locale, PG* variables etc.; this copy is the one place the
        # backup code touches os.environ, and only to hand it on to pg_dump/pg_restore.
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env


def tool(name: str) -> str:
    """Absolute path of a PostgreSQL client tool, or a one-line reason why not."""
    found = shutil.which(name)
    if found is None:
        raise ToolFailed(f"{name} not found on PATH: install the PostgreSQL client tools")
    return found


async def run_tool(argv: Sequence[str], env: dict[str, str]) -> str:
    """Run a client tool; return its stdout, or raise ToolFailed with its last error line."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
        reason = lines[-1] if lines else "no error output"
        raise ToolFailed(f"{os.path.basename(argv[0])} exited {proc.returncode}: {reason}")
    return out.decode(errors="replace")


async def tool_version(name: str) -> str:
    out = await run_tool([tool(name), "--version"], env=dict(os.environ))
    return out.strip()


async def connect(url: DatabaseUrl) -> Any:
    try:
        return await asyncpg.connect(url.url)
    except (OSError, asyncpg.PostgresError) as exc:
        raise BackupError(f"cannot connect to {url.public_url}: {exc}") from None


async def table_stats(conn: Any) -> DatabaseStats:
    """Row count and an order-independent content checksum for every user table."""
    tables: dict[str, TableStats] = {}
    for row in await conn.fetch(_TABLES_SQL):
        qualified = f"{quote_ident(row['schema'])}.{quote_ident(row['name'])}"
        # Sum of the first 60 bits of each row's md5, as numeric (no overflow): independent of
        # physical order, constant memory, and sensitive to any changed, added or removed row.
        sql = _TABLE_STATS_SQL.format(table=qualified)  # identifiers quoted by quote_ident
        record = await conn.fetchrow(sql)
        tables[f"{row['schema']}.{row['name']}"] = TableStats(
            rows=int(record["rows"]), checksum=str(record["checksum"])
        )
    sequences: dict[str, int | None] = {}
    for row in await conn.fetch(_SEQUENCES_SQL):
        value = row["last_value"]
        sequences[f"{row['schema']}.{row['name']}"] = None if value is None else int(value)
    return DatabaseStats(tables=tables, sequences=sequences)


async def schema_revision(conn: Any) -> str | None:
    """Alembic revision(s) recorded in the database, comma-joined; None without alembic_version."""
    table = await conn.fetchval("SELECT to_regclass('alembic_version')::text")
    if table is None:
        return None
    rows = await conn.fetch(f"SELECT version_num FROM {table} ORDER BY 1")  # noqa: S608  # nosec B608
    return ",".join(str(r["version_num"]) for r in rows) or None


async def server_version(conn: Any) -> str:
    return cast(str, await conn.fetchval("SHOW server_version"))


async def database_exists(maintenance: Any, name: str) -> bool:
    return bool(await maintenance.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))


async def user_relation_count(conn: Any) -> int:
    return int(await conn.fetchval(_USER_RELATIONS_SQL))


async def create_database(maintenance: Any, name: str) -> None:
    await maintenance.execute(
        f"CREATE DATABASE {quote_ident(check_database_name(name))} TEMPLATE template0"
    )


async def drop_database(maintenance: Any, name: str) -> None:
    # WITH (FORCE) (PostgreSQL 13+) ends lingering sessions, e.g. a crashed verify's.
    await maintenance.execute(
        f"DROP DATABASE IF EXISTS {quote_ident(check_database_name(name))} WITH (FORCE)"
    )
