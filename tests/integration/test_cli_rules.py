"""`helpline rules export|import`: rules as YAML, round trip, all or nothing, prune."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

RULES = """
rules:
  - name: VIP urgent
    position: 1
    conditions:
      all:
        - {field: event, op: eq, value: ticket.created}
      any:
        - {field: tags, op: includes, value: vip}
        - {field: metadata.plan, op: eq, value: enterprise}
    actions:
      - {type: set, field: priority, value: urgent}
  - name: Note on customer reply
    position: 2
    conditions:
      all:
        - {field: event, op: eq, value: message.customer}
    actions:
      - {type: internal_note, body: "Customer {{ customer.name }} replied"}
"""


def helpline(args: list[str], env: dict[str, str], stdin: str | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-c", "from helpline.cli.main import app; app()", *args],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def cli_env(make_database, settings) -> dict[str, str]:
    return {
        "HELPLINE_ENV": "test",
        "HELPLINE_DATABASE_URL": make_database(),
        "HELPLINE_REDIS_KEY_PREFIX": settings.redis_key_prefix + "-cli",
    }


def test_import_export_round_trip_and_prune(cli_env):
    imported = helpline(["rules", "import", "-"], cli_env, stdin=RULES)
    assert imported.returncode == 0, imported.stderr
    assert "2 created, 0 updated, 0 deleted" in imported.stderr
    exported = helpline(["rules", "export"], cli_env)
    assert exported.returncode == 0, exported.stderr
    document = yaml.safe_load(exported.stdout)
    assert [r["name"] for r in document["rules"]] == ["VIP urgent", "Note on customer reply"]
    first = document["rules"][0]
    assert first["conditions"]["any"][1] == {
        "field": "metadata.plan",
        "op": "eq",
        "value": "enterprise",
    }
    assert first["actions"] == [{"type": "set", "field": "priority", "value": "urgent"}]
    assert "id" not in first

    document["rules"] = document["rules"][:1]
    document["rules"][0]["position"] = 7
    again = helpline(["rules", "import", "--prune", "-"], cli_env, stdin=yaml.safe_dump(document))
    assert again.returncode == 0, again.stderr
    assert "0 created, 1 updated, 1 deleted" in again.stderr
    final = yaml.safe_load(helpline(["rules", "export"], cli_env).stdout)
    assert [(r["name"], r["position"]) for r in final["rules"]] == [("VIP urgent", 7)]


def test_an_invalid_rule_imports_nothing(cli_env):
    bad = (
        RULES
        + """
  - name: Broken
    conditions: {all: [{field: event, op: eq, value: ticket.exploded}]}
    actions: [{type: add_tags, tags: [x]}]
"""
    )
    result = helpline(["rules", "import", "-"], cli_env, stdin=bad)
    assert result.returncode == 1
    assert result.stderr.startswith("error: rule 3 (Broken)")
    assert "unknown event kind" in result.stderr
    assert yaml.safe_load(helpline(["rules", "export"], cli_env).stdout) == {"rules": []}
    hostile = RULES.replace("Customer {{ customer.name }}", "{{ ticket.__class__ }}")
    result = helpline(["rules", "import", "-"], cli_env, stdin=hostile)
    assert result.returncode == 1
    assert "unknown placeholder" in result.stderr
