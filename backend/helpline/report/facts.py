"""Which metric facts a ticket's history holds (pure: no I/O; the service loads and writes).

- ``created`` (seq 1): at creation, with the channel.
- ``first_response`` (seq 1): the first public message by staff — internal notes, automatic
  messages and rule (bot) messages are ``system`` or internal, so they never count; a reopen does
  not start a new first response.
- ``solved`` (seq n): the nth move from an open status to ``solved`` or ``closed`` (``solved`` →
  ``closed`` is no new solve); seconds from creation.
- ``reopened`` (seq n): the nth move from ``solved`` back to an open status; seconds since the
  solve it undoes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

DONE = frozenset({"solved", "closed"})

SPAN = "_span"  # (start, end) whose business seconds the service fills in, for new facts only


def _seconds(a: datetime, b: datetime) -> int:
    return max(0, int((b - a).total_seconds()))


def facts_of(
    ticket: Any,
    changes: Sequence[Any],
    first_response: Any | None,
) -> list[dict[str, Any]]:
    """Every fact of one ticket, in order, as rows of ``ticket_metric_facts`` (``SPAN`` holds
    the span to measure in business time; ``business_seconds`` is left to the caller)."""
    created = ticket.created_at
    tid = ticket.id
    facts: list[dict[str, Any]] = [
        {
            "ticket_id": tid,
            "kind": "created",
            "seq": 1,
            "occurred_at": created,
            "calendar_seconds": None,
            SPAN: None,
            "agent_id": None,
            "channel": "email" if ticket.mailbox_id is not None else "api",
        }
    ]
    if first_response is not None and first_response.timestamp >= created:
        at = first_response.timestamp
        facts.append(
            {
                "ticket_id": tid,
                "kind": "first_response",
                "seq": 1,
                "occurred_at": at,
                "calendar_seconds": _seconds(created, at),
                SPAN: (created, at),
                "agent_id": first_response.sender_id,
                "channel": None,
            }
        )
    status = ticket.initial_status or (changes[0].old_status if changes else ticket.status)
    solves = reopens = 0
    solved_at: datetime | None = None
    for change in changes:
        new = change.new_status
        if new in DONE and status not in DONE:
            solves += 1
            solved_at = change.timestamp
            facts.append(
                {
                    "ticket_id": tid,
                    "kind": "solved",
                    "seq": solves,
                    "occurred_at": change.timestamp,
                    "calendar_seconds": _seconds(created, change.timestamp),
                    SPAN: (created, change.timestamp),
                    "agent_id": change.changed_by,
                    "channel": None,
                }
            )
        elif new not in DONE and status in DONE and solved_at is not None:
            reopens += 1
            facts.append(
                {
                    "ticket_id": tid,
                    "kind": "reopened",
                    "seq": reopens,
                    "occurred_at": change.timestamp,
                    "calendar_seconds": _seconds(solved_at, change.timestamp),
                    SPAN: (solved_at, change.timestamp),
                    "agent_id": change.changed_by,
                    "channel": None,
                }
            )
        status = new
    return facts
