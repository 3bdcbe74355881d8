"""`scripts/bench` is the one benchmark entry point: every module of scripts/benchmarks is one of
its subcommands, each importable with a ``main(argv)``, and no benchmark imports the tests."""

from __future__ import annotations

import ast
import importlib
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.tools  # starts a subprocess: not `unit` (pure, no I/O)

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "scripts" / "benchmarks"
LIBRARIES = {"__init__", "common", "report", "live_client"}  # shared by subcommands, not one
MODULE_OF = {
    "http": "http_api",
    "graphql": "graphql_api",
    "frontend": "frontend.sh",
    "mail-core": "mail_core",
}


def subcommands() -> list[str]:
    out = subprocess.run(
        [str(REPO / "scripts" / "bench"), "--help"], capture_output=True, text=True, check=True
    ).stdout
    listed = out.split("subcommands:\n", 1)[1].splitlines()
    return [line.split()[0] for line in listed if line.strip()]


def test_every_benchmark_module_is_a_subcommand_and_runs_its_main():
    names = subcommands()
    assert names[0] == "http"  # the default, as `scripts/bench` was
    modules = {MODULE_OF.get(name, name) for name in names}
    on_disk = {p.stem for p in BENCHMARKS.glob("*.py")} - LIBRARIES
    assert on_disk | {"frontend.sh"} == modules
    for stem in sorted(on_disk):
        module = importlib.import_module(f"scripts.benchmarks.{stem}")
        assert callable(module.main), stem


def test_no_benchmark_imports_the_tests_or_loads_a_script_by_path():
    for path in [*BENCHMARKS.rglob("*.py"), REPO / "scripts" / "bench"]:
        tree = ast.parse(path.read_text())
        imported = {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }  # fmt: skip
        assert not {m for m in imported if m == "tests" or m.startswith(("tests.", "importlib"))}, (
            path
        )


def test_an_unknown_subcommand_is_refused_with_the_list():
    done = subprocess.run(
        [str(REPO / "scripts" / "bench"), "nonsense"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "unknown subcommand 'nonsense'" in done.stderr
    assert "scaleout" in done.stderr
