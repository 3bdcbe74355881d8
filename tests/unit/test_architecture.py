"""The layering of DESIGN §2, enforced by import-linter contracts in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tools  # starts subprocesses: not `unit` (pure, no I/O)

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower() or " 0 broken" in result.stdout.lower()


AMBIENT_STATE = ("ContextVar", "session.info", ".info[", "event.listen(Session")


def test_request_state_travels_in_the_unit_of_work():
    """DESIGN §19 / ADR 0011: no request state in ContextVars, ``session.info`` or listeners on
    every Session; the one SQLAlchemy hook is on the unit of work's own session class."""
    found = []
    for path in sorted((ROOT / "backend" / "helpline").rglob("*.py")):
        text = path.read_text()
        found += [f"{path.relative_to(ROOT)}: {s}" for s in AMBIENT_STATE if s in text]
        if "listens_for(" in text and path.name != "work.py":
            found.append(f"{path.relative_to(ROOT)}: listens_for")
    assert found == []
