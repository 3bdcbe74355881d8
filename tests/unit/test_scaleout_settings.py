"""Scale-out settings and the engine options for PgBouncer (pure: no connection is made)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import event

from helpline.config import Environment, Settings
from helpline.db import make_engine
from helpline.kit.pg import engine_options, transaction_pooling_connect_args
from helpline.kit.redis_client import parse_redis_url

pytestmark = pytest.mark.unit

BASE = {
    "connect_args": {
        "server_settings": {"application_name": "helpline", "jit": "off", "statement_timeout": "1"},
        "timeout": 10,
    },
    "pool_size": 3,
}


class TestPgBouncerOptions:
    def test_without_pgbouncer_options_are_untouched(self):
        assert engine_options(BASE, pgbouncer=False) is BASE

    def test_transaction_pooling_disables_caches_and_names_statements_uniquely(self):
        options = engine_options(BASE, pgbouncer=True)
        args = options["connect_args"]
        assert args["statement_cache_size"] == 0
        assert args["prepared_statement_cache_size"] == 0
        names = {args["prepared_statement_name_func"]() for _ in range(1000)}
        assert len(names) == 1000
        assert all(n.startswith("__asyncpg_") and n.endswith("__") for n in names)
        # Only parameters PgBouncer forwards are sent at start-up; the rest belong on the role.
        assert args["server_settings"] == {"application_name": "helpline"}
        assert args["timeout"] == 10
        assert options["pool_size"] == 3
        assert BASE["connect_args"]["server_settings"]["jit"] == "off"  # input not mutated

    @pytest.mark.parametrize("pgbouncer", [True, False])
    async def test_make_engine_hands_them_to_asyncpg(self, pgbouncer: bool):
        settings = Settings(env=Environment.test, database_pgbouncer=pgbouncer)
        engine = make_engine("postgresql://u@127.0.0.1:1/db", settings)
        seen: dict[str, object] = {}

        class Captured(Exception):
            pass

        @event.listens_for(engine.sync_engine, "do_connect")
        def capture(dialect, conn_rec, cargs, cparams):  # type: ignore[no-untyped-def]
            seen.update(cparams)
            raise Captured

        with pytest.raises(Captured):
            async with engine.connect():
                pass
        await engine.dispose()
        expected = transaction_pooling_connect_args()
        if pgbouncer:
            assert seen["statement_cache_size"] == 0
            assert seen["prepared_statement_cache_size"] == 0
            assert callable(seen["prepared_statement_name_func"])
            assert seen["server_settings"] == {"application_name": "helpline"}
        else:
            assert not set(expected) & set(seen)
            assert seen["server_settings"]["jit"] == "off"  # type: ignore[index]


class TestScaleOutSettings:
    def test_replica_urls_are_a_comma_list_and_redacted(self):
        settings = Settings(
            database_replica_urls="postgresql://ro:secret@r1/db, postgresql://r2/db"
        )
        assert settings.database_replica_urls == [
            "postgresql://ro:secret@r1/db",
            "postgresql://r2/db",
        ]
        assert settings.redacted()["database_replica_urls"] == [
            "postgresql://ro:****@r1/db",
            "postgresql://r2/db",
        ]

    def test_replica_urls_must_be_postgresql(self):
        with pytest.raises(ValidationError, match="database_replica_urls"):
            Settings(database_replica_urls="mysql://r1/db")

    @pytest.mark.parametrize(
        "url",
        [
            "redis+cluster://127.0.0.1:7000,127.0.0.1:7001",
            "rediss+cluster://:pw@h1:7000",
            "redis+sentinel://h1:26379,h2:26379/mymaster",
        ],
    )
    def test_cluster_and_sentinel_urls_are_accepted(self, url: str):
        assert Settings(redis_url=url).redis_url == url

    def test_cluster_url_password_is_redacted(self):
        settings = Settings(redis_url="redis+cluster://:hunter2@h1:7000,h2:7001")
        assert "hunter2" not in str(settings.redacted())


class TestRedisUrls:
    def test_cluster_url_lists_seed_nodes_and_credentials(self):
        topology = parse_redis_url("rediss+cluster://app:s%40cret@h1:7000,h2:7001,[::1]:7002")
        assert topology.kind == "cluster"
        assert topology.hosts == [("h1", 7000), ("h2", 7001), ("::1", 7002)]
        assert (topology.username, topology.password, topology.ssl) == ("app", "s@cret", True)

    def test_sentinel_url_names_the_master_and_database(self):
        topology = parse_redis_url(
            "redis+sentinel://:pw@s1:26379,s2/helpline/2?sentinel_password=sp"
        )
        assert topology.kind == "sentinel"
        assert topology.hosts == [("s1", 26379), ("s2", 6379)]
        assert (topology.master_name, topology.db) == ("helpline", 2)
        assert (topology.password, topology.sentinel_password) == ("pw", "sp")

    def test_sentinel_url_without_master_is_refused(self):
        with pytest.raises(ValueError, match="master"):
            parse_redis_url("redis+sentinel://s1:26379")

    def test_plain_urls_are_single_servers(self):
        assert parse_redis_url("redis://h:6379/0").kind == "single"
        assert parse_redis_url("unix:///run/redis.sock").kind == "single"
