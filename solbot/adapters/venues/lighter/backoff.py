"""Retry pacing shared by every retry path of the adapter: exponential, jittered, capped.

A retry never goes sooner than the venue's cooldown (a 429 blocks the account for its firewall
cooldown), and a caller gives up after `max_attempts` with a typed error, never loops forever.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Delays for attempt n (0-based): uniform in [½, 1] × min(max_s, initial_s × 2^n)."""

    initial_s: float = 0.5
    max_s: float = 30.0
    max_attempts: int = 6

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s or self.max_attempts < 1:
            raise ValueError("need 0 < initial_s <= max_s and max_attempts >= 1")

    def delay_s(self, attempt: int, rng: random.Random, cooldown_s: float = 0.0) -> float:
        """Seconds to wait before retry `attempt`, never less than the venue's `cooldown_s`."""
        ceiling = min(self.max_s, self.initial_s * 2.0 ** min(max(attempt, 0), 30))
        return max(cooldown_s, ceiling * (0.5 + 0.5 * rng.random()))


class GaveUp(Exception):
    """A retry loop used all its attempts; `attempts` says how many went."""

    def __init__(self, what: str, attempts: int, last_error: str) -> None:
        self.attempts = attempts
        self.last_error = last_error
        super().__init__(f"{what}: gave up after {attempts} attempt(s): {last_error}")
