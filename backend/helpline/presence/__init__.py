"""Presence: which staff members are viewing or replying to a ticket right now (Redis, expiring)."""
