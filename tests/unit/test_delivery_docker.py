"""The Dockerfile lints clean with hadolint and keeps its promises; the image healthcheck works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

try:
    from _delivery import REPO, fake_server, run, tool
except ImportError:  # tests/unit became a package
    from ._delivery import REPO, fake_server, run, tool

# Pure checks are `unit`; those that run hadolint or scripts in a subprocess are `tools`.

DOCKERFILE = (REPO / "Dockerfile").read_text()


def _stage(name: str) -> str:
    match = re.search(rf"^FROM \S+ AS {name}\n(.*?)(?=^FROM |\Z)", DOCKERFILE, re.M | re.S)
    assert match, f"stage {name} missing"
    return match.group(1)


class TestDockerfile:
    @pytest.mark.tools
    def test_hadolint_passes(self):
        result = run([tool("hadolint"), "Dockerfile"])
        assert result.returncode == 0, result.stdout + result.stderr

    @pytest.mark.tools
    def test_hadolint_really_lints(self, tmp_path: Path):
        bad = tmp_path / "Dockerfile"
        bad.write_text("FROM python:latest\nRUN apt-get install curl\nUSER root\n")
        result = run([tool("hadolint"), str(bad)])
        assert result.returncode == 1
        assert "DL3007" in result.stdout  # latest tag
        assert "DL3009" in result.stdout or "DL3015" in result.stdout

    @pytest.mark.unit
    def test_runtime_stage_is_non_root_with_python_healthcheck(self):
        runtime = _stage("runtime")
        users = re.findall(r"^USER (\S+)", runtime, re.M)
        assert users
        assert users[-1].split(":")[0] not in ("0", "root")
        assert "HEALTHCHECK" in runtime
        assert '"python", "/app/scripts/healthcheck"' in runtime
        assert re.search(r'^CMD \["helpline", "serve"\]', runtime, re.M)
        # Locked and hash-checked dependencies; no compilers or fetch tools in the final stage.
        assert "--require-hashes -r requirements/runtime.lock" in _stage("builder")
        instructions = "\n".join(
            ln for ln in runtime.splitlines() if not ln.lstrip().startswith("#")
        )
        assert not re.search(r"\b(gcc|build-essential|curl|wget|gnupg)\b", instructions)

    @pytest.mark.unit
    def test_build_context_excludes_secrets_and_vcs(self):
        ignore = (REPO / ".dockerignore").read_text().splitlines()
        assert ignore[ignore.index("*")] == "*"  # allow-list: everything else is excluded
        assert ".env" in ignore
        assert not any(line.strip() in ("!.env", "!.git", "!.git/") for line in ignore)
        copied = re.findall(r"^COPY (?:--\S+ )*(.+?) \S+$", DOCKERFILE, re.M)
        sources = {s for line in copied for s in line.split()}
        allowed = [line[1:].rstrip("/") for line in ignore if line.startswith("!")]
        for source in sources:
            if source.startswith("/"):
                continue  # from another stage
            assert any(source.rstrip("/").startswith(a) for a in allowed), source


@pytest.mark.tools
class TestHealthcheckScript:
    def test_live_endpoint_200_is_healthy(self):
        seen: list[str] = []

        def route(path: str, headers: dict[str, str]):
            seen.append(path)
            return 200, "application/json", {"status": "ok"}

        with fake_server(route) as base:
            port = base.rsplit(":", 1)[1]
            result = run(["scripts/healthcheck"], env={"HELPLINE_PORT": port})
        assert result.returncode == 0, result.stderr
        assert seen == ["/health/live"]

    def test_error_status_is_unhealthy(self):
        with fake_server(lambda p, h: (503, "application/json", {"status": "down"})) as base:
            result = run(["scripts/healthcheck", f"{base}/health/live"])
        assert result.returncode == 1
        assert "unhealthy" in result.stderr
        assert "503" in result.stderr

    def test_nothing_listening_is_unhealthy(self):
        with fake_server(lambda p, h: (200, "application/json", {})) as base:
            pass  # server closed: the port is free again
        result = run(["scripts/healthcheck", f"{base}/health/live"])
        assert result.returncode == 1
        assert "unhealthy" in result.stderr
