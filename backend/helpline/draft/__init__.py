"""Drafts: a user's unsent reply or note per ticket, autosaved by the composer."""
