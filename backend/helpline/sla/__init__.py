"""Service levels: calendars, policies, per-ticket clocks, alarms (ADR 0013)."""
