"""Benchmark the cost of history/audit triggers and the speed of the audit queries.

Usage (a PostgreSQL server where we may create a scratch database; Redis for the API part):

    scripts/bench audit                                  # everything, ~10 million audit rows
    scripts/bench audit --audit-rows 1000000 --seconds 5 # quicker
    HELPLINE_BENCH_SERVER_URL=postgresql://postgres@db:5432/postgres scripts/bench audit --json

In ONE scratch database (dropped at the end unless --keep) it measures:

1. ticket-update throughput through the API (`helpline serve`, PATCH /tickets/{id} changing two
   fields, N concurrent clients) with the history/audit triggers enabled vs disabled, alternating
   rounds so both see the same machine state;
2. the same update as pgbench-style SQL (pgbench, custom script, actor context set like the API);
3. the history query of a ticket with 1,000 changes (first page, a deep page, via SQL and API);
4. GET /audit-events's query over --audit-rows rows generated with generate_series, for each
   filter, first page and a deep keyset page: p50/p99 over --samples runs.

A report, not a test: it never fails a build. Targets (issue 4): API overhead <= 15 %,
p99 < 50 ms for the history and audit-event queries.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from alembic import command
from sqlalchemy.engine import make_url

from helpline.cli.db import alembic_config
from scripts.lib import benchkit

MY_TRIGGERS = (
    ("tickets", "tickets_history"),
    ("tickets", "tickets_audit"),
)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def plain(url: str) -> dict[str, object]:
    u = make_url(url)
    return {
        "user": u.username,
        "password": u.password,
        "host": u.host or u.query.get("host"),
        "port": u.port,
        "database": u.database,
    }


async def set_triggers(conn: asyncpg.Connection, enabled: bool) -> None:
    verb = "ENABLE" if enabled else "DISABLE"
    for table, trigger in MY_TRIGGERS:
        await conn.execute(f"ALTER TABLE {table} {verb} TRIGGER {trigger}")


# --- setup ------------------------------------------------------------------------------------
async def setup(url: str, tickets: int) -> dict[str, object]:
    conn = await asyncpg.connect(**plain(url))
    try:
        admin, customer = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO users (id, email, name, role) VALUES ($1, 'bench-admin@x.io', 'Admin',"
            " 'admin'), ($2, 'bench-customer@x.io', 'Customer', 'customer')",
            admin,
            customer,
        )
        ids = [uuid.uuid4() for _ in range(tickets)]
        await conn.executemany(
            "INSERT INTO tickets (id, title, description, customer_id, status) "
            "VALUES ($1, 'Bench ticket', 'Something broke', $2, 'open')",
            [(i, customer) for i in ids],
        )
        await conn.execute("CREATE TABLE bench_ids (n int PRIMARY KEY, id uuid NOT NULL)")
        await conn.executemany(
            "INSERT INTO bench_ids VALUES ($1, $2)", list(enumerate(ids, start=1))
        )
        await conn.execute("ANALYZE")
        return {"admin": admin, "customer": customer, "tickets": ids}
    finally:
        await conn.close()


# --- 1. API throughput ------------------------------------------------------------------------
async def api_round(
    base: str, key: str, ids: list[uuid.UUID], seconds: float, concurrency: int
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(n: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        flip = n % 2
        # Each worker owns its tickets, so no two requests wait on one row lock.
        mine = ids[n::concurrency]
        i = 0
        while time.perf_counter() < deadline:
            flip ^= 1
            body = {"status": "pending" if flip else "open", "priority": "high" if flip else "low"}
            started = time.perf_counter()
            r = await client.patch(
                f"/api/v1/tickets/{mine[i % len(mine)]}", json=body, headers=headers
            )
            latencies.append(time.perf_counter() - started)
            if r.status_code != 200:
                errors += 1
            i += 1

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(n, client) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, errors


async def bench_api(
    url: str, env: dict[str, str], key: str, ids: list[uuid.UUID], args: argparse.Namespace
) -> dict[str, object]:
    port = benchkit.free_port()
    log = Path(tempfile.gettempdir()) / "bench_audit_server.log"
    log.unlink(missing_ok=True)
    command = [str(benchkit.HELPLINE), "serve", "--port", str(port), "--workers", str(args.workers)]
    proc = benchkit.start(command, env, log)
    # a loaded machine starts workers slowly
    benchkit.wait_ready(f"http://127.0.0.1:{port}/health/live", proc, log, timeout=120)
    conn = await asyncpg.connect(**plain(url))
    rounds: dict[str, list[float]] = {"enabled": [], "disabled": []}
    lat: dict[str, list[float]] = {"enabled": [], "disabled": []}
    errors = 0
    try:
        base = f"http://127.0.0.1:{port}"
        await api_round(base, key, ids, 2, args.concurrency)  # warm-up
        for _ in range(args.rounds):
            for mode in ("enabled", "disabled"):
                await set_triggers(conn, mode == "enabled")
                rps, latencies, errs = await api_round(
                    base, key, ids, args.seconds, args.concurrency
                )
                rounds[mode].append(rps)
                lat[mode] += latencies
                errors += errs
    finally:
        await set_triggers(conn, True)
        await conn.close()
        benchkit.stop(proc)
    on, off = statistics.median(rounds["enabled"]), statistics.median(rounds["disabled"])
    return {
        "rps_enabled": round(on, 1),
        "rps_disabled": round(off, 1),
        "overhead_pct": round((off - on) / off * 100, 1),
        "p99_ms_enabled": round(pct(lat["enabled"], 99) * 1000, 1),
        "p99_ms_disabled": round(pct(lat["disabled"], 99) * 1000, 1),
        "rounds": rounds,
        "errors": errors,
        "concurrency": args.concurrency,
        "workers": args.workers,
    }


# --- 2. pgbench -----------------------------------------------------------------------------
PGBENCH_SCRIPT = "\n".join(
    [
        "\\set n random(1, {tickets})",
        "BEGIN;",
        "SELECT set_config('helpline.actor_type', 'api_key', true),"
        " set_config('helpline.actor_id', '{admin}', true),"
        " set_config('helpline.request_id', 'pgbench', true);",
        "UPDATE tickets SET status = CASE status WHEN 'open' THEN 'pending' ELSE 'open' END,"
        " priority = CASE priority WHEN 'low' THEN 'high' ELSE 'low' END"
        " WHERE id = (SELECT id FROM bench_ids WHERE n = :n);",
        "END;",
        "",
    ]
)


async def bench_pgbench(
    url: str, admin: uuid.UUID, tickets: int, args: argparse.Namespace
) -> dict[str, object]:
    script = Path(tempfile.gettempdir()) / "bench_audit.sql"
    script.write_text(PGBENCH_SCRIPT.format(tickets=tickets, admin=admin))
    u = make_url(url)
    env = {**os.environ, "PGPASSWORD": u.password or ""}
    cmd = [
        "pgbench",
        "-n",
        "-c",
        str(args.concurrency),
        "-j",
        str(min(args.concurrency, 4)),
        "-T",
        str(int(args.seconds)),
        "-f",
        str(script),
        "-h",
        str(u.host or "127.0.0.1"),
        "-p",
        str(u.port or 5432),
        "-U",
        u.username or "postgres",
        u.database or "",
    ]
    conn = await asyncpg.connect(**plain(url))
    tps: dict[str, list[float]] = {"enabled": [], "disabled": []}
    try:
        for _ in range(args.rounds):
            for mode in ("enabled", "disabled"):
                await set_triggers(conn, mode == "enabled")
                out = await asyncio.to_thread(
                    subprocess.run, cmd, env=env, capture_output=True, text=True, check=True
                )
                line = next(ln for ln in out.stdout.splitlines() if ln.startswith("tps"))
                tps[mode].append(float(line.split("=")[1].split()[0]))
    finally:
        await set_triggers(conn, True)
        await conn.close()
    on, off = statistics.median(tps["enabled"]), statistics.median(tps["disabled"])
    return {
        "tps_enabled": round(on, 1),
        "tps_disabled": round(off, 1),
        "overhead_pct": round((off - on) / off * 100, 1),
        "rounds": tps,
        "command": " ".join(cmd),
    }


# --- 3/4. queries -----------------------------------------------------------------------------
async def timed(
    conn: asyncpg.Connection, sql: str, params_list: list[tuple[object, ...]]
) -> dict[str, float]:
    stmt = await conn.prepare(sql)
    for params in params_list[:10]:
        await stmt.fetch(*params)
    samples = []
    for params in params_list:
        started = time.perf_counter()
        await stmt.fetch(*params)
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(pct(samples, 50), 2),
        "p99_ms": round(pct(samples, 99), 2),
        "max_ms": round(max(samples), 2),
    }


async def bench_history(
    url: str,
    ticket: uuid.UUID,
    admin: uuid.UUID,
    base_env: dict[str, str],
    key: str,
    args: argparse.Namespace,
) -> dict[str, object]:
    conn = await asyncpg.connect(**plain(url))
    try:
        await conn.execute(
            "DO $$ DECLARE i int; BEGIN FOR i IN 1..500 LOOP "
            f"UPDATE tickets SET status = CASE status WHEN 'open' THEN 'pending' ELSE 'open' END,"
            f" title = 'Bench ticket ' || i WHERE id = '{ticket}'; END LOOP; END $$"
        )
        await conn.execute("ANALYZE ticket_history")
        count = await conn.fetchval(
            "SELECT count(*) FROM ticket_history WHERE ticket_id = $1", ticket
        )
        ids = await conn.fetch(
            "SELECT id FROM ticket_history WHERE ticket_id = $1 ORDER BY id", ticket
        )
        sql = "SELECT * FROM ticket_history WHERE ticket_id = $1 AND id > $2 ORDER BY id LIMIT 101"
        first = await timed(conn, sql, [(ticket, 0)] * args.samples)
        deep = await timed(conn, sql, [(ticket, ids[900]["id"])] * args.samples)
        public = await timed(
            conn,
            "SELECT * FROM ticket_history WHERE ticket_id = $1 AND id > $2 AND change_type NOT IN"
            " ('assignee_changed', 'priority_changed') AND (change_type != 'message_added' OR "
            "(new_value -> 'is_internal')::boolean IS NOT true) ORDER BY id LIMIT 101",
            [(ticket, 0)] * args.samples,
        )
        plan = "\n".join(
            r[0]
            for r in await conn.fetch(
                "EXPLAIN (ANALYZE, BUFFERS) " + sql.replace("$1", f"'{ticket}'").replace("$2", "0")
            )
        )
    finally:
        await conn.close()
    return {
        "changes": count,
        "first_page_sql": first,
        "deep_page_sql": deep,
        "customer_page_sql": public,
        "plan": plan,
    }


async def generate_audit_rows(url: str, rows: int) -> float:
    conn = await asyncpg.connect(**plain(url))
    try:
        started = time.perf_counter()
        await conn.execute(
            "SELECT helpline_ensure_audit_partitions("
            "(date_trunc('month', now()) - interval '12 months')::date, 16)"
        )
        await conn.execute("SET maintenance_work_mem = '512MB'")
        chunk = 1_000_000
        for offset in range(0, rows, chunk):
            n = min(chunk, rows - offset)
            await conn.execute(
                f"""
                INSERT INTO audit_log (occurred_at, actor_type, actor_id, api_key_id, action,
                                       entity_type, entity_id, request_id, ip, changes, outcome)
                SELECT now() - (g::float / {rows}) * interval '365 days',
                       'api_key',
                       ('00000000-0000-4000-8000-' || lpad(to_hex(g % 1000), 12, '0'))::uuid,
                       ('00000000-0000-4000-9000-' || lpad(to_hex(g % 1000), 12, '0'))::uuid,
                       (ARRAY['ticket.updated','ticket.created','ticket.message_added',
                              'ticket.metadata_set','auth.failed','user.updated',
                              'api_key.created','ticket.deleted','permission.denied',
                              'system.started'])[1 + g % 10],
                       'ticket', 't' || (g % 200000), md5(g::text), '10.0.0.1',
                       jsonb_build_object('status', jsonb_build_array('open', 'pending')),
                       'success'
                  FROM generate_series({offset}, {offset + n - 1}) g
                """
            )
        await conn.execute("VACUUM ANALYZE audit_log")
        return time.perf_counter() - started
    finally:
        await conn.close()


async def bench_audit_queries(url: str, args: argparse.Namespace) -> dict[str, object]:
    """Time helpline.audit.repository.list_audit_events itself (SQLAlchemy + asyncpg)."""
    from helpline.audit import repository
    from helpline.audit.schemas import AuditEventFilters
    from helpline.config import Settings
    from helpline.db import make_engine

    now = datetime.now(UTC)
    rnd = random.Random(1)

    def actor() -> uuid.UUID:
        return uuid.UUID(f"00000000-0000-4000-8000-{rnd.randrange(1000):012x}")

    def moment() -> datetime:
        return now - timedelta(days=rnd.uniform(1, 360))

    def deep() -> tuple[datetime, int]:
        return (moment(), 2**62)

    def request_id() -> str:
        return hashlib.md5(str(rnd.randrange(args.audit_rows)).encode()).hexdigest()

    Case = tuple[AuditEventFilters, tuple[datetime, int] | None]
    cases: dict[str, object] = {
        "newest_first_no_filter": lambda: (AuditEventFilters(), None),
        "deep_page_no_filter": lambda: (AuditEventFilters(), deep()),
        "actor": lambda: (AuditEventFilters(actor_id=actor()), None),
        "actor_deep_page": lambda: (AuditEventFilters(actor_id=actor()), deep()),
        "action": lambda: (
            AuditEventFilters(
                actions=(rnd.choice(["ticket.updated", "auth.failed", "user.updated"]),)
            ),
            None,
        ),
        "action_deep_page": lambda: (AuditEventFilters(actions=("auth.failed",)), deep()),
        "entity": lambda: (
            AuditEventFilters(entity_type="ticket", entity_id=f"t{rnd.randrange(200000)}"),
            None,
        ),
        "request_id": lambda: (AuditEventFilters(request_id=request_id()), None),
        "time_range_1_day": lambda: (
            lambda t: (
                AuditEventFilters(occurred_after=t, occurred_before=t + timedelta(days=1)),
                None,
            )
        )(moment()),
        "action_in_7_days": lambda: (
            lambda t: (
                AuditEventFilters(
                    actions=("permission.denied",),
                    occurred_after=t,
                    occurred_before=t + timedelta(days=7),
                ),
                None,
            )
        )(moment()),
    }
    engine = make_engine(url, Settings(), pool_size=1)
    out: dict[str, object] = {}
    try:
        async with engine.connect() as conn:
            from sqlalchemy.ext.asyncio import AsyncSession

            session = AsyncSession(bind=conn)
            for name, make in cases.items():
                samples = []
                for i in range(args.samples + 10):
                    filters, after = make()  # type: ignore[operator]
                    started = time.perf_counter()
                    await repository.list_audit_events(session, filters, after, 25)
                    if i >= 10:  # warm-up
                        samples.append((time.perf_counter() - started) * 1000)
                out[name] = {
                    "p50_ms": round(pct(samples, 50), 2),
                    "p99_ms": round(pct(samples, 99), 2),
                    "max_ms": round(max(samples), 2),
                }
            await session.close()
        conn2 = await asyncpg.connect(**plain(url))
        try:
            out["rows"] = await conn2.fetchval("SELECT count(*) FROM audit_log")
        finally:
            await conn2.close()
    finally:
        await engine.dispose()
    del Case
    return out


# --- main -------------------------------------------------------------------------------------
async def main_async(args: argparse.Namespace) -> dict[str, object]:
    server = os.environ.get(
        "HELPLINE_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"helpline_bench_audit_{uuid.uuid4().hex[:8]}"
    admin_conn = await asyncpg.connect(**plain(server))
    await admin_conn.execute(f'CREATE DATABASE "{name}"')
    await admin_conn.close()
    url = str(make_url(server).set(database=name).render_as_string(False))
    report: dict[str, object] = {"database": name}
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        seeded = await setup(url, args.tickets)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
        env.update(
            HELPLINE_ENV="test",
            HELPLINE_DATABASE_URL=url,
            HELPLINE_REDIS_URL=os.environ.get(
                "HELPLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"
            ),
            HELPLINE_REDIS_KEY_PREFIX=f"bench-audit-{uuid.uuid4().hex[:6]}",
            HELPLINE_SECRET_KEY="bench-secret-" + "s" * 32,
            HELPLINE_API_KEY_PEPPER="bench-pepper-" + "p" * 32,
            HELPLINE_DEFAULT_RATE_LIMIT_PER_MINUTE="100000000",
            HELPLINE_ACCESS_LOG="false",
            HELPLINE_LOG_LEVEL="WARNING",
            HELPLINE_DB_POOL_SIZE=str(max(args.concurrency, 10)),
        )
        key = benchkit.create_user_key(env, "admin")
        ids: list[uuid.UUID] = seeded["tickets"]  # type: ignore[assignment]
        if not args.skip_api:
            print("1/4 API update throughput …", file=sys.stderr)
            report["api"] = await bench_api(url, env, key, ids, args)
        print("2/4 pgbench update throughput …", file=sys.stderr)
        report["pgbench"] = await bench_pgbench(url, seeded["admin"], len(ids), args)  # type: ignore[arg-type]
        print("3/4 history of a ticket with 1,000 changes …", file=sys.stderr)
        report["history"] = await bench_history(url, ids[0], seeded["admin"], env, key, args)  # type: ignore[arg-type]
        print(f"4/4 generating {args.audit_rows:,} audit rows …", file=sys.stderr)
        report["audit_rows_generated_s"] = round(await generate_audit_rows(url, args.audit_rows), 1)
        report["audit_events"] = await bench_audit_queries(url, args)
    finally:
        if not args.keep:
            admin_conn = await asyncpg.connect(**plain(server))
            await admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin_conn.close()
    return report


def print_report(report: dict[str, object]) -> None:
    api = report.get("api")
    if isinstance(api, dict):
        print(
            f"API PATCH (2 fields, {api['concurrency']} clients, {api['workers']} worker(s)): "
            f"{api['rps_enabled']} req/s with triggers, {api['rps_disabled']} without → "
            f"overhead {api['overhead_pct']} % (target ≤ 15 %); p99 {api['p99_ms_enabled']} ms "
            f"vs {api['p99_ms_disabled']} ms; errors {api['errors']}"
        )
    pg = report["pgbench"]
    assert isinstance(pg, dict)
    print(
        f"pgbench UPDATE: {pg['tps_enabled']} tps with triggers, {pg['tps_disabled']} without "
        f"→ overhead {pg['overhead_pct']} %"
    )
    hist = report["history"]
    assert isinstance(hist, dict)
    print(
        f"history of a ticket with {hist['changes']} entries (page of 100): first "
        f"{hist['first_page_sql']}, deep {hist['deep_page_sql']}, "
        f"customer {hist['customer_page_sql']}"
    )
    events = report["audit_events"]
    assert isinstance(events, dict)
    print(
        f"audit-events over {events['rows']:,} rows (generated in "
        f"{report['audit_rows_generated_s']} s), page of 25:"
    )
    for name, value in events.items():
        if isinstance(value, dict):
            print(f"  {name:32} p50 {value['p50_ms']:7.2f} ms   p99 {value['p99_ms']:7.2f} ms")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--audit-rows", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)
    return 0
