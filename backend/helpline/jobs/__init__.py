"""Background jobs on procrastinate: webhook deliveries and the periodic maintenance tasks."""
