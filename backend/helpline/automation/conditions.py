"""Rule conditions: ``{"all": [...], "any": [...]}`` over a ticket, its tags and metadata, and
the feed event that woke the rule. Pure functions over plain values (no I/O): the runner, the
dry run and the tests evaluate the same code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

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
)
Field_ = Annotated[
    str,
    StringConstraints(
        pattern=r"^(event|tags|changed|status|priority|assigned_to|team_id|customer_id|"
        r"mailbox_id|title|description|number|metadata\.[a-z0-9][a-z0-9_.-]{0,63})$"
    ),
]


class Condition(BaseModel):
    """One test: ``field`` ``op`` ``value``."""

    model_config = ConfigDict(extra="forbid")

    field: Field_ = Field(
        description="`event`, a ticket field, `tags`, `changed` (fields changed by the event) "
        "or `metadata.<key>`."
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
    ] = Field(description="Operator.")
    value: Any = Field(None, description="Compared value (a list for `in`/`not_in`).")

    @model_validator(mode="after")
    def _consistent(self) -> Condition:
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
