"""Every script a workflow calls, run for real here: smoke, deploy (rolling restart + rollback,
against a fake docker), remote-run, verify-backups, compose, check-commit-msg, backup usage."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

try:
    from _delivery import REPO, fake_server, run
except ImportError:  # tests/unit became a package
    from ._delivery import REPO, fake_server, run

pytestmark = pytest.mark.tools  # starts subprocesses: not `unit` (pure, no I/O)


def _ready_ok(path: str, headers: dict[str, str]):
    if path == "/health/ready":
        return 200, "application/json", {"status": "ok", "checks": {}}
    if path.startswith("/api/v1/tickets"):
        if headers.get("Authorization") == "Bearer hl_smoke":
            return 200, "application/json", {"data": [], "meta": {"has_more": False}}
        return 401, "application/problem+json", {"status": 401, "title": "Unauthorized"}
    return 404, "application/json", {}


class TestSmoke:
    def test_passes_on_ready_service_without_key(self):
        with fake_server(_ready_ok) as base:
            result = run(
                ["scripts/smoke", base, "--attempts", "1"], env={"HELPLINE_SMOKE_API_KEY": ""}
            )
        assert result.returncode == 0, result.stderr
        assert "unauthenticated call refused with 401 problem+json" in result.stdout

    def test_lists_tickets_with_key(self):
        with fake_server(_ready_ok) as base:
            result = run(
                ["scripts/smoke", base, "--attempts", "1"],
                env={"HELPLINE_SMOKE_API_KEY": "hl_smoke"},
            )
        assert result.returncode == 0, result.stderr
        assert "tickets listed (0)" in result.stdout

    def test_fails_when_not_ready(self):
        def not_ready(path: str, headers: dict[str, str]):
            return 503, "application/problem+json", {"status": 503, "checks": {"db": False}}

        with fake_server(not_ready) as base:
            result = run(["scripts/smoke", base, "--attempts", "1"])
        assert result.returncode == 1
        assert "smoke FAILED: /health/ready: HTTP 503" in result.stderr

    def test_fails_when_api_answers_wrongly(self):
        def open_api(path: str, headers: dict[str, str]):
            if path == "/health/ready":
                return 200, "application/json", {"status": "ok"}
            return 200, "application/json", {"data": []}  # no auth at all: must not pass

        with fake_server(open_api) as base:
            result = run(
                ["scripts/smoke", base, "--attempts", "1"], env={"HELPLINE_SMOKE_API_KEY": ""}
            )
        assert result.returncode == 1
        assert "expected 401 problem+json, got HTTP 200" in result.stderr


FAKE_DOCKER = r'''#!/usr/bin/env python3
"""Fake `docker` / `docker compose` recording calls and keeping api containers in a JSON file."""
import json, os, sys
state_path, log_path = os.environ["FAKE_STATE"], os.environ["FAKE_LOG"]
state = json.load(open(state_path))
args = sys.argv[1:]
if args[:1] == ["compose"]:
    args = args[1:]
while args and args[0] in ("-f", "-p"):
    args = args[2:]
image = os.environ.get("HELPLINE_IMAGE", "")
def log(line):
    open(log_path, "a").write(line + "\n")
def save():
    json.dump(state, open(state_path, "w"))
cmd = args[0]
if sys.argv[0].endswith("compose"):
    if cmd == "ps":
        print("\n".join(sorted(state["api"])))
    elif cmd == "run":
        log(f"migrate {image}")
        sys.exit(1 if os.environ.get("FAKE_MIGRATE_FAILS") else 0)
    elif cmd == "up" and args[-1] == "api":
        scale = int(next(a for a in args if a.startswith("api=")).split("=")[1])
        while len(state["api"]) < scale:
            state["counter"] += 1
            state["api"][f"c{state['counter']:03d}"] = image
        save()
        log(f"scale api={scale} {image}")
        sys.exit(1 if image in os.environ.get("FAKE_UNHEALTHY", "").split() else 0)
    else:
        log(" ".join([cmd] + [a for a in args[1:] if not a.startswith("-")]))
else:
    if cmd == "inspect":
        print(state["api"][args[-1]])
    elif cmd in ("stop", "rm"):
        ids = [a for a in args[1:] if not a.startswith("-")]
        if cmd == "rm":
            for i in ids:
                state["api"].pop(i)
            save()
        log(f"{cmd} {' '.join(ids)}")
'''

FAKE_SMOKE = r"""#!/usr/bin/env python3
import json, os, sys
state = json.load(open(os.environ["FAKE_STATE"]))
images = sorted(set(state["api"].values()))
open(os.environ["FAKE_LOG"], "a").write(f"smoke {sys.argv[1]} {' '.join(images)}\n")
sys.exit(1 if set(images) & set(os.environ.get("FAKE_SMOKE_FAILS", "").split()) else 0)
"""


class TestDeploy:
    @pytest.fixture
    def fakes(self, tmp_path: Path) -> dict[str, str]:
        docker = tmp_path / "docker"
        docker.write_text(FAKE_DOCKER)
        compose = tmp_path / "compose"
        compose.write_text(FAKE_DOCKER)
        smoke = tmp_path / "smoke"
        smoke.write_text(FAKE_SMOKE)
        for script in (docker, compose, smoke):
            script.chmod(0o755)
        state = tmp_path / "state.json"
        state.write_text(json.dumps({"api": {"c001": "app:v1", "c002": "app:v1"}, "counter": 2}))
        return {
            "HELPLINE_DOCKER": str(docker),
            "HELPLINE_COMPOSE": str(compose),
            "HELPLINE_SMOKE": str(smoke),
            "HELPLINE_SMOKE_URL": "https://staging.example",
            "HELPLINE_API_REPLICAS": "2",
            "FAKE_STATE": str(state),
            "FAKE_LOG": str(tmp_path / "log"),
        }

    @staticmethod
    def _state(fakes: dict[str, str]) -> dict[str, str]:
        return json.loads(Path(fakes["FAKE_STATE"]).read_text())["api"]

    @staticmethod
    def _log(fakes: dict[str, str]) -> list[str]:
        return Path(fakes["FAKE_LOG"]).read_text().splitlines()

    def test_migrates_then_rolls_then_smokes(self, fakes: dict[str, str]):
        result = run(["scripts/deploy", "staging"], env={**fakes, "HELPLINE_IMAGE": "app:v2"})
        assert result.returncode == 0, result.stderr
        assert self._state(fakes) == {"c003": "app:v2", "c004": "app:v2"}
        assert self._log(fakes) == [
            "pull api migrate",
            "up postgres redis",
            "migrate app:v2",
            "scale api=4 app:v2",  # new replicas next to the two old ones
            "stop c001 c002",
            "rm c001 c002",
            "smoke https://staging.example app:v2",
            "up proxy worker",
        ]

    def test_failed_smoke_rolls_back_to_the_previous_image(self, fakes: dict[str, str]):
        env = {**fakes, "HELPLINE_IMAGE": "app:v2", "FAKE_SMOKE_FAILS": "app:v2"}
        result = run(["scripts/deploy", "staging"], env=env)
        assert result.returncode == 1
        assert "rolling back to app:v1" in result.stderr
        assert sorted(set(self._state(fakes).values())) == ["app:v1"]
        log = self._log(fakes)
        assert log[-2:] == ["rm c003 c004", "smoke https://staging.example app:v1"]
        assert "scale api=4 app:v1" in log

    def test_unhealthy_new_replicas_leave_the_old_ones_serving(self, fakes: dict[str, str]):
        env = {**fakes, "HELPLINE_IMAGE": "app:v2", "FAKE_UNHEALTHY": "app:v2"}
        result = run(["scripts/deploy", "production"], env=env)
        assert result.returncode == 1
        assert self._state(fakes) == {"c001": "app:v1", "c002": "app:v1"}
        assert "stop c001 c002" not in self._log(fakes)
        assert "previous replicas are still running" in result.stderr

    def test_failed_migration_changes_nothing(self, fakes: dict[str, str]):
        env = {**fakes, "HELPLINE_IMAGE": "app:v2", "FAKE_MIGRATE_FAILS": "1"}
        result = run(["scripts/deploy", "staging"], env=env)
        assert result.returncode == 1
        assert self._state(fakes) == {"c001": "app:v1", "c002": "app:v1"}
        assert not any(line.startswith(("scale", "smoke")) for line in self._log(fakes))

    def test_rejects_unknown_environment(self, fakes: dict[str, str]):
        result = run(["scripts/deploy", "prod"], env={**fakes, "HELPLINE_IMAGE": "app:v2"})
        assert result.returncode == 2


class TestRemoteRunAndHostScripts:
    def test_remote_command_is_quoted_and_pinned_to_the_ref(self, tmp_path: Path):
        fake_ssh = tmp_path / "ssh"
        fake_ssh.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$FAKE_OUT"\n')
        fake_ssh.chmod(0o755)
        out = tmp_path / "out"
        result = run(
            ["scripts/remote-run", "deploy@host", "abc123", "scripts/deploy", "staging"],
            env={
                "HELPLINE_SSH": str(fake_ssh),
                "FAKE_OUT": str(out),
                "HELPLINE_REMOTE_ENV": "HELPLINE_IMAGE",
                "HELPLINE_IMAGE": "ghcr.io/o/h@sha256:ab; rm -rf /",
            },
        )
        assert result.returncode == 0, result.stderr
        host, remote = out.read_text().rstrip("\n").split("\n", 1)
        assert host == "deploy@host"
        # The remote shell sees one command; the hostile value stays a single literal word.
        words = shlex.split(remote.split("&& env ", 1)[1])
        assert words == [
            "HELPLINE_IMAGE=ghcr.io/o/h@sha256:ab; rm -rf /",
            "scripts/deploy",
            "staging",
        ]
        assert "git checkout --quiet --detach abc123" in remote

    def test_remote_run_rejects_a_bad_ref(self):
        result = run(["scripts/remote-run", "host", "main;reboot", "true"])
        assert result.returncode == 2

    def test_compose_wrapper_selects_files_and_project(self, tmp_path: Path):
        fake = tmp_path / "compose"
        fake.write_text('#!/bin/sh\necho "$@"\n')
        fake.chmod(0o755)
        out = run(["scripts/compose", "production", "ps"], env={"HELPLINE_COMPOSE": str(fake)})
        assert out.stdout.strip() == (
            "-f compose.yaml -f compose.production.yaml -p helpline-production ps"
        )
        dev = run(["scripts/compose", "development", "up"], env={"HELPLINE_COMPOSE": str(fake)})
        assert dev.stdout.strip() == "-f compose.yaml -p helpline up"
        assert run(["scripts/compose", "qa", "ps"]).returncode == 2

    def test_verify_backups_runs_the_check_in_the_backup_service(self, tmp_path: Path):
        fake = tmp_path / "docker"
        fake.write_text(
            "#!/bin/sh\n"
            'if [ "$1" = inspect ]; then echo "app:v7"; exit 0; fi\n'
            'echo "$HELPLINE_IMAGE|$*" >> "$FAKE_OUT"\n'
            'case "$*" in *" ps -q backup") echo cafe01;; esac\n'
        )
        fake.chmod(0o755)
        out = tmp_path / "out"
        result = run(
            ["scripts/verify-backups", "production"],
            env={"HELPLINE_COMPOSE": str(fake), "HELPLINE_DOCKER": str(fake), "FAKE_OUT": str(out)},
        )
        assert result.returncode == 0, result.stderr
        assert out.read_text().splitlines()[-1] == (
            "app:v7|-f compose.yaml -f compose.production.yaml -p helpline-production "
            "exec -T backup scripts/backup check"
        )

    def test_backup_script_usage(self):
        result = run(["scripts/backup", "nonsense"])
        assert result.returncode == 2
        assert "usage: scripts/backup run|check" in result.stderr


class TestCommitMessages:
    @pytest.mark.parametrize(
        "message",
        [
            "feat(backup): verify restores in a scratch database",
            "fix: handle empty tables\n\nBody explains why.\n",
            "ci!: drop Python 3.10\n\nBREAKING CHANGE: 3.11 needed\n",
            "build(docker): pin python image\n# Please enter the commit message\n",
            "fixup! feat(backup): x",
            'Revert "feat: something"',
        ],
    )
    def test_accepts(self, message: str, tmp_path: Path):
        path = tmp_path / "MSG"
        path.write_text(message)
        result = run(["scripts/check-commit-msg", str(path)])
        assert result.returncode == 0, result.stderr

    @pytest.mark.parametrize(
        ("message", "reason"),
        [
            ("added backups", "is not '<type>[(scope)][!]: <subject>'"),
            ("feature: backups", "type 'feature' is not one of"),
            ("feat: backups.", "subject ends with '.'"),
            ("feat(Backup): x", "is not '<type>"),
            ("feat: " + "x" * 100, "characters (max 100)"),
            ("feat: x\nno blank line", "separated from the header by a blank line"),
            ("# only a comment\n", "empty commit message"),
        ],
    )
    def test_rejects(self, message: str, reason: str, tmp_path: Path):
        path = tmp_path / "MSG"
        path.write_text(message)
        result = run(["scripts/check-commit-msg", str(path)])
        assert result.returncode == 1
        assert reason in result.stderr

    def test_range_mode_checks_each_commit(self, tmp_path: Path):
        def git(*args: str) -> str:
            return subprocess.run(
                ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
                cwd=tmp_path, capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip

        git("init", "-q")
        git("commit", "-q", "--allow-empty", "-m", "chore: start")
        base = git("rev-parse", "HEAD")
        git("commit", "-q", "--allow-empty", "-m", "feat: good one")
        git("commit", "-q", "--allow-empty", "-m", "fixup! feat: good one")
        git("commit", "-q", "--allow-empty", "-m", "WIP stuff")
        result = subprocess.run(
            [sys.executable, str(REPO / "scripts/check-commit-msg"), "--range", f"{base}..HEAD"],
            cwd=tmp_path, capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 1
        assert "checked 3 commit(s)" in result.stdout
        assert "autosquash commit must be squashed" in result.stderr
        assert "'WIP stuff' is not" in result.stderr
        assert "good one'" not in result.stderr.replace("fixup! feat: good one", "")
