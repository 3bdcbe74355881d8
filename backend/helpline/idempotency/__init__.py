"""Idempotency-Key for POST requests (DESIGN §5, ADR 0007): claim, replay, complete, release."""
