"""Results, verdicts and output of `scripts/bench http` and `cache` (table, JSON), and the py-spy
summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    scenario: str
    label: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_ms: float | None = None  # CPU of the server processes per request
    db_cpu_ms: float | None = None  # CPU of the server's PostgreSQL backends per request
    ratio: float | None = None  # req/s ÷ the bare FastAPI endpoint's
    target: str = ""  # the ratio targets
    meets_target: bool | None = None
    floor_ratio: float | None = None  # req/s ÷ the floor app's matching scenario
    floor_scenario: str | None = None
    absolute_target: str = ""  # ≥ 10x django-helpdesk, in req/s
    meets_absolute: bool | None = None
    cache_hit_ratio: float | None = None  # helpline_cache_requests_total over the run
    workers: int | None = None


def judge(
    result: Result, scenario: Any, baseline_rps: float, floor_rps: dict[str, float] | None = None
) -> None:
    """Ratios and verdicts: the issue's targets (ratios, p99) and the absolute x10 figures."""
    result.ratio = round(result.rps / baseline_rps, 3) if baseline_rps else None
    floor_ref = getattr(scenario, "floor", None)
    if floor_ref and floor_rps and floor_rps.get(floor_ref):
        result.floor_scenario = floor_ref
        result.floor_ratio = round(result.rps / floor_rps[floor_ref], 3)
    if scenario.baseline or getattr(scenario, "app", "helpline") != "helpline":
        return
    parts, ok = [], True
    if scenario.min_ratio is not None:
        parts.append(f"≥ {scenario.min_ratio:.2f}x bare")
        ok = ok and result.ratio is not None and result.ratio >= scenario.min_ratio
    min_floor = getattr(scenario, "min_floor_ratio", None)
    if min_floor is not None:
        parts.append(f"≥ {min_floor:.2f}x floor")
        ok = ok and result.floor_ratio is not None and result.floor_ratio >= min_floor
    if scenario.max_p99_ms is not None:
        parts.append(f"p99 < {scenario.max_p99_ms:.0f} ms")
        ok = ok and result.p99_ms < scenario.max_p99_ms
    result.target = ", ".join(parts)
    result.meets_target = (ok and result.errors == 0) if parts else None
    min_rps = getattr(scenario, "min_rps", None)
    if min_rps is not None:
        result.absolute_target = f"≥ {min_rps:,.0f}/s"
        result.meets_absolute = result.rps >= min_rps and result.errors == 0


def _verdict(value: bool | None) -> str:
    return "" if value is None else ("ok" if value else "MISS")


def _num(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def print_table(
    results: list[Result], meta: dict[str, object], title: str = "Helpline HTTP benchmark"
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column, justify in (
        ("scenario", "left"), ("req/s", "right"), ("p50 ms", "right"), ("p99 ms", "right"),
        ("x bare", "right"), ("x floor", "right"), ("non-2xx", "right"), ("target", "left"),
        ("", "left"), ("x10 django", "left"), ("", "left"), ("app CPU ms/req", "right"),
        ("db CPU ms/req", "right"), ("cache hits", "right"),
    ):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for r in results:
        missed = r.meets_target is False or r.meets_absolute is False
        table.add_row(
            r.label, f"{r.rps:,.0f}", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}",
            "1.00" if r.ratio is None else f"{r.ratio:.2f}", _num(r.floor_ratio, ".2f"),
            f"{r.errors:,}", r.target, _verdict(r.meets_target), r.absolute_target,
            _verdict(r.meets_absolute), _num(r.server_cpu_ms, ".2f"), _num(r.db_cpu_ms, ".2f"),
            "" if r.cache_hit_ratio is None else f"{100 * r.cache_hit_ratio:.0f} %",
            style="red" if r.errors or missed else None,
        )  # fmt: skip
    console = Console(width=max(Console().width, 200))
    console.print(table)
    console.print(", ".join(f"{k}={v}" for k, v in meta.items()), style="dim", highlight=False)


# py-spy ----------------------------------------------------------------------------------------
def drop_process_frame(frames: list[str]) -> list[str]:
    """Without --subprocesses' leading `process N:"argv"` frame (argv may hold ; and ")."""
    if frames and frames[0].startswith("process "):
        for i, frame in enumerate(frames):
            if frame.endswith('"'):
                frames = frames[i + 1 :]
                break
    return [f for f in frames if f and not f.startswith("thread ")]


def profile_summary(raw_file: Path, top: int = 15) -> dict[str, Any]:
    """Per function, from `py-spy record --format raw` (collapsed stacks): own samples (the leaf
    frame) and, for Helpline's own functions, total samples (anywhere on the stack)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw_file.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames = drop_process_frame(stack.split(";"))
        if not frames:
            continue
        count = int(count_text)
        samples += count
        own[frames[-1]] += count
        for frame in {f for f in frames if "(helpline/" in f}:
            total[frame] += count

    def rows(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": f, "samples": n, "percent": round(100 * n / samples, 1)}
            for f, n in counter.most_common(top)
        ]

    return {"samples": samples, "own": rows(own), "helpline_total": rows(total)}


def print_profile(summary: dict[str, Any], scenario: str) -> None:
    print(f"\npy-spy: {scenario}, {summary['samples']:,} samples (own time = leaf frame)")
    for title, key in (
        ("top by own time", "own"),
        ("Helpline functions by total time (with callees)", "helpline_total"),
    ):
        print(f"  {title}:")
        for row in summary[key]:
            print(f"    {row['percent']:5.1f} %  {row['samples']:7,}  {row['function']}")
