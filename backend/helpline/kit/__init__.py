"""Domain-free helpers: ids, clock, pagination cursors, embedded services."""
