"""Reports over per-ticket SLA facts (first response, resolution), in clock and calendar time."""
