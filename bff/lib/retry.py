"""How long to wait before trying again: one rule for the relay and the notifier."""

from __future__ import annotations

import random


def backoff(failures: int, base: float, cap: float) -> float:
    """Capped exponential backoff with jitter in [half, full]: ``base`` after the first failure, doubling."""
    ceiling = min(cap, base * (2 ** min(max(failures, 1) - 1, 30)))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret
