"""Compose files, rendered by a real compose implementation (podman-compose --dry-run config, no
engine needed) and validated against the compose-spec schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

try:
    from _delivery import run, tool
except ImportError:  # tests/unit became a package
    from ._delivery import run, tool

pytestmark = pytest.mark.tools  # starts subprocesses: not `unit` (pure, no I/O)

IMAGE = "ghcr.io/example/helpline:test"
APP_SERVICES = ("migrate", "api", "worker")
JOBS = {"worker": ["helpline", "worker"]}


def render(env_name: str, tmp_path: Path, *profiles: str) -> Any:
    files = [arg for profile in profiles for arg in ("--profile", profile)]
    files += ["-f", "compose.yaml"]
    if env_name != "development":
        files += ["-f", f"compose.{env_name}.yaml"]
    result = run(
        [tool("podman-compose"), "--dry-run", *files, "config"],
        env={"HELPLINE_IMAGE": IMAGE},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rendered = tmp_path / f"{env_name}.yaml"
    rendered.write_text(result.stdout)
    check = run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(rendered)]
    )
    assert check.returncode == 0, check.stdout + check.stderr
    return yaml.safe_load(result.stdout)


class TestDevelopmentCompose:
    def test_valid_and_wired(self, tmp_path: Path):
        config = render("development", tmp_path, "test")
        services = config["services"]
        api = services["api"]
        assert api["command"] == ["helpline", "serve", "--reload"]
        assert ".:/workspace" in api["volumes"]  # source mount for live reload
        assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services["migrate"]["command"] == ["helpline", "db", "upgrade"]
        assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services["postgres"]["image"].startswith("postgres:16")
        assert services["redis"]["image"].startswith("redis:7")
        for name in ("postgres", "redis", "api"):
            assert services[name]["healthcheck"]["test"], name
        assert services["test"]["profiles"] == ["test"]
        assert services["test"]["environment"]["HELPLINE_ENV"] == "test"
        assert "test" not in render("development", tmp_path)["services"]  # only on request
        assert set(config["volumes"]) >= {"pgdata", "redisdata", "helpline-var", "backups"}

    def test_one_worker_service_runs_the_jobs(self, tmp_path: Path):
        services = render("development", tmp_path)["services"]
        for name, command in JOBS.items():
            job = services[name]
            assert job["command"] == command, name
            assert job["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        worker = services["worker"]
        assert "backups:/var/lib/helpline/backups" in worker["volumes"]
        assert worker["environment"]["HELPLINE_WORKER_BACKUPS"] == "true"
        assert not {"audit-rotate", "attachments-gc", "backup"} & set(services)


@pytest.mark.parametrize("env_name", ["staging", "production"])
class TestReleaseOverlays:
    def test_runs_the_release_image_without_sources(self, env_name: str, tmp_path: Path):
        services = render(env_name, tmp_path)["services"]
        for name in APP_SERVICES:
            service = services[name]
            assert service["image"] == IMAGE, name
            assert service["pull_policy"] == "always", name
            assert service["build"]["target"] == "runtime", name
            assert not any(v.split(":")[0] in (".", "./") for v in service["volumes"]), name
            assert service["environment"]["HELPLINE_ENV"] == env_name, name
            assert service["environment"]["PYTHONPATH"] == "", name
            assert service["env_file"] == [f"${{HELPLINE_ENV_FILE:-/etc/helpline/{env_name}.env}}"]
            assert service["read_only"] is True, name
            assert service["cap_drop"] == ["ALL"], name
            expected_restart = "no" if name == "migrate" else "unless-stopped"
            assert service["restart"] == expected_restart, name
        assert services["api"]["command"] == ["helpline", "serve"]
        assert "ports" not in services["api"] or services["api"]["ports"] == []

    def test_limits_and_restart_policies(self, env_name: str, tmp_path: Path):
        services = render(env_name, tmp_path)["services"]
        for name in ("postgres", "redis", "api", "proxy", *JOBS):
            limits = services[name]["deploy"]["resources"]["limits"]
            assert limits["memory"], name
            assert limits["cpus"], name
            assert services[name]["restart"] == "unless-stopped", name
        assert services["postgres"]["env_file"] == [
            "${HELPLINE_POSTGRES_ENV_FILE:-/etc/helpline/postgres.env}"
        ]
        assert "ports" not in services["postgres"] or services["postgres"]["ports"] == []

    def test_refuses_to_render_without_an_image(self, env_name: str):
        result = run(
            [tool("podman-compose"), "--dry-run", "-f", "compose.yaml", "-f",
             f"compose.{env_name}.yaml", "config"],
            env={"HELPLINE_IMAGE": ""},
        )  # fmt: skip
        assert result.returncode != 0
        assert "HELPLINE_IMAGE" in result.stderr


class TestSchemaValidationIsReal:
    def test_invalid_depends_on_condition_is_rejected(self, tmp_path: Path):
        broken = tmp_path / "compose.yaml"
        broken.write_text(
            "services:\n  a:\n    image: x\n    depends_on:\n      b:\n"
            "        condition: service_finished\n  b:\n    image: x\n"
        )
        check = run(
            [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken)]
        )
        assert check.returncode == 1
        assert "service_finished" in check.stdout + check.stderr
