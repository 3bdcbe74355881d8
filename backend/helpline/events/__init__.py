"""The change feed: events written by database triggers, read in commit-safe (xid, id) order."""
