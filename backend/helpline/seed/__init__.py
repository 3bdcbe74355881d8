"""Development data generator (bulk COPY)."""

from helpline.seed.loader import SeedSummary, run_seed

__all__ = ["SeedSummary", "run_seed"]
