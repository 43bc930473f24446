"""Orders of the same account on the fake's other markets (another strategy's, say).

They rest without matching (those markets have no feed here); what matters is who may cancel
them: a cancel by index, a cancel-all for their market or for all markets, and the scheduled
cancel-all (the dead-man switch), which Lighter runs for the whole account.
"""

from __future__ import annotations

from typing import Any

from solbot.adapters.venues.fake_lighter import wire
from solbot.adapters.venues.fake_lighter.account import FakeOrder
from solbot.adapters.venues.fake_lighter.txs import ALL_MARKETS
from solbot.core.model import MarketSpec


class OtherMarkets:
    """Resting orders by order index on markets other than the one the fake trades."""

    def __init__(self, markets: tuple[MarketSpec, ...], account_index: int) -> None:
        self.markets = {market.market_id: market for market in markets}
        self.account_index = account_index
        self.orders: dict[int, FakeOrder] = {}
        self.market_of: dict[int, int] = {}
        self.by_client: dict[tuple[int, int], int] = {}  # (market, client index) -> order index

    def add(self, market_id: int, order: FakeOrder) -> None:
        """Rest an order the venue accepted (no matching on these markets)."""
        order.status = wire.STATUS_OPEN
        self.orders[order.order_index] = order
        self.market_of[order.order_index] = market_id
        if order.client_order_index:
            self.by_client[(market_id, order.client_order_index)] = order.order_index

    def find(self, market_id: int, index: int) -> FakeOrder | None:
        """An active order of `market_id` by venue order index or client order index."""
        order_index = self.by_client.get((market_id, index), index)
        order = self.orders.get(order_index)
        if order is None or self.market_of[order_index] != market_id or not order.active:
            return None
        return order

    def cancel(self, order_index: int, status: str = wire.STATUS_CANCELED) -> None:
        order = self.orders.get(order_index)
        if order is None or not order.active:
            return
        order.status = status
        self.by_client.pop((self.market_of[order_index], order.client_order_index), None)

    def modify(self, order_index: int, price: int, size: int) -> None:
        order = self.orders[order_index]
        order.price, order.initial_base, order.remaining = price, size, size

    def cancel_all(self, market_id: int, status: str = wire.STATUS_CANCELED) -> None:
        """Cancel every active order of one market, or of all of them (255)."""
        for order_index, market in list(self.market_of.items()):
            if market_id in (ALL_MARKETS, market):
                self.cancel(order_index, status)

    def active_wire(self, market_id: int) -> list[dict[str, Any]]:
        """Order objects of the active orders of one market (or all, 255)."""
        return [
            order.to_wire(self.markets[market], self.account_index)
            for order_index, market in self.market_of.items()
            if market_id in (ALL_MARKETS, market) and (order := self.orders[order_index]).active
        ]

    def all_wire(self) -> list[dict[str, Any]]:
        """Every order (any state), for `/_fake/state`."""
        return [
            self.orders[index].to_wire(self.markets[market], self.account_index)
            for index, market in self.market_of.items()
        ]
