"""Rule conditions: ``{"all": [...], "any": [...]}`` over a ticket, its tags and metadata, and
the feed event that woke the rule. Pure functions over plain values (no I/O): the runner, the
dry run and the tests evaluate the same code."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from helpline.automation import timing
from helpline.sla.business_time import Calendar, NoBusinessTime

# The event kinds a condition may name: feed event types, with message.created split by who
# wrote it, and the SLA events of issue 24 (accepted by name).
EVENT_KINDS = (
    "ticket.created",
    "ticket.updated",
    "ticket.deleted",
    "message.customer",
    "message.agent",
    "message.internal",
    "message.system",
    "metadata.changed",
    "attachment.added",
    "sla.warning",
    "sla.breached",
)
TICKET_FIELDS = (
    "status",
    "priority",
    "assigned_to",
    "team_id",
    "customer_id",
    "mailbox_id",
    "title",
    "description",
    "number",
)
LIST_FIELDS = ("tags", "changed")
OPERATORS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "includes",
    "excludes",
    "exists",
    "not_exists",
    "changed",
    "changed_to",
    "older_than",
)
TIME_FIELDS = tuple(f"time.{c}" for c in timing.CLOCKS)
Field_ = Annotated[
    str,
    StringConstraints(
        pattern=r"^(event|tags|changed|status|priority|assigned_to|team_id|customer_id|"
        r"mailbox_id|title|description|number|metadata\.[a-z0-9][a-z0-9_.-]{0,63}|"
        r"time\.(created|updated|status_changed|assignee_changed|customer_message|agent_reply))$"
    ),
]


class Condition(BaseModel):
    """One test: ``field`` ``op`` ``value``."""

    model_config = ConfigDict(extra="forbid")

    field: Field_ = Field(
        description="`event`, a ticket field, `tags`, `changed` (fields changed by the event), "
        "`metadata.<key>`, or a clock `time.<created|updated|status_changed|assignee_changed|"
        "customer_message|agent_reply>` (with `older_than`: a time rule)."
    )
    op: Literal[
        "eq",
        "ne",
        "in",
        "not_in",
        "contains",
        "not_contains",
        "includes",
        "excludes",
        "exists",
        "not_exists",
        "changed",
        "changed_to",
        "older_than",
    ] = Field(description="Operator.")
    value: Any = Field(
        None,
        description="Compared value (a list for `in`/`not_in`; for `older_than` a duration "
        '`{"amount": 3, "unit": "business_days", "calendar_id": "…"}`).',
    )

    @model_validator(mode="after")
    def _consistent(self) -> Condition:
        if self.field.startswith("time.") or self.op == "older_than":
            if not (self.field.startswith("time.") and self.op == "older_than"):
                raise ValueError("time.<clock> fields take older_than, and only they do")
            self.value = timing.Duration.model_validate(self.value).model_dump(mode="json")
            return self
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"{self.op} needs a list value")
        if self.op in ("includes", "excludes") and self.field not in LIST_FIELDS:
            raise ValueError(f"{self.op} applies to tags and changed, not {self.field}")
        if self.op in ("changed", "changed_to") and (
            self.field in ("event", "changed") or self.field.startswith("metadata.")
        ):
            raise ValueError(f"{self.op} applies to ticket fields and tags")
        if self.field == "event":
            values = self.value if isinstance(self.value, list) else [self.value]
            unknown = [v for v in values if v not in EVENT_KINDS]
            if unknown:
                raise ValueError(
                    f"unknown event kind {unknown[0]!r}; one of: " + ", ".join(EVENT_KINDS)
                )
        return self


class Conditions(BaseModel):
    """Every ``all`` condition and, when ``any`` is not empty, at least one of ``any``."""

    model_config = ConfigDict(extra="forbid")

    all: list[Condition] = Field(
        default_factory=list, max_length=50, description="Conditions that must all hold."
    )
    any: list[Condition] = Field(
        default_factory=list,
        max_length=50,
        description="Conditions of which one must hold (ignored when empty).",
    )

    @model_validator(mode="after")
    def _time_rule(self) -> Conditions:
        if any(c.op == "older_than" for c in self.any):
            raise ValueError("time conditions (older_than) belong in all, not in any")
        if self.timed:
            for c in (*self.all, *self.any):
                if c.field in ("event", "changed") or c.op in ("changed", "changed_to"):
                    raise ValueError(
                        "a time rule runs from its timers, not from events: it cannot test "
                        f"{c.field} {c.op}"
                    )
        return self

    @property
    def timed(self) -> list[Condition]:
        """The time conditions (a rule with any is a time rule)."""
        return [c for c in self.all if c.op == "older_than"]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _lookup(field: str, facts: Mapping[str, Any]) -> tuple[bool, Any]:
    """(present, value) of a field in the facts."""
    if field.startswith("metadata."):
        metadata = facts.get("metadata") or {}
        key = field.removeprefix("metadata.")
        return key in metadata, metadata.get(key)
    if field == "changed":
        return True, sorted((facts.get("changes") or {}).keys())
    value = facts.get(field)
    return value is not None, value


def holds(condition: Condition, facts: Mapping[str, Any]) -> bool:
    """Whether one condition holds for ``facts`` (ticket fields, ``tags``, ``metadata``,
    ``event`` and ``changes``: ``{field: [old, new]}`` of a ``ticket.updated``)."""
    op, field, value = condition.op, condition.field, condition.value
    if op == "older_than":
        due = _due(condition, facts)
        now = facts.get("now")
        return due is not None and now is not None and due <= now
    present, actual = _lookup(field, facts)
    if op == "exists":
        return present
    if op == "not_exists":
        return not present
    if op in ("changed", "changed_to"):
        change = (facts.get("changes") or {}).get(field)
        if change is None:
            return False
        return op == "changed" or _same(change[1], value)
    if op == "includes":
        return value in (actual or [])
    if op == "excludes":
        return value not in (actual or [])
    if op == "eq":
        return _same(actual, value)
    if op == "ne":
        return not _same(actual, value)
    if op == "in":
        return any(_same(actual, v) for v in value)
    if op == "not_in":
        return not any(_same(actual, v) for v in value)
    text = (_text(actual) or "").casefold()
    needle = (_text(value) or "").casefold()
    if op == "contains":
        return needle in text
    return needle not in text  # not_contains


def _same(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, list) or isinstance(wanted, list):
        return bool(actual == wanted)
    if actual is None or wanted is None:
        return actual is None and wanted is None
    if isinstance(actual, bool | int | float) and not isinstance(wanted, str):
        return bool(actual == wanted)
    return _text(actual) == _text(wanted)


def matches(conditions: Conditions, facts: Mapping[str, Any]) -> bool:
    """All of ``all``, and one of ``any`` when there is any."""
    if not all(holds(c, facts) for c in conditions.all):
        return False
    return not conditions.any or any(holds(c, facts) for c in conditions.any)


def _due(condition: Condition, facts: Mapping[str, Any]) -> datetime | None:
    calendars: Mapping[uuid.UUID, Calendar] = facts.get("calendars") or {}
    duration = timing.Duration.model_validate(condition.value)
    try:
        return timing.due_of(condition.field, duration, facts, calendars)
    except (KeyError, NoBusinessTime):  # a calendar deleted, or one without business time
        return None


def due_at(conditions: Conditions, facts: Mapping[str, Any]) -> datetime | None:
    """When a time rule starts to match: its other conditions hold now (they change only with
    the ticket, which reschedules) and the latest of its time conditions' instants; None when
    it will not match as the ticket is."""
    timed = conditions.timed
    if not timed:
        return None
    untimed = Conditions.model_construct(
        all=[c for c in conditions.all if c.op != "older_than"], any=conditions.any
    )
    if not matches(untimed, facts):
        return None
    dues = [_due(c, facts) for c in timed]
    if any(d is None for d in dues):
        return None
    return max(d for d in dues if d is not None)


# -- compiled conditions: the runner evaluates every enabled rule on every event -------------
Predicate = Callable[[Mapping[str, Any]], bool]


def _getter(field: str) -> Callable[[Mapping[str, Any]], tuple[bool, Any]]:
    if field.startswith("metadata."):
        key = field.removeprefix("metadata.")

        def metadata(facts: Mapping[str, Any]) -> tuple[bool, Any]:
            found = facts.get("metadata") or {}
            return key in found, found.get(key)

        return metadata
    if field == "changed":
        return lambda facts: (True, sorted((facts.get("changes") or {}).keys()))

    def plain(facts: Mapping[str, Any]) -> tuple[bool, Any]:
        value = facts.get(field)
        return value is not None, value

    return plain


def compile_condition(condition: Condition) -> Predicate:
    """A closure equivalent to ``holds(condition, ·)`` with the operator dispatch, the field
    lookup and the compared values prepared once (the runner's hot path)."""
    op, field, value = condition.op, condition.field, condition.value
    get = _getter(field)
    if op == "eq" and isinstance(value, str) and field not in LIST_FIELDS:
        plain = not field.startswith("metadata.")
        # a text value equals a text or id field when their texts are equal (as _same does)
        if plain:
            return lambda facts: (
                (v := facts.get(field)) is not None
                and (v == value if isinstance(v, str) else _same(v, value))
            )
    if (
        op in ("in", "not_in")
        and all(isinstance(v, str) for v in value)
        and not field.startswith("metadata.")
        and field not in LIST_FIELDS
    ):
        wanted = frozenset(value)
        inside = op == "in"

        def member(facts: Mapping[str, Any]) -> bool:
            v = facts.get(field)
            if v is None:
                return not inside
            found = (v in wanted) if isinstance(v, str) else any(_same(v, w) for w in wanted)
            return found if inside else not found

        return member
    if op in ("includes", "excludes"):
        inside = op == "includes"

        def includes(facts: Mapping[str, Any]) -> bool:
            actual = get(facts)[1] or ()
            return (value in actual) if inside else (value not in actual)

        return includes
    if op in ("contains", "not_contains"):
        needle = (_text(value) or "").casefold()
        inside = op == "contains"

        def contains(facts: Mapping[str, Any]) -> bool:
            found = needle in (_text(get(facts)[1]) or "").casefold()
            return found if inside else not found

        return contains
    return lambda facts: holds(condition, facts)


def matches_nothing(facts: Mapping[str, Any]) -> bool:
    return False


def compile_conditions(conditions: Conditions) -> Predicate:
    """A closure equivalent to ``matches(conditions, ·)``."""
    every = tuple(compile_condition(c) for c in conditions.all)
    some = tuple(compile_condition(c) for c in conditions.any)

    def match(facts: Mapping[str, Any]) -> bool:
        for test in every:
            if not test(facts):
                return False
        if not some:
            return True
        return any(test(facts) for test in some)

    return match
