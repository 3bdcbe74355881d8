"""Placeholder: replaced by the bulk loader."""

from helpline.config import Settings


def run_seed(settings: Settings, *, tickets: int, seed: int) -> None:
    raise NotImplementedError
