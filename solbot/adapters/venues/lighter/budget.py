"""Client-side request budget (rolling window) and the priority queue of commands waiting for it.

Standard accounts get 60 REST requests per rolling minute, sendTx included; a batch is one
request. Cancels and hedges go before new quotes; quotes that cannot go soon are dropped, not
queued forever. Time is passed in (monotonic seconds), so all of this is unit-testable.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from solbot.core.model import CancelAll, CancelOrder, ModifyOrder, PlaceOrder


class Priority(IntEnum):
    """Lower goes first; SHUTDOWN alone may spend the reserve kept for the shutdown cancel-all."""

    SHUTDOWN = -1
    CANCEL_ALL = 0
    CANCEL = 1
    HEDGE = 2
    QUERY = 3
    QUOTE = 4


@dataclass(frozen=True, slots=True)
class ScheduleCancelAll:
    """Dead-man switch: the venue cancels everything at `time_ms` unless refreshed."""

    time_ms: int


@dataclass(frozen=True, slots=True)
class AbortScheduledCancelAll:
    """Clean stop: remove the dead-man switch's schedule so it never fires on later orders."""


Schedule = ScheduleCancelAll | AbortScheduledCancelAll
QueuedCommand = (
    PlaceOrder | ModifyOrder | CancelOrder | CancelAll | ScheduleCancelAll | AbortScheduledCancelAll
)


def usable_limit(limit: int, safety_margin: float) -> int:
    """Requests a rolling window may hold on our side: `limit` less the safety margin."""
    return max(1, math.floor(limit * (1.0 - safety_margin) + 1e-9))


class RequestBudget:
    """Rolling-window request counter with per-priority reserves and a firewall cooldown.

    The venue counts a request when it ARRIVES; we only know it left and, later, that it was
    answered. A request holds its place in the window from when it was sent until a full window
    after its answer (`settle`): whatever the transit time, the venue's minute never holds a
    request our window has already let go. `safety_margin` keeps a share of the venue's limit
    unused on top (jitter, clocks, requests of another process of the same account), and
    `shutdown_reserve` requests are kept for the shutdown cancel-all alone.
    """

    def __init__(
        self,
        limit: int = 60,
        window_s: float = 60.0,
        *,
        quote_reserve: int = 10,
        query_reserve: int = 4,
        cooldown_s: float = 60.0,
        safety_margin: float = 0.0,
        shutdown_reserve: int = 0,
    ) -> None:
        if not 0.0 <= safety_margin < 1.0:
            raise ValueError(f"safety_margin must be in [0, 1), found {safety_margin}")
        usable = usable_limit(limit, safety_margin) if limit >= 1 else 0
        if (
            limit < 1
            or shutdown_reserve < 0
            or not 0 <= query_reserve <= quote_reserve < usable - shutdown_reserve
        ):
            raise ValueError(
                "need 0 <= query_reserve <= quote_reserve < limit less margin and shutdown reserve"
            )
        self.venue_limit = limit
        self.limit = usable
        self.safety_margin = safety_margin
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self.shutdown_reserve = shutdown_reserve
        self._reserve = {
            Priority.SHUTDOWN: 0,
            Priority.CANCEL_ALL: shutdown_reserve,
            Priority.CANCEL: shutdown_reserve,
            Priority.HEDGE: shutdown_reserve,
            Priority.QUERY: query_reserve + shutdown_reserve,
            Priority.QUOTE: quote_reserve + shutdown_reserve,
        }
        self._stamps: list[float] = []
        self.blocked_until_s = -math.inf
        self.spent_total = 0
        self.rate_limited_total = 0

    def remaining(self, now_s: float) -> int:
        """Requests still allowed in the current window (0 while cooling down)."""
        if now_s < self.blocked_until_s:
            return 0
        return self._room(now_s)

    def _room(self, now_s: float) -> int:
        self._prune(now_s)
        return max(0, self.limit - len(self._stamps))

    def in_window(self, now_s: float) -> int:
        """Requests that still count in the rolling window."""
        self._prune(now_s)
        return len(self._stamps)

    def fraction_remaining(self, now_s: float) -> float:
        """Remaining budget as 0..1: a signal the rules can read."""
        return self.remaining(now_s) / self.limit

    def available(self, priority: Priority, now_s: float) -> int:
        """Requests of this priority that may still go in this window (reserves kept).

        The shutdown cancel-all alone may go inside a 429 cooldown (it is the last chance to
        cancel; the caller bounds its attempts), but never past the window's limit.
        """
        if priority is Priority.SHUTDOWN:
            return max(0, self._room(now_s) - self._reserve[priority])
        return max(0, self.remaining(now_s) - self._reserve[priority])

    def can_spend(self, priority: Priority, now_s: float) -> bool:
        """Whether a request of this priority may go now."""
        return self.available(priority, now_s) > 0

    def spend(self, priority: Priority, now_s: float) -> bool:
        """Record one request if allowed; False (nothing recorded) when not."""
        if not self.can_spend(priority, now_s):
            return False
        self._stamps.append(now_s)
        self.spent_total += 1
        return True

    def seed(self, stamps_s: list[float], now_s: float) -> None:
        """Requests an earlier run sent in the last window (from the ledger): they still count."""
        self._stamps.extend(s for s in stamps_s if s > now_s - self.window_s)
        self._stamps.sort()

    def settle(self, sent_s: float, answered_s: float) -> None:
        """The request sent at `sent_s` was answered: the venue counted it by `answered_s`."""
        if sent_s in self._stamps:
            self._stamps.remove(sent_s)
            self._stamps.append(answered_s)
            self._stamps.sort()

    def wait_s(self, priority: Priority, now_s: float) -> float:
        """Seconds until a request of this priority may go (0 = now)."""
        self._prune(now_s)
        wait = 0.0 if priority is Priority.SHUTDOWN else max(0.0, self.blocked_until_s - now_s)
        allowed = self.limit - self._reserve[priority] - 1  # stamps that may remain in window
        excess = len(self._stamps) - allowed
        if excess > 0:
            wait = max(wait, self._stamps[excess - 1] + self.window_s - now_s)
        return wait

    def cooldown_left_s(self, now_s: float) -> float:
        """Seconds of the venue's firewall cooldown still to sit out."""
        return max(0.0, self.blocked_until_s - now_s)

    def penalize(self, now_s: float, cooldown_s: float | None = None) -> None:
        """The venue said 429/23000: send nothing until the firewall cooldown has passed."""
        self.rate_limited_total += 1
        until = now_s + (self.cooldown_s if cooldown_s is None else cooldown_s)
        self.blocked_until_s = max(self.blocked_until_s, until)

    def _prune(self, now_s: float) -> None:
        horizon = now_s - self.window_s
        if self._stamps and self._stamps[0] <= horizon:
            self._stamps = [s for s in self._stamps if s > horizon]


