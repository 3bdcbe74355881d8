"""Benchmark the ticket cache: cached vs uncached GET ticket and first-page list, in one run.

Usage (on a seeded database, e.g. `helpline seed --tickets 1000000`):

    HELPLINE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/helpline_bench scripts/bench cache
    scripts/bench cache --duration 10 --json > bench-cache.json

Reuses `scripts/bench http` (wrk driver, scenario.lua, the bare FastAPI baseline, id sampling, admin
key) and starts, with the same uvicorn settings, the baseline plus two services on the same database
and Redis: one with `HELPLINE_CACHE_ENABLED=true`, one with `false`. It then runs a mixed load
against the cached service — GETs of open tickets and first-page lists, while another wrk adds
messages to the same tickets (each write invalidates that ticket and the staff lists) — and reports
the hit ratios from the service's /metrics. A report, not a test: nothing here fails a build."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
import urllib.request
from dataclasses import asdict
from pathlib import Path

from scripts.benchmarks import common, report
from scripts.benchmarks import http_api as bench
from scripts.benchmarks.common import VENV_PYTHON

Scenario = bench.Scenario


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("HELPLINE_DATABASE_URL"))
    parser.add_argument(
        "--redis-url", default=os.environ.get("HELPLINE_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured seconds per scenario")
    parser.add_argument("--port", type=int, default=18_090, help="cached service port")
    parser.add_argument("--uncached-port", type=int, default=18_091)
    parser.add_argument("--baseline-port", type=int, default=18_092)
    parser.add_argument("--write-connections", type=int, default=2, help="writers in the mix")
    parser.add_argument(
        "--mixed-ids", type=int, default=500, help="open tickets read and written in the mix"
    )
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def cache_counters(base: str, token: str) -> dict[str, float]:
    request = urllib.request.Request(
        f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("helpline_cache_requests_total{"):
            labels, value = line.removeprefix("helpline_cache_requests_total").rsplit(" ", 1)
            out[labels] = float(value)
    return out


def ratio(before: dict[str, float], after: dict[str, float], cache: str) -> dict[str, float]:
    def delta(result: str) -> float:
        key = f'{{cache="{cache}",result="{result}"}}'
        return after.get(key, 0.0) - before.get(key, 0.0)

    hits, misses, errors = delta("hit"), delta("miss"), delta("error")
    total = hits + misses + errors
    return {
        "lookups": total,
        "hits": hits,
        "misses": misses,
        "hit_ratio": round(hits / total, 4) if total else 0.0,
    }


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if not args.database_url:
        sys.exit("bench cache: set HELPLINE_DATABASE_URL (or --database-url) to a seeded database")
    common.ensure_wrk("bench cache")
    say = lambda message: common.say(args, message)  # noqa: E731
    say("bench cache: sampling ids and creating an admin key …")
    pools = asyncio.run(common.fetch_pools(args.database_url))
    token = bench.create_admin_key(args)
    workdir = Path(tempfile.mkdtemp(prefix="helpline-bench-cache-"))
    pool_files = {}
    pools["mixed"] = pools["open_tickets"][: args.mixed_ids]
    for name in ("tickets", "open_tickets", "mixed"):
        if not pools[name]:
            sys.exit(f"bench cache: the database has no {name.replace('_', ' ')}: seed it first")
        pool_files[name] = workdir / f"{name}.txt"
        pool_files[name].write_text("\n".join(pools[name]) + "\n")

    flags = [
        "--workers", str(args.workers), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    env = bench.server_env(args)
    serve = [str(common.HELPLINE), "serve", "--host", "127.0.0.1", "--workers", str(args.workers)]
    cached = common.start(
        [*serve, "--port", str(args.port)], {**env, "HELPLINE_CACHE_ENABLED": "true"},
        workdir / "cached.log",
    )  # fmt: skip
    uncached = common.start(
        [*serve, "--port", str(args.uncached_port)], {**env, "HELPLINE_CACHE_ENABLED": "false"},
        workdir / "uncached.log",
    )  # fmt: skip
    baseline = common.start(
        [str(VENV_PYTHON), "-m", "uvicorn", "--app-dir", str(common.HELPERS), "baseline:app",
         "--host", "127.0.0.1", "--port", str(args.baseline_port), *flags],
        env, workdir / "baseline.log",
    )  # fmt: skip
    cached_base = f"http://127.0.0.1:{args.port}"
    uncached_base = f"http://127.0.0.1:{args.uncached_port}"
    plan = [
        (Scenario("baseline", "bare FastAPI hello JSON", "/ping", baseline=True), baseline, None),
        (Scenario("get_uncached", "get ticket, uncached", "/", "get", "tickets"), uncached,
         uncached_base),
        (Scenario("get_cached", "get ticket, cached", "/", "get", "tickets"), cached, cached_base),
        (Scenario("list_uncached", "list first page, uncached", "/api/v1/tickets"), uncached,
         uncached_base),
        (Scenario("list_cached", "list first page, cached", "/api/v1/tickets"), cached,
         cached_base),
    ]  # fmt: skip
    results = []
    mixed: dict[str, object] = {}
    try:
        common.wait_ready(f"{cached_base}/health/live", cached, workdir / "cached.log")
        common.wait_ready(f"{uncached_base}/health/live", uncached, workdir / "uncached.log")
        common.wait_ready(
            f"http://127.0.0.1:{args.baseline_port}/ping", baseline, workdir / "baseline.log"
        )
        baseline_rps = 0.0
        for scenario, process, base in plan:
            base = base or f"http://127.0.0.1:{args.baseline_port}"
            pool = pool_files[scenario.pool] if scenario.pool else None
            say(f"bench cache: {scenario.label} ({args.duration} s) …")
            result = bench.measure(args, scenario, base, pool, token, process.pid)
            if scenario.baseline:
                baseline_rps = result.rps
            result.ratio = round(result.rps / baseline_rps, 3) if baseline_rps else None
            results.append(result)
        common.stop(baseline)
        common.stop(uncached)

        say(f"bench cache: mixed read/write load on the cached service ({args.duration} s) …")
        readers = max(args.connections - args.write_connections, 1)
        mixed_results: dict[str, dict[str, float]] = {}
        if args.warmup:  # steady state: every ticket of the mix read once before measuring
            common.run_wrk(args, cached_base + "/", Scenario("w", "", "/", "get"),
                          pool_files["mixed"], token, args.warmup)  # fmt: skip
        before = cache_counters(cached_base, token)

        def run(name: str, scenario: object, connections: int, path: str) -> None:
            wrk_args = argparse.Namespace(**{**vars(args), "connections": connections})
            mixed_results[name] = common.run_wrk(
                wrk_args, cached_base + path, scenario, pool_files["mixed"], token,
                args.duration,
            )  # fmt: skip

        threads = [
            threading.Thread(target=run, args=("get", Scenario("g", "", "/", "get"), readers, "/")),
            threading.Thread(
                target=run, args=("list", Scenario("l", "", "/"), 2, "/api/v1/tickets")
            ),
            threading.Thread(
                target=run,
                args=("write", Scenario("w", "", "/", "message"), args.write_connections, "/"),
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after = cache_counters(cached_base, token)
        mixed = {
            "ticket": ratio(before, after, "ticket"),
            "list": ratio(before, after, "list"),
            "requests": {
                name: {
                    "rps": round(r["requests"] / (r["duration_us"] / 1e6), 1),
                    "p99_ms": round(r["p99_us"] / 1000, 2),
                    "errors": int(sum(r[k] for k in ("status_errors", "connect_errors",
                                                      "read_errors", "write_errors", "timeouts"))),
                }
                for name, r in mixed_results.items()
            },
        }  # fmt: skip
    finally:
        for process in (cached, uncached, baseline):
            common.stop(process)

    by_name = {r.scenario: r for r in results}
    summary = {
        "get_cached_vs_uncached": round(by_name["get_cached"].rps / by_name["get_uncached"].rps, 2),
        "list_cached_vs_uncached": round(
            by_name["list_cached"].rps / by_name["list_uncached"].rps, 2
        ),
        "get_cached_vs_baseline": by_name["get_cached"].ratio,
        "tickets_in_db": int(pools["tickets_total"][0]),
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps({"summary": summary, "results": [asdict(r) for r in results],
                          "mixed": mixed}, indent=2))  # fmt: skip
    else:
        report.print_table(results, summary)
        print("mixed load:", json.dumps(mixed, indent=2))
    shutil.rmtree(workdir, ignore_errors=True)
