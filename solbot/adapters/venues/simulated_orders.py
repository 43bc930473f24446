"""Pieces of the simulated exchange: our order record, the tx budget, queue odds, taker pricing."""

from __future__ import annotations

import math
from collections import deque

from solbot.core.model import OrderStatus, OrderTag

MINUTE_NS = 60_000_000_000
# Queue ahead of an order resting behind the best level: nobody knows it, so only trades
# printing through the price may fill it (until the level shows up at L1 and is measured).
UNKNOWN_QUEUE = 1 << 62


class SimOrder:
    """One of our orders inside the simulated exchange (mutable; identity is the record)."""

    __slots__ = (
        "ahead",
        "client_id",
        "filled",
        "immediate_or_cancel",
        "live_from_ns",
        "post_only",
        "price",
        "reduce_only",
        "remaining",
        "sequence",
        "side",
        "status",
        "tag",
    )

    def __init__(
        self,
        client_id: int,
        side: int,
        price: int,
        size: int,
        tag: OrderTag,
        post_only: bool,
        reduce_only: bool,
        immediate_or_cancel: bool,
    ) -> None:
        self.client_id = client_id
        self.side = side
        self.price = price
        self.remaining = size
        self.filled = 0
        self.tag = tag
        self.post_only = post_only
        self.reduce_only = reduce_only
        self.immediate_or_cancel = immediate_or_cancel
        self.status = OrderStatus.PENDING
        self.ahead = UNKNOWN_QUEUE
        self.live_from_ns = 0
        self.sequence = 0

    def priority(self) -> tuple[int, int]:
        """Sort key: better price first (bids high, asks low), then earlier arrival."""
        return (-self.side * self.price, self.sequence)


class TxBudget:
    """Rolling 60 s window of accepted commands, by send time."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._sent_ns: deque[int] = deque()

    def _expire(self, now_ns: int) -> None:
        sent = self._sent_ns
        while sent and now_ns - sent[0] >= MINUTE_NS:
            sent.popleft()

    def try_consume(self, now_ns: int) -> bool:
        """Take one tx if the window has room; False means the command is refused."""
        self._expire(now_ns)
        if len(self._sent_ns) >= self.per_minute:
            return False
        self._sent_ns.append(now_ns)
        return True

    def used(self, now_ns: int) -> int:
        """Txs counted in the window ending at now_ns."""
        self._expire(now_ns)
        return len(self._sent_ns)


def probability_ahead(ahead: int, behind: int, power: float) -> float:
    """Chance that a size decrease at our level came from in front of us: x^n / (x^n + y^n)."""
    if ahead <= 0:
        return 0.0
    if behind <= 0:
        return 1.0
    # Written as 1 / (1 + (y/x)^n) in log space so large queues or powers cannot overflow.
    exponent = power * math.log(behind / ahead)
    if exponent > 700.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(exponent))


def impact_price(side: int, best: int, lots: int, displayed: int, impact_bps_per_l1: float) -> int:
    """Price in ticks for `lots` beyond the top: best moved by impact_bps per displayed size."""
    offset = best * impact_bps_per_l1 * lots / (displayed * 10_000.0)
    # Round against us (up for buys, down for sells); the epsilon absorbs float noise.
    ticks = math.ceil(offset - 1e-9) if offset > 0 else 0
    return best + ticks if side > 0 else max(1, best - ticks)


def taker_fills(
    side: int,
    limit: int,
    quantity: int,
    best: int,
    displayed: int,
    taken: int,
    impact_bps_per_l1: float,
) -> list[tuple[int, int]]:
    """(price ticks, lots) a taker order gets from the opposite L1: the top, then one impact price.

    `taken` is what our own earlier taker orders already consumed of the displayed size.
    Nothing executes beyond `limit`; the caller cancels or rests the remainder.
    """
    if displayed <= 0 or quantity <= 0 or side * (limit - best) < 0:
        return []
    fills: list[tuple[int, int]] = []
    at_top = min(quantity, max(0, displayed - taken))
    if at_top > 0:
        fills.append((best, at_top))
    beyond = _beyond_within_limit(
        side, limit, quantity - at_top, best, displayed, impact_bps_per_l1
    )
    if beyond > 0:
        fills.append((impact_price(side, best, beyond, displayed, impact_bps_per_l1), beyond))
    return fills


def _beyond_within_limit(
    side: int, limit: int, wanted: int, best: int, displayed: int, impact_bps_per_l1: float
) -> int:
    """Largest quantity beyond the top whose impact price stays within the limit (binary search)."""
    low, high = 0, wanted
    while low < high:
        middle = (low + high + 1) // 2
        price = impact_price(side, best, middle, displayed, impact_bps_per_l1)
        if side * (limit - price) >= 0:
            low = middle
        else:
            high = middle - 1
    return low