@dataclass(slots=True)
class Pending:
    """A command waiting for the budget; `attempts` counts sends that failed in transit."""

    command: QueuedCommand
    priority: Priority
    enqueued_s: float
    seq: int
    attempts: int = 0

    @property
    def is_quote(self) -> bool:
        return self.priority is Priority.QUOTE


@dataclass(frozen=True, slots=True)
class Dropped:
    """A command that will never be sent, and why (the venue turns it into an OrderUpdate)."""

    pending: Pending
    reason: str


class CommandQueue:
    """Priority queue with coalescing per client id: at most one waiting command per order."""

    def __init__(self, quote_max_age_s: float = 2.0) -> None:
        self.quote_max_age_s = quote_max_age_s
        self._items: list[Pending] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._items)

    def push(self, command: QueuedCommand, priority: Priority, now_s: float) -> list[Dropped]:
        """Queue a command; returns what it superseded and will never be sent."""
        dropped: list[Dropped] = []
        if isinstance(command, CancelAll):
            dropped = self._remove(
                lambda p: isinstance(p.command, PlaceOrder), "canceled_before_send"
            )
            self._remove(lambda p: isinstance(p.command, ModifyOrder | CancelOrder), "")
        elif isinstance(command, CancelOrder):
            place = self._find(PlaceOrder, command.client_id)
            if place is not None:
                self._items.remove(place)
                return [Dropped(place, "canceled_before_send")]  # never sent: nothing to cancel
            self._remove(lambda p: _targets(p, ModifyOrder, command.client_id), "")
        elif isinstance(command, ModifyOrder):
            if self._merge_modify(command):
                return []
            self._remove(lambda p: _targets(p, ModifyOrder, command.client_id), "")
        elif isinstance(command, Schedule):  # the newest word on the schedule wins
            self._remove(lambda p: isinstance(p.command, Schedule), "")
        self._items.append(Pending(command, priority, now_s, next(self._seq)))
        return dropped

    def push_front(self, items: list[Pending]) -> None:
        """Put back items whose send failed in transit; they keep their place in line."""
        self._items.extend(items)

    def take_batch(self, max_items: int) -> list[Pending]:
        """Remove and return up to `max_items`, highest priority first, FIFO within one."""
        self._items.sort(key=lambda p: (p.priority, p.seq))
        batch, self._items = self._items[:max_items], self._items[max_items:]
        return batch

    def head_priority(self) -> Priority | None:
        """Priority of the item that would go first."""
        return min((p.priority for p in self._items), default=None)

    def drop_stale_quotes(self, now_s: float, wait_s: float = 0.0) -> list[Dropped]:
        """Drop quotes that would be older than the limit by the time the budget allows them."""
        horizon = now_s + wait_s - self.quote_max_age_s
        return self._remove(lambda p: p.is_quote and p.enqueued_s < horizon, "budget")

    def drop_where_priority(self, priority: Priority, reason: str) -> list[Dropped]:
        """Drop every item of one priority (e.g. all quotes when sending is impossible)."""
        return self._remove(lambda p: p.priority is priority, reason)

    def _merge_modify(self, command: ModifyOrder) -> bool:
        place = self._find(PlaceOrder, command.client_id)
        if place is None:
            return False
        # The order was never sent: send it at the new price and size instead.
        assert isinstance(place.command, PlaceOrder)
        place.command = dataclasses.replace(place.command, price=command.price, size=command.size)
        return True

    def _find(self, kind: type, client_id: int) -> Pending | None:
        return next((p for p in self._items if _targets(p, kind, client_id)), None)

    def _remove(self, test: Callable[[Pending], bool], reason: str) -> list[Dropped]:
        kept: list[Pending] = []
        dropped: list[Dropped] = []
        for pending in self._items:
            if test(pending):
                if reason:
                    dropped.append(Dropped(pending, reason))
            else:
                kept.append(pending)
        self._items = kept
        return dropped


def _targets(pending: Pending, kind: type, client_id: int) -> bool:
    command = pending.command
    return isinstance(command, kind) and getattr(command, "client_id", None) == client_id
