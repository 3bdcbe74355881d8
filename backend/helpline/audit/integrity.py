"""Tamper evidence for audit_log: hash-chained seals of per-hour digests (ADR 0008).

`seal` digests every settled, not yet sealed hour — per hour the row count and a SHA-256 over the
SHA-256 of each row's canonical text in (occurred_at, id) order — and appends one seal whose
`chain` = SHA-256(previous chain + this seal's digest). `verify` recomputes the chain and every
sealed hour from the live rows: an edited, deleted or back-dated row changes its hour's digest or
count; a removed or edited seal breaks the chain. Hours of archived partitions are checked against
the archive's recorded SHA-256 instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import repository
from helpline.audit.rotation import file_sha256
from helpline.models import AuditArchive


def _hour_key(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%dT%H:00Z")


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def seal_digest(start: datetime, end: datetime, buckets: dict[str, list[int | str]]) -> str:
    payload = json.dumps(
        {
            "start": start.astimezone(UTC).isoformat(),
            "end": end.astimezone(UTC).isoformat(),
            "buckets": buckets,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def chain_value(prev_chain: str | None, digest: str) -> str:
    return hashlib.sha256(((prev_chain or "") + digest).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SealResult:
    range_start: datetime
    range_end: datetime
    rows: int
    chain: str


@dataclass(slots=True)
class VerifyReport:
    seals: int = 0
    rows: int = 0
    archives: int = 0
    head: str | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def _live_buckets(
    session: AsyncSession, start: datetime, end: datetime
) -> dict[str, list[int | str]]:
    rows = await repository.hourly_digests(session, start, end)
    return {_hour_key(r.hour): [int(r.rows), r.digest] for r in rows}


async def seal(session: AsyncSession, *, now: datetime, settle_minutes: int) -> SealResult | None:
    """Seal every hour that ended `settle_minutes` before `now` and is not sealed yet."""
    await repository.lock_seals(session)
    seals = await repository.list_seals(session)
    if seals:
        start = seals[-1].range_end
        prev_chain: str | None = seals[-1].chain
    else:
        oldest = await repository.oldest_event(session)
        if oldest is None:
            return None
        start, prev_chain = floor_hour(oldest), None
    end = floor_hour(now - timedelta(minutes=settle_minutes))
    if end <= start:
        return None
    buckets = await _live_buckets(session, start, end)
    digest = seal_digest(start, end, buckets)
    chain = chain_value(prev_chain, digest)
    rows = sum(int(b[0]) for b in buckets.values())
    await repository.insert_seal(
        session,
        {
            "range_start": start,
            "range_end": end,
            "row_count": rows,
            "buckets": buckets,
            "digest": digest,
            "prev_chain": prev_chain,
            "chain": chain,
        },
    )
    return SealResult(start, end, rows, chain)


def _archived(hour: str, archives: list[AuditArchive]) -> bool:
    moment = datetime.strptime(hour, "%Y-%m-%dT%H:00Z").replace(tzinfo=UTC)
    return any(a.range_start <= moment < a.range_end for a in archives)


async def verify(session: AsyncSession) -> VerifyReport:
    """Recompute the seal chain, every sealed hour and every archive checksum."""
    report = VerifyReport()
    seals = await repository.list_seals(session)
    archives = await repository.list_archives(session)
    prev: str | None = None
    sealed: dict[str, list[int | str]] = {}
    for s in seals:
        report.seals += 1
        if s.prev_chain != prev:
            report.problems.append(f"seal {s.id}: chain broken (a seal was removed or altered)")
        if seal_digest(s.range_start, s.range_end, s.buckets) != s.digest:
            report.problems.append(f"seal {s.id}: digest does not match its recorded hours")
        if chain_value(s.prev_chain, s.digest) != s.chain:
            report.problems.append(f"seal {s.id}: chain value altered")
        prev = s.chain
        sealed.update(s.buckets)
    report.head = prev
    if seals:
        live = await _live_buckets(session, seals[0].range_start, seals[-1].range_end)
        for hour in sorted(set(sealed) | set(live)):
            if _archived(hour, archives):
                continue
            want: list[int | str] = sealed.get(hour, [0, ""])
            have: list[int | str] = live.get(hour, [0, ""])
            report.rows += int(have[0])
            if int(want[0]) != int(have[0]):
                report.problems.append(
                    f"hour {hour}: {want[0]} row(s) sealed, {have[0]} present "
                    "(rows deleted or inserted after sealing)"
                )
            elif want[1] != have[1]:
                report.problems.append(f"hour {hour}: rows altered after sealing")
    for archive in archives:
        report.archives += 1
        path = Path(archive.file_path)
        if not path.is_file():  # noqa: ASYNC240 - CLI job
            report.notes.append(f"archive {archive.partition_name}: file {path} not found here")
        elif file_sha256(path) != archive.sha256:
            report.problems.append(
                f"archive {archive.partition_name}: {path} does not match its recorded SHA-256"
            )
    return report
