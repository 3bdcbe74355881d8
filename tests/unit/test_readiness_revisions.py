"""Readiness and the migration head during a rolling deploy (no database: the revision lookup is
replaced, the rule is what is tested)."""

from __future__ import annotations

import types
from typing import Any

import pytest

from helpline.app import known_revisions, migration_head
from helpline.health import repository, service

pytestmark = pytest.mark.unit


class Redis:
    async def ping(self) -> bool:
        return True


def state() -> Any:
    return types.SimpleNamespace(
        db=types.SimpleNamespace(engine=None),
        redis=Redis(),
        settings=types.SimpleNamespace(uses_embedded_redis=False),
        migration_head=migration_head(),
        known_revisions=known_revisions(),
    )


async def database_check(monkeypatch: pytest.MonkeyPatch, revision: str | None) -> dict[str, Any]:
    async def current_revision(engine: Any) -> str | None:
        return revision

    monkeypatch.setattr(repository, "current_revision", current_revision)
    return (await service.readiness(state()))["database"]


class TestMigrationHead:
    def test_the_head_is_one_of_the_shipped_revisions(self):
        head = migration_head()
        assert head in known_revisions()
        assert len(known_revisions()) > 1

    async def test_at_the_head_is_ready(self, monkeypatch: pytest.MonkeyPatch):
        check = await database_check(monkeypatch, migration_head())
        assert check["ok"] is True
        assert "ahead" not in check

    async def test_ahead_of_the_head_is_ready(self, monkeypatch: pytest.MonkeyPatch):
        """The next release migrated first (expand only): the old pods keep their traffic."""
        check = await database_check(monkeypatch, "f00dfeedbeef")
        assert (check["ok"], check["ahead"]) == (True, True)

    async def test_behind_the_head_is_not_ready(self, monkeypatch: pytest.MonkeyPatch):
        older = sorted(known_revisions() - {migration_head()})[0]
        assert (await database_check(monkeypatch, older))["ok"] is False
        assert (await database_check(monkeypatch, None))["ok"] is False
