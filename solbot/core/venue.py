"""The venue seam: what the session loop needs from an exchange, live or simulated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from solbot.core.model import Command, Fill, FundingPayment, MarketSpec, OrderUpdate


class VenueSink(Protocol):
    """What a venue reports back to the session: order updates, our fills and funding."""

    def on_order_update(self, update: OrderUpdate) -> None: ...

    def on_fill(self, fill: Fill) -> None: ...

    def on_funding(self, payment: FundingPayment) -> None: ...


class Venue(Protocol):
    """Commands out. Market data, order updates and fills come back through the driver."""

    market: MarketSpec

    def submit(self, commands: Sequence[Command], now_ns: int) -> None: ...


class DrivenVenue(Venue, Protocol):
    """A venue as the one driver runs it: replay, paper and live implement the same protocol.

    The simulated exchange (replay on recorded ticks, paper on live ticks) matches our orders
    against the market data it is shown and reports back after its latencies; the live adapter
    ignores market data (the venue matches) and reports through its own stream.
    """

    def advance(self, now_ns: int) -> None:
        """Deliver whatever is due by now (command arrivals, reports)."""
        ...

    def next_due_ns(self) -> int:
        """When something in flight becomes due without market data (a large number if never)."""
        ...

    def on_book(
        self, ts_ns: int, exchange_ts_ns: int, bid: int, bid_size: int, ask: int, ask_size: int
    ) -> None: ...

    def on_trade(
        self, ts_ns: int, exchange_ts_ns: int, price: int, size: int, aggressor: int
    ) -> None: ...
