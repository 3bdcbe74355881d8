"""Saved views: an agent's named inbox filters (filters, search and sort), private to them."""
