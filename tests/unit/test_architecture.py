"""The layering of DESIGN §2, enforced by import-linter contracts in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _contracts() -> list[dict[str, Any]]:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def _top_level_modules() -> set[str]:
    package = ROOT / "backend" / "helpline"
    files = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    packages = {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    return files | packages


def test_every_module_has_its_place_in_the_layers():
    """A new domain or module must be placed in the package's layers (pyproject.toml), which is
    what keeps the import graph free of cycles and of imports running up."""
    (layers,) = [c for c in _contracts() if c["name"].startswith("the package's layers")]
    placed = [
        name.strip().removeprefix("helpline.")
        for layer in layers["layers"]
        for name in str(layer).split(":")
    ]
    assert sorted(placed) == sorted(set(placed)), "a module placed twice"
    assert set(placed) == _top_level_modules()
    assert placed[0] == "cli"
    assert {"kit", "models"} <= set(placed[-5:])


def test_every_repository_is_private_to_its_domain():
    """Each domain with a repository has a contract that keeps every other module out of it."""
    package = ROOT / "backend" / "helpline"
    with_repository = {p.parent.name for p in package.glob("*/repository.py")} | {
        p.parent.parent.name for p in package.glob("*/repository/__init__.py")
    }  # a repository grown into a package (report's: facts and rollups)
    guarded = {
        str(c["forbidden_modules"][0]).split(".")[1]
        for c in _contracts()
        if c["type"] == "forbidden" and len(c["forbidden_modules"]) == 1
    }
    assert with_repository == guarded
    for contract in _contracts():
        if contract["type"] == "forbidden" and len(contract["forbidden_modules"]) == 1:
            owner = str(contract["forbidden_modules"][0]).split(".")[1]
            sources = {str(m).removeprefix("helpline.") for m in contract["source_modules"]}
            allowed = {owner} | ({"account"} if owner == "auth" else set())
            assert sources == _top_level_modules() - allowed, contract["name"]
