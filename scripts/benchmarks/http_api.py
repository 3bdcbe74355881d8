"""Benchmark the service over HTTP with wrk, against a bare FastAPI endpoint and a floor app.

Usage (on a seeded database, e.g. `helpline seed --tickets 1000000`):

    HELPLINE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/helpline_bench scripts/bench http
    scripts/bench http --duration 12 --warmup 3 --workers 1,2 --json > bench.json
    scripts/bench http --only get,get_cached --profile get_cached

It creates its own admin API key (`helpline users create`), then for each worker count starts the
service (`helpline serve`), the bare FastAPI endpoint (scripts/benchmarks/apps/baseline.py) and the
floor app (scripts/benchmarks/apps/floor.py: bare Starlette + asyncpg + redis-py doing GET ticket's
round trips) with the same uvicorn settings, runs each scenario at fixed concurrency after an
unmeasured warm-up, and prints requests/s, p50/p99, the ratios to the bare endpoint and to the floor
app and the server CPU per request, next to the targets of the hot-path issue and the absolute x10
django-helpdesk figures. Uncached GETs walk a large shuffled sample of the tickets (each wrk run its
own slice) so they miss the cache; the measured hit ratio from /metrics is shown (1 worker only: the
counters are per process). Cached GETs read 2,000 hot tickets, warmed first. The write scenarios add
tickets and messages. This is a report, not a test: nothing here fails a build."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from scripts.benchmarks.common import (
    HELPLINE,
    REPO,
    SEARCH_WORD,
    cache_counters,
    cpu_delta,
    cpu_snapshot,
    ensure_wrk,
    fetch_pools,
    floor_counters,
    hit_ratio,
    is_local,
    run_wrk,
    say,
    split_pool,
    start,
    stop,
    uvicorn_command,
    wait_ready,
    warm,
    wrk_errors,
)
from scripts.benchmarks.report import Result, judge, print_profile, print_table, profile_summary

HOT_TICKETS = 2000


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    path: str
    mode: str = "plain"  # plain | get | create | message (see scenario.lua)
    pool: str | None = None  # tickets | open_tickets | customers | hot | cold
    min_ratio: float | None = None  # x the bare FastAPI endpoint
    max_p99_ms: float | None = None
    baseline: bool = False
    app: str = "helpline"  # helpline | baseline | floor: the server it runs against
    order: str = "random"  # random | walk (scenario.lua)
    floor: str | None = None  # the floor scenario its floor ratio is taken against
    min_floor_ratio: float | None = None
    min_rps: float | None = None  # 10x django-helpdesk (issue 12)
    warm: bool = False  # GET every id of the pool once before the warm-up


SCENARIOS = (
    Scenario("baseline", "bare FastAPI endpoint", "/ping", baseline=True, app="baseline"),
    Scenario("floor_miss", "floor get (miss path)", "/floor/tickets/", "get", "cold",
             app="floor", order="walk"),
    Scenario("floor_cached", "floor get cached", "/floor/cached/tickets/", "get", "hot",
             app="floor", warm=True),
    Scenario("get", "get ticket (uncached)", "/api/v1/tickets/", "get", "cold", 0.25,
             order="walk", floor="floor_miss", min_rps=1350),
    Scenario("get_cached", "get ticket (cached, 2,000 hot)", "/api/v1/tickets/", "get", "hot",
             0.40, floor="floor_cached", min_floor_ratio=0.6, min_rps=1350, warm=True),
    Scenario("list", "list tickets (first page)", "/api/v1/tickets", min_ratio=0.10,
             max_p99_ms=50, min_rps=240),
    Scenario("filter", "filtered page (open, high)", "/api/v1/tickets?status=open&priority=high",
             min_ratio=0.10, max_p99_ms=50, min_rps=240),
    Scenario("search", f"q search ({SEARCH_WORD!r})", f"/api/v1/tickets?q={SEARCH_WORD}",
             min_ratio=0.10, max_p99_ms=50, min_rps=240),
    Scenario("create", "create ticket", "/", "create", "customers", 0.12, min_rps=510),
    Scenario("message", "add message", "/", "message", "open_tickets", 0.12, min_rps=650),
)  # fmt: skip
APP_DB_NAMES = {"helpline": "helpline", "floor": "helpline-floor"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("HELPLINE_DATABASE_URL"))
    parser.add_argument(
        "--redis-url", default=os.environ.get("HELPLINE_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument(
        "--workers", default="1", help="worker processes of every server; a list (1,2) runs "
        "the whole table once per count"
    )  # fmt: skip
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=15, help="seconds per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured seconds per scenario")
    parser.add_argument("--port", type=int, default=18_080, help="service port")
    parser.add_argument("--baseline-port", type=int, default=18_081)
    parser.add_argument("--floor-port", type=int, default=18_082)
    parser.add_argument(
        "--cold-ids", type=int, default=500_000, help="tickets sampled for the uncached GETs"
    )
    parser.add_argument(
        "--only", default="", help="comma list of scenarios (baseline always runs; the floor "
        f"app's when a GET runs): {', '.join(s.name for s in SCENARIOS[1:])}"
    )  # fmt: skip
    parser.add_argument(
        "--profile", default="", metavar="SCENARIO", help="after measuring it, profile the "
        "server during one more run of that scenario with py-spy (e.g. get, get_cached)"
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print results as JSON only")
    return parser.parse_args(argv)


def server_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HELPLINE_DATABASE_URL=args.database_url,
        HELPLINE_REDIS_URL=args.redis_url,
        HELPLINE_ENV="development",
        HELPLINE_ACCESS_LOG="false",
        HELPLINE_LOG_LEVEL="WARNING",
        # Measure throughput, not the limiter's refusals: the limit checks still run.
        HELPLINE_DEFAULT_RATE_LIMIT_PER_MINUTE="100000000",
    )
    return env


def create_admin_key(args: argparse.Namespace) -> str:
    email = f"bench-{secrets.token_hex(4)}@example.com"
    done = subprocess.run(
        [str(HELPLINE), "users", "create", "--role", "admin", "--email", email,
         "--key-name", "bench"],
        env=server_env(args), capture_output=True, text=True, check=False, cwd=REPO,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"bench: could not create the admin key: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


def measure(
    args: argparse.Namespace,
    scenario: Scenario,
    base: str,
    pool_file: Path | None,
    token: str,
    server_pgid: int,
    warm_pool_file: Path | None = None,
) -> Result:
    """Warm-up run (on `warm_pool_file` if given), then the measured run with CPU accounting."""
    url = base + scenario.path
    if args.warmup:
        run_wrk(args, url, scenario, warm_pool_file or pool_file, token, args.warmup)
    app = getattr(scenario, "app", "helpline")
    local_db = not scenario.baseline and app in APP_DB_NAMES and is_local(args.database_url)
    db_name = APP_DB_NAMES.get(app, "helpline")
    before = cpu_snapshot(args, server_pgid, local_db, db_name)
    raw = run_wrk(args, url, scenario, pool_file, token, args.duration)
    after = cpu_snapshot(args, server_pgid, local_db, db_name)
    seconds = raw["duration_us"] / 1e6
    requests = int(raw["requests"])
    return Result(
        scenario=scenario.name,
        label=scenario.label,
        requests=requests,
        seconds=round(seconds, 2),
        rps=round(raw["requests"] / seconds, 1),
        p50_ms=round(raw["p50_us"] / 1000, 2),
        p99_ms=round(raw["p99_us"] / 1000, 2),
        errors=wrk_errors(raw),
        server_cpu_ms=round(cpu_delta(before["server"], after["server"]) * 1000 / requests, 2)
        if requests
        else None,
        db_cpu_ms=round(cpu_delta(before["db"], after["db"]) * 1000 / requests, 2)
        if requests and local_db
        else None,
    )


def profile(
    args: argparse.Namespace, scenario: Scenario, url: str, pool: Path | None, token: str,
    pid: int, workdir: Path,
) -> dict[str, object] | None:  # fmt: skip
    """py-spy on the server (and its workers) during one more, unreported run of `scenario`."""
    py_spy = shutil.which("py-spy") or str(REPO / ".venv" / "bin" / "py-spy")
    if not Path(py_spy).exists():
        say(args, "bench: --profile needs py-spy (`.venv/bin/pip install py-spy`); skipped")
        return None
    seconds = max(min(args.duration, 10), 3)
    out = workdir / f"profile-{scenario.name}.txt"
    spy = subprocess.Popen(
        [py_spy, "record", "--format", "raw", "--nolineno", "--subprocesses", "--nonblocking",
         "-r", "200", "-d", str(seconds), "-o", str(out), "-p", str(pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    run_wrk(args, url, scenario, pool, token, seconds + 1)
    _, err = spy.communicate(timeout=seconds + 60)
    if not out.exists():
        say(args, f"bench: py-spy failed: {err.decode(errors='replace')[-500:]}")
        return None
    summary = profile_summary(out)
    if not args.json:
        print_profile(summary, f"{scenario.label}, {args.workers_now} worker(s)")
    return summary


def run_table(
    args: argparse.Namespace, workers: int, scenarios: list[Scenario], pools: dict[str, list[str]],
    token: str, workdir: Path,
) -> dict[str, object]:  # fmt: skip
    """Start the three servers with `workers` processes each and run every scenario once."""
    args.workers_now = workers
    files: dict[str, Path] = {}
    for name in ("tickets", "open_tickets", "customers", "hot"):
        files[name] = workdir / f"{name}.txt"
        files[name].write_text("\n".join(pools[name]) + "\n")
    cold_slices = iter(pools[f"cold-{workers}"])

    def cold_file() -> Path:
        path = workdir / f"cold-{workers}-{secrets.token_hex(3)}.txt"
        path.write_text("\n".join(next(cold_slices)) + "\n")
        return path

    env = server_env(args)
    floor_env = {**env, "FLOOR_REDIS_PREFIX": f"bench-floor-{secrets.token_hex(4)}"}
    tag = f"w{workers}"
    logs = {name: workdir / f"{name}-{tag}.log" for name in ("helpline", "baseline", "floor")}
    servers = {
        "helpline": start(
            [str(HELPLINE), "serve", "--host", "127.0.0.1", "--port", str(args.port),
             "--workers", str(workers)], env, logs["helpline"],
        ),
        "baseline": start(
            uvicorn_command("baseline:app", args.baseline_port, workers), env, logs["baseline"]
        ),
        "floor": start(
            uvicorn_command("floor:app", args.floor_port, workers), floor_env, logs["floor"]
        ),
    }  # fmt: skip
    ports = {"helpline": args.port, "baseline": args.baseline_port, "floor": args.floor_port}
    ready = {"helpline": "/health/live", "baseline": "/ping", "floor": "/ping"}
    results: list[Result] = []
    profiled: dict[str, object] | None = None
    try:
        for name, process in servers.items():
            wait_ready(f"http://127.0.0.1:{ports[name]}{ready[name]}", process, logs[name])
        baseline_rps, floor_rps = 0.0, {}
        for scenario in scenarios:
            base = f"http://127.0.0.1:{ports[scenario.app]}"
            if scenario.app == "helpline":  # the others would only compete for CPU
                stop(servers["baseline"])
                stop(servers["floor"])
            pool = warm_pool = None
            if scenario.pool == "cold":
                pool, warm_pool = cold_file(), cold_file()
            elif scenario.pool:
                pool = files[scenario.pool]
            say(args, f"bench: [{workers} worker(s)] {scenario.label} ({args.duration} s) …")
            if scenario.warm:
                urls = [base + scenario.path + i for i in pools[scenario.pool or "hot"]]
                if failed := warm(urls, token):
                    say(args, f"bench: warming {scenario.name}: {failed} non-200 answers")
            counters = scenario.mode == "get" and workers == 1  # per-process counters
            snapshot = (
                partial(floor_counters, base)
                if scenario.app == "floor"
                else partial(cache_counters, base, token)
            )
            before = snapshot() if counters else {}
            result = measure(
                args, scenario, base, pool, token, servers[scenario.app].pid, warm_pool
            )
            if counters:
                result.cache_hit_ratio = hit_ratio(before, snapshot(), "ticket")
            result.workers = workers
            if scenario.baseline:
                baseline_rps = result.rps
            if scenario.app == "floor":
                floor_rps[scenario.name] = result.rps
            judge(result, scenario, baseline_rps, floor_rps)
            results.append(result)
            if args.profile == scenario.name:
                profile_pool = cold_file() if scenario.pool == "cold" else pool
                pid = servers[scenario.app].pid
                profiled = profile(args, scenario, base + scenario.path, profile_pool, token,
                                   pid, workdir)  # fmt: skip
    finally:
        for process in servers.values():
            stop(process)
    meta: dict[str, object] = {
        "command": " ".join(["scripts/bench", "http", *args.argv]),
        "workers": workers,
        "connections": args.connections,
        "wrk_threads": args.threads,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "tickets_in_db": int(pools["tickets_total"][0]),
        "cold_ids": len(pools["cold"]),
        "hot_ids": len(pools["hot"]),
        "search_hits": int(pools["search_hits"][0]),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    run: dict[str, object] = {"meta": meta, "results": [asdict(r) for r in results]}
    if profiled is not None:
        run["profile"] = {"scenario": args.profile, **profiled}
    if not args.json:
        print_table(results, meta, f"Helpline HTTP benchmark, {workers} worker(s)")
    return run


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    args.argv = argv
    if not args.database_url:
        sys.exit("bench: set HELPLINE_DATABASE_URL (or --database-url) to a seeded database")
    ensure_wrk("bench")
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    wanted = {s.strip() for s in args.only.split(",") if s.strip()}
    gets = {"get", "get_cached"}
    scenarios = [
        s
        for s in SCENARIOS
        if s.baseline or not wanted or s.name in wanted or (s.app == "floor" and wanted & gets)
    ]
    unknown = wanted - {s.name for s in SCENARIOS}
    if unknown or (args.profile and args.profile not in {s.name for s in scenarios}):
        sys.exit(f"bench: unknown or unselected scenario: {sorted(unknown) or args.profile}")

    say(args, "bench: sampling ids and creating an admin key …")
    cold_runs = sum(2 + (s.name == args.profile) for s in scenarios if s.pool == "cold")
    pools = asyncio.run(fetch_pools(args.database_url, cold=args.cold_ids if cold_runs else 0))
    pools.setdefault("cold", [])
    pools["hot"] = pools["tickets"][:HOT_TICKETS]
    slices = split_pool(pools["cold"], max(cold_runs, 1) * len(worker_counts))
    for i, workers in enumerate(worker_counts):
        pools[f"cold-{workers}"] = slices[i * max(cold_runs, 1) : (i + 1) * max(cold_runs, 1)]
    for name in ("tickets", "open_tickets", "customers"):
        if not pools[name]:
            sys.exit(f"bench: the database has no {name.replace('_', ' ')}: seed it first")
    token = create_admin_key(args)
    workdir = Path(tempfile.mkdtemp(prefix="helpline-bench-"))
    try:
        runs = [
            run_table(args, workers, scenarios, pools, token, workdir) for workers in worker_counts
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        # `meta`/`results` of the first run at the top level, as before the worker lists
        print(json.dumps({**runs[0], "runs": runs}, indent=2))
