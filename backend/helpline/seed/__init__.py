"""Development data generator (bulk COPY)."""

from helpline.seed.loader import run_seed

__all__ = ["run_seed"]
