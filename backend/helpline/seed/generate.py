"""Deterministic generation of seed rows, written straight into PostgreSQL's COPY text format.

No I/O here: the same seed, the same ticket count and the same offset (tickets already in the
database) always give byte-identical output. Time never comes from the wall clock: created_at
values spread over two years that end at an anchor derived from the seed, and every id is a
UUIDv7 built from the row's own timestamp and random bits from the seeded generator.

Hot loops bind globals to locals and format strings directly: this code writes millions of rows.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate

from helpline.models.enums import Role, SenderType, TicketPriority, TicketStatus
from helpline.seed import vocabulary as v

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
SPAN_DAYS = 730
NULL = "\\N"
NEWLINE = "\\n"  # COPY text escape: the database stores a line break
STATUSES = tuple(s.value for s in TicketStatus)
PRIORITIES = tuple(p.value for p in TicketPriority)
CUSTOMER, AGENT, SYSTEM = SenderType.customer.value, SenderType.agent.value, SenderType.system.value

TICKET_COLUMNS = (
    "id",
    "title",
    "description",
    "status",
    "priority",
    "created_at",
    "updated_at",
    "assigned_to",
    "customer_id",
    "version",
    "deleted_at",
)
MESSAGE_COLUMNS = (
    "id",
    "ticket_id",
    "message",
    "sender_id",
    "sender_type",
    "is_internal",
    "timestamp",
)
METADATA_COLUMNS = ("ticket_id", "key", "value", "created_at", "updated_at")
USER_COLUMNS = ("id", "email", "name", "role", "is_active", "created_at", "updated_at")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ANCHOR_BASE = datetime(2026, 1, 1, tzinfo=UTC)


def anchor_for(seed: int) -> datetime:
    """The fixed 'now' of a seed: generated history ends here (never the wall clock)."""
    days = random.Random(f"helpline-seed-anchor:{seed}").randrange(180)  # noqa: S311  # nosec B311 - not secret
    return _ANCHOR_BASE + timedelta(days=days)


def to_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def uuid7(ms: int, rand74: int) -> str:
    """A UUIDv7 string from a millisecond timestamp and 74 random bits."""
    value = (
        (ms << 80)
        | (0x7 << 76)
        | ((rand74 >> 62) << 64)
        | (0b10 << 62)
        | (rand74 & 0x3FFF_FFFF_FFFF_FFFF)
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class TimestampFormatter:
    """Millisecond epoch → COPY text timestamptz (table lookups: called millions of times)."""

    _clock: tuple[str, ...] = ()
    _millis: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        if not TimestampFormatter._clock:
            TimestampFormatter._clock = tuple(
                f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}." for s in range(86_400)
            )
            TimestampFormatter._millis = tuple(f"{m:03d}+00" for m in range(1000))

    def __call__(self, ms: int) -> str:
        day, rem = divmod(ms, DAY_MS)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d ")
            self._days[day] = prefix
        second, milli = divmod(rem, 1000)
        return prefix + self._clock[second] + self._millis[milli]


@dataclass(frozen=True, slots=True)
class SeedUser:
    id: str
    email: str
    name: str
    role: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class UserPlan:
    """The users a seed wants (emails are stable per seed, so a rerun reuses them)."""

    admin: SeedUser
    staff: tuple[SeedUser, ...]  # agents and admins who work tickets (admin first)
    customers: tuple[SeedUser, ...]

    @property
    def all(self) -> tuple[SeedUser, ...]:
        return (self.admin, *self.staff[1:], *self.customers)


def user_counts(tickets: int) -> tuple[int, int, int]:
    """(agents, extra admins, customers) for a ticket count."""
    agents = min(max(tickets // 5_000, 4), 200)
    admins = max(1, agents // 10)
    customers = min(max(tickets // 10, 8), 100_000)
    return agents, admins, customers


def plan_users(seed: int, tickets: int, admin_email: str, anchor: datetime) -> UserPlan:
    """Deterministic staff and customers; email addresses carry the index, so they are unique."""
    rng = random.Random(f"helpline-seed-users:{seed}")  # noqa: S311  # nosec B311 - reproducible data
    agents, admins, customers = user_counts(tickets)
    start_ms = to_ms(anchor) - (SPAN_DAYS + 120) * DAY_MS

    def person(index: int, role: str, domain: str, window_days: int) -> SeedUser:
        first, last = rng.choice(v.FIRST_NAMES), rng.choice(v.LAST_NAMES)
        created = start_ms + rng.randrange(window_days * DAY_MS)
        return SeedUser(
            id=uuid7(created, rng.getrandbits(74)),
            email=f"{first}.{last}.{index}@{domain}".lower(),
            name=f"{first} {last}",
            role=role,
            created_ms=created,
        )

    admin_created = start_ms - 30 * DAY_MS
    admin = SeedUser(
        id=uuid7(admin_created, rng.getrandbits(74)),
        email=admin_email,
        name="Helpline Admin",
        role=Role.admin.value,
        created_ms=admin_created,
    )
    staff = [admin]
    for i in range(agents + admins):
        role = Role.admin.value if i < admins else Role.agent.value
        staff.append(person(i + 1, role, "staff.helpline.example", 90))
    domains = ("example.com", "example.org", "example.net")
    people = [
        person(i + 1, Role.customer.value, domains[i % 3], SPAN_DAYS) for i in range(customers)
    ]
    return UserPlan(admin=admin, staff=tuple(staff), customers=tuple(people))


def user_lines(plan: UserPlan) -> Iterator[str]:
    fmt = TimestampFormatter()
    for u in plan.all:
        ts = fmt(u.created_ms)
        yield f"{u.id}\t{u.email}\t{u.name}\t{u.role}\tt\t{ts}\t{ts}\n"


@dataclass(slots=True)
class Chunk:
    """COPY text for one batch of tickets, their conversations and their metadata."""

    tickets: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    metadata: list[str] = field(default_factory=list)


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = sum(weights)
    return [w / total for w in accumulate(weights)]


# Status mix by ticket age: old tickets are mostly closed, recent ones still in flight.
_STATUS_BY_AGE = (
    (45, _cumulative((0.2, 2, 1, 1, 18, 77.8))),  # older than 45 days
    (7, _cumulative((3, 12, 10, 5, 30, 40))),  # 7-45 days
    (0, _cumulative((25, 35, 15, 5, 15, 5))),  # last week
)
_PRIORITY_CUM = _cumulative((20, 50, 22, 8))
_UNASSIGNED_SHARE = {"new": 0.7, "open": 0.05, "pending": 0.02, "on_hold": 0.02}
_MESSAGE_RANGE = {
    "new": (0, 1),
    "open": (1, 4),
    "pending": (2, 4),
    "on_hold": (2, 4),
    "solved": (2, 5),
    "closed": (2, 4),
}
METADATA_SHARE = 0.4
DELETED_SHARE = 0.002
INTERNAL_NOTE_SHARE = 0.15
COVERAGE_TAIL = 24  # the newest tickets cycle through every status and priority


def _title_parts() -> list[tuple[str, str | None]]:
    """Titles with the product filled in; (before, after) pairs where an order number goes."""
    parts: list[tuple[str, str | None]] = []
    for problem in v.PROBLEMS:
        for product in v.PRODUCTS if "{p}" in problem else v.PRODUCTS[:1]:
            text = problem.replace("{p}", product)
            if "{n}" in text:
                before, after = text.split("{n}")
                parts.append((before + "#", after))
            else:
                parts.append((text, None))
    return parts


class TicketGenerator:
    """Generates tickets in creation order (so UUIDv7 keys arrive in index order)."""

    def __init__(
        self, *, seed: int, total: int, offset: int, anchor: datetime, plan: UserPlan
    ) -> None:
        self.rng = random.Random(f"helpline-seed-tickets:{seed}:{offset}")  # noqa: S311  # nosec B311
        self.total = total
        self.anchor_ms = to_ms(anchor)
        self.start_ms = self.anchor_ms - SPAN_DAYS * DAY_MS
        self.staff = [u.id for u in plan.staff]
        self.customers = [u.id for u in plan.customers]
        self.customer_first = [u.name.split()[0] for u in plan.customers]
        self.titles = _title_parts()
        self.fmt = TimestampFormatter()
        self.next_index = 0
        # Pools drawn once from the seeded generator: picking from them is far cheaper than
        # composing every text from scratch, and there are enough to look varied.
        rng = self.rng
        self.bodies = [
            " ".join(rng.sample(v.DESCRIPTION_SENTENCES, rng.randint(1, 4))) for _ in range(4096)
        ]
        self.signatures = [
            f"{NEWLINE}{NEWLINE}{u.name.split()[0]}, Helpline support" for u in plan.staff
        ]
        self.key_sets = [
            tuple(rng.sample(v.METADATA_KEYS, size)) for size in (1, 1, 2, 2, 3) for _ in range(64)
        ]

    def chunk(self, size: int) -> Chunk:
        """The next ``size`` tickets (fewer at the end)."""
        out = Chunk()
        end = min(self.next_index + size, self.total)
        for i in range(self.next_index, end):
            self._ticket(i, out)
        self.next_index = end
        return out

    def _ticket(self, i: int, out: Chunk) -> None:
        rng, rand, fmt, getrandbits = self.rng, self.rng.random, self.fmt, self.rng.getrandbits
        span = self.anchor_ms - self.start_ms
        # Monotonic in i, denser towards the anchor (a growing customer base).
        created = self.start_ms + int(((i + rand()) / self.total) ** 0.8 * span)
        age_days = (self.anchor_ms - created) // DAY_MS
        tail = self.total - 1 - i
        status, priority = _status_and_priority(tail, age_days, rand)
        c = int(len(self.customers) * rand() ** 2)  # a few customers write many tickets
        customer = self.customers[c]
        staff_index = -1
        if rand() >= _UNASSIGNED_SHARE.get(status, 0.0):
            staff_index = int(len(self.staff) * rand() ** 1.5)
        assignee = self.staff[staff_index] if staff_index >= 0 else NULL
        ticket_id = uuid7(created, getrandbits(74))
        order_no = 100_000 + int(rand() * 900_000)
        before, after = self.titles[int(rand() * len(self.titles))]
        title = before if after is None else f"{before}{order_no}{after}"
        body = self.bodies[int(rand() * 4096)]
        if rand() < 0.3:
            body = f"{body} The order number is #{order_no}."
        opener = v.DESCRIPTION_OPENERS[int(rand() * len(v.DESCRIPTION_OPENERS))]
        description = f"{opener}{NEWLINE}{NEWLINE}{body}{NEWLINE}{NEWLINE}{self.customer_first[c]}"

        # Conversation: strictly increasing timestamps after creation; staff and customer
        # take turns, staff turns are sometimes internal notes.
        low, high = _MESSAGE_RANGE[status]
        count = low + int(rand() * (high - low + 1))
        ts = created
        messages = out.messages
        for k in range(count):
            ts += MINUTE_MS + int(rng.expovariate(1.0) * (3 if k == 0 else 8) * HOUR_MS)
            if staff_index >= 0 and k % 2 == 0:
                if rand() < INTERNAL_NOTE_SHARE:
                    author = self.staff[int(len(self.staff) * rand())]
                    text = v.INTERNAL_NOTES[int(rand() * len(v.INTERNAL_NOTES))]
                    tail_fields = "\tagent\tt\t"
                else:
                    author = assignee
                    reply = v.AGENT_REPLIES[int(rand() * len(v.AGENT_REPLIES))]
                    text = reply + self.signatures[staff_index]
                    tail_fields = "\tagent\tf\t"
            else:
                author = customer
                text = v.CUSTOMER_REPLIES[int(rand() * len(v.CUSTOMER_REPLIES))]
                tail_fields = "\tcustomer\tf\t"
            message_id = uuid7(ts, getrandbits(74))
            messages.append(f"{message_id}\t{ticket_id}\t{text}\t{author}{tail_fields}{fmt(ts)}\n")
        if status == "closed" and rand() < 0.3:
            ts += 7 * DAY_MS
            messages.append(
                f"{uuid7(ts, getrandbits(74))}\t{ticket_id}\t{v.SYSTEM_MESSAGES[0]}\t{NULL}"
                f"\t{SYSTEM}\tf\t{fmt(ts)}\n"
            )
            count += 1

        updated = ts + int(rand() * 10 * MINUTE_MS) if (count or status != "new") else created
        version = 1 + count + (status != "new")
        deleted = NULL
        if rand() < DELETED_SHARE and tail >= COVERAGE_TAIL:
            updated += DAY_MS
            deleted = fmt(updated)
            version += 1
        created_text = fmt(created)
        out.tickets.append(
            f"{ticket_id}\t{title}\t{description}\t{status}\t{priority}\t{created_text}"
            f"\t{fmt(updated)}\t{assignee}\t{customer}\t{version}\t{deleted}\n"
        )

        if rand() < METADATA_SHARE or tail < COVERAGE_TAIL:
            stamps = f"\t{created_text}\t{created_text}\n"
            for key in self.key_sets[int(rand() * len(self.key_sets))]:
                if key == "order_id":
                    value = f'"ORD-{order_no:07d}"'
                else:
                    values = v.METADATA_VALUES[key]
                    value = values[int(rand() * len(values))]
                out.metadata.append(f"{ticket_id}\t{key}\t{value}{stamps}")


def _status_and_priority(tail: int, age_days: int, rand: Callable[[], float]) -> tuple[str, str]:
    if tail < COVERAGE_TAIL:  # the newest tickets cycle through every status and priority
        return STATUSES[tail % 6], PRIORITIES[tail % 4]
    cum = _STATUS_BY_AGE[-1][1]
    for min_age, by_age in _STATUS_BY_AGE:
        if age_days >= min_age:
            cum = by_age
            break
    return STATUSES[min(bisect(cum, rand()), 5)], PRIORITIES[min(bisect(_PRIORITY_CUM, rand()), 3)]
