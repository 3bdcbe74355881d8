"""Engine options for the connection path in front of PostgreSQL.

Behind PgBouncer in transaction pooling, consecutive transactions of one client connection may run
on different server connections, so nothing may outlive a transaction on the server side:
- asyncpg's statement cache and SQLAlchemy's prepared-statement cache are turned off, and every
  prepared statement gets a unique name (two clients sharing a server connection would otherwise
  both try to create ``__asyncpg_stmt_1__``); this is what SQLAlchemy's asyncpg dialect documents
  for PgBouncer;
- start-up parameters that PgBouncer 1.18 does not track (``jit``, ``statement_timeout``) are not
  sent: PgBouncer refuses unknown ones, and ignoring them would silently drop them. Set them on
  the database role instead (``ALTER ROLE helpline SET statement_timeout = '15s'``; see
  docs/scaling.md).
Helpline keeps no other session state: actor context is ``set_config(…, true)``
(transaction-local) and advisory locks are ``pg_advisory_xact_lock``.
"""

from __future__ import annotations

import copy
from typing import Any
from uuid import uuid4

# What PgBouncer forwards to the server connection on its own (track_extra_parameters aside).
PGBOUNCER_STARTUP_PARAMETERS = frozenset(
    {"application_name", "client_encoding", "datestyle", "timezone", "standard_conforming_strings"}
)


def unique_statement_name() -> str:
    """A prepared-statement name no other client of the pooler can be using."""
    return f"__asyncpg_{uuid4().hex}__"


def transaction_pooling_connect_args() -> dict[str, Any]:
    """asyncpg/SQLAlchemy connect arguments that are safe under transaction pooling."""
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": unique_statement_name,
    }


def engine_options(options: dict[str, Any], *, pgbouncer: bool) -> dict[str, Any]:
    """``create_async_engine`` options adapted to the pooler in front of PostgreSQL (if any)."""
    if not pgbouncer:
        return options
    adapted = copy.copy(options)
    connect_args = dict(adapted.get("connect_args", {}))
    server_settings = connect_args.get("server_settings")
    if server_settings is not None:
        connect_args["server_settings"] = {
            name: value
            for name, value in server_settings.items()
            if name.lower() in PGBOUNCER_STARTUP_PARAMETERS
        }
    connect_args.update(transaction_pooling_connect_args())
    adapted["connect_args"] = connect_args
    return adapted
