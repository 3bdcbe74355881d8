"""Checks run on a restored copy by ``verify``; the audit check shells out to the CLI."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

from helpline.backup.pg import DatabaseUrl
from helpline.backup.service import AuditCheckResult

AUDIT_VERIFY_ARGS = ("audit", "verify")


def helpline_executable() -> str | None:
    """The ``helpline`` entry point of this installation (beside the interpreter), else PATH's."""
    beside = Path(sys.executable).with_name("helpline")
    if beside.is_file():
        return str(beside)
    return shutil.which("helpline")


async def _run(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


async def audit_verify_via_cli(restored: DatabaseUrl) -> AuditCheckResult:
    """Run ``helpline audit verify`` with HELPLINE_DATABASE_URL pointing at the restored copy.

    Reported as "skipped" (not failed) while the installed CLI has no ``audit verify`` command.
    """
    exe = helpline_executable()
    if exe is None:
        return AuditCheckResult("skipped", "the helpline executable was not found")
    env = restored.client_env()
    # Both URLs: an owner URL inherited from the environment would point at the live database.
    env["HELPLINE_DATABASE_URL"] = restored.url
    env["HELPLINE_DATABASE_OWNER_URL"] = restored.url
    code, _ = await _run([exe, *AUDIT_VERIFY_ARGS, "--help"], env)
    if code != 0:
        return AuditCheckResult("skipped", "`helpline audit verify` is not available in this build")
    code, output = await _run([exe, *AUDIT_VERIFY_ARGS], env)
    lines = [line for line in output.splitlines() if line.strip()]
    last = lines[-1] if lines else f"exit {code}"
    return AuditCheckResult("passed" if code == 0 else "failed", last)
