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
