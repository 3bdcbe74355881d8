"""GitHub workflows: schema-valid, wired as promised, and every script they call exists here and
is exercised by a test."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

try:
    from _delivery import REPO, run, tool
except ImportError:  # tests/unit became a package
    from ._delivery import REPO, run, tool

# Pure checks are `unit`; those that run check-jsonschema in a subprocess are `tools`.

WORKFLOWS = sorted((REPO / ".github/workflows").glob("*.yml"))
TESTS = REPO / "tests"


def load(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((REPO / ".github/workflows" / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def run_steps(workflow: dict[Any, Any]) -> list[str]:
    return [
        step["run"]
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step
    ]


class TestWorkflows:
    @pytest.mark.tools
    def test_schema_valid(self):
        result = run(
            [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
            + [str(p) for p in WORKFLOWS]
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert {p.name for p in WORKFLOWS} >= {"ci.yml", "deploy.yml", "backup.yml"}

    @pytest.mark.tools
    def test_schema_validation_is_real(self, tmp_path: Path):
        bad = tmp_path / "bad.yml"
        bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    stepz: []\n")
        result = run(
            [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(bad)]
        )
        assert result.returncode == 1

    @pytest.mark.unit
    def test_every_called_script_exists_and_is_tested(self):
        called: set[str] = set()
        for path in WORKFLOWS:
            for script in run_steps(load(path.name)):
                called.update(re.findall(r"\bscripts/[\w.-]+", script))
        assert called, "workflows call no scripts?"
        test_sources = "\n".join(p.read_text() for p in TESTS.rglob("*.py"))
        for script in sorted(called):
            path = REPO / script
            assert path.is_file(), script
            assert path.stat().st_mode & 0o111, f"{script} is not executable"
            if script == "scripts/test":
                continue  # the test command itself: CI running it is the exercise
            assert f'"{script}"' in test_sources or f"{script}" in test_sources, (
                f"{script} is called by a workflow but no test runs it"
            )

    @pytest.mark.unit
    def test_ci_runs_the_gates(self):
        ci = load("ci.yml")
        assert set(ci["on"]) >= {"pull_request", "push"}
        steps = "\n".join(run_steps(ci))
        for gate in ("scripts/lint", "scripts/test", "scripts/check-commit-msg", "pip-audit",
                     "gitleaks", "mkdocs build --strict"):  # fmt: skip
            assert gate in steps, gate
        uses = [s.get("uses", "") for j in ci["jobs"].values() for s in j["steps"]]
        assert any(u.startswith("aquasecurity/trivy-action") for u in uses)
        assert any(u.startswith("docker/build-push-action") for u in uses)
        services = ci["jobs"]["test"]["services"]
        assert services["postgres"]["image"].startswith("postgres:16")
        assert services["redis"]["image"].startswith("redis:7")
        assert ci["permissions"] == {"contents": "read"}

    @pytest.mark.unit
    def test_deploy_gates_production_behind_an_environment(self):
        deploy = load("deploy.yml")
        assert deploy["on"]["push"] == {"branches": ["main"], "tags": ["v*.*.*"]}
        staging, production = deploy["jobs"]["staging"], deploy["jobs"]["production"]
        assert staging["if"] == "github.ref == 'refs/heads/main'"
        assert staging["environment"]["name"] == "staging"
        assert production["if"] == "startsWith(github.ref, 'refs/tags/v')"
        assert production["environment"]["name"] == "production"
        for job in (staging, production):
            assert job["needs"] == "image"
            commands = "\n".join(s.get("run", "") for s in job["steps"])
            assert "scripts/remote-run" in commands
            assert "scripts/deploy" in commands
            assert "scripts/smoke" in commands
        assert deploy["jobs"]["image"]["needs"] == "ci"
        assert deploy["concurrency"]["cancel-in-progress"] is False

    @pytest.mark.unit
    def test_backup_runs_nightly(self):
        backup = load("backup.yml")
        assert re.fullmatch(r"\d+ \d+ \* \* \*", backup["on"]["schedule"][0]["cron"])
        assert "scripts/verify-backups" in "\n".join(run_steps(backup))

    @pytest.mark.unit
    def test_untrusted_values_never_reach_run_scripts_directly(self):
        # Expressions are passed through env:, never interpolated into the shell text.
        for path in WORKFLOWS:
            for script in run_steps(load(path.name)):
                assert "${{" not in script, f"{path.name}: {script[:60]}"
