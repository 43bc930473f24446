"""The one time seam: core code receives times as arguments; drivers own a Clock."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """Source of the current time in nanoseconds since the Unix epoch."""

    def now_ns(self) -> int: ...


class ReplayClock:
    """A clock that only moves when the replay driver advances it to an event's time."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def advance_to(self, ts_ns: int) -> None:
        if ts_ns > self._now:
            self._now = ts_ns
