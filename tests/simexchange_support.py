"""Shared helpers of the simulated-exchange tests: a recording sink and event shorthands."""

from __future__ import annotations

from solbot.adapters.venues.simulated import FillModelSettings, SimulatedExchange
from solbot.core.model import (
    Fill,
    FundingPayment,
    MarketSpec,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    Side,
)

MS = 1_000_000
# Minimums of one lot so that matching tests can use small sizes; SOL carries Lighter's real ones.
LOOSE = MarketSpec("SOL-PERP", "sim", 2, 3, 3, 0.001, 0.0)
SOL = MarketSpec("SOL-PERP", "sim", 2, 3, 3, 0.050, 10.0)


class RecordingSink:
    """Keeps everything the venue reports, in order."""

    def __init__(self) -> None:
        self.updates: list[OrderUpdate] = []
        self.fills: list[Fill] = []
        self.funding: list[FundingPayment] = []

    def on_order_update(self, update: OrderUpdate) -> None:
        self.updates.append(update)

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)

    def on_funding(self, payment: FundingPayment) -> None:
        self.funding.append(payment)

    def statuses(self, client_id: int) -> list[OrderStatus]:
        return [u.status for u in self.updates if u.client_id == client_id]

    def last(self, client_id: int) -> OrderUpdate:
        return [u for u in self.updates if u.client_id == client_id][-1]

    def filled_lots(self, client_id: int) -> int:
        return sum(round(f.size * 1000) for f in self.fills if f.client_id == client_id)


def make(
    settings: FillModelSettings | None = None, market: MarketSpec = LOOSE
) -> tuple[SimulatedExchange, RecordingSink]:
    sink = RecordingSink()
    return SimulatedExchange(market, settings or FillModelSettings(), sink), sink


def book(
    venue: SimulatedExchange,
    at_ms: float,
    bid: int,
    bid_size: int,
    ask: int,
    ask_size: int,
    exchange_ms: float | None = None,
) -> None:
    exchange = at_ms if exchange_ms is None else exchange_ms
    venue.on_book(int(at_ms * MS), int(exchange * MS), bid, bid_size, ask, ask_size)


def trade(
    venue: SimulatedExchange,
    at_ms: float,
    price: int,
    size: int,
    aggressor: int,
    exchange_ms: float | None = None,
) -> None:
    exchange = at_ms if exchange_ms is None else exchange_ms
    venue.on_trade(int(at_ms * MS), int(exchange * MS), price, size, aggressor)


def bid(client_id: int, price: int, size: int, **flags: bool) -> PlaceOrder:
    return PlaceOrder(client_id, Side.BID, price, size, **flags)  # type: ignore[arg-type]


def ask(client_id: int, price: int, size: int, **flags: bool) -> PlaceOrder:
    return PlaceOrder(client_id, Side.ASK, price, size, **flags)  # type: ignore[arg-type]


def rest(venue: SimulatedExchange, order: PlaceOrder, at_ms: float = 0.0) -> None:
    """Send an order and let it arrive (the default order latency is 200 ms)."""
    venue.submit([order], int(at_ms * MS))
    venue.advance(int((at_ms + 1000) * MS))
