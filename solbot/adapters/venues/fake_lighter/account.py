"""The bot's account on the fake venue: orders, fills, position, in Lighter's wire shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solbot.adapters.venues.fake_lighter import wire
from solbot.adapters.venues.fake_lighter.market import (
    OTHER_BUYER_ACCOUNT,
    OTHER_SELLER_ACCOUNT,
    PublicMarket,
    trade_wire,
)
from solbot.adapters.venues.fake_lighter.txs import MIN_ORDER_INDEX
from solbot.core.model import Fill, FundingPayment, MarketSpec, OrderStatus, OrderUpdate, Role, Side


@dataclass
class FakeOrder:
    """One order of ours as the fake venue tracks it; `order_index` is also the matcher's id."""

    order_index: int
    client_order_index: int
    api_key_index: int
    nonce: int
    is_ask: bool
    order_type: int
    time_in_force: int
    reduce_only: bool
    price: int
    initial_base: int
    remaining: int
    order_expiry_ms: int
    created_ns: int
    updated_ns: int
    status: str = "in-progress"
    filled_base: int = 0
    filled_quote_usd: float = 0.0
    fake_cancel_reason: str = ""  # set when the fake itself cancels (expiry, dead-man switch)

    @property
    def side(self) -> Side:
        return Side.ASK if self.is_ask else Side.BID

    @property
    def active(self) -> bool:
        return self.status in wire.ACTIVE_STATUSES

    def to_wire(self, market: MarketSpec, account_index: int) -> dict[str, Any]:
        """The Order object of REST and WS answers."""
        return {
            "order_index": self.order_index,
            "client_order_index": self.client_order_index,
            "order_id": str(self.order_index),
            "client_order_id": str(self.client_order_index),
            "market_index": market.market_id,
            "owner_account_index": account_index,
            "initial_base_amount": wire.size_text(self.initial_base, market),
            "price": wire.price_text(self.price, market),
            "nonce": self.nonce,
            "remaining_base_amount": wire.size_text(self.remaining, market),
            "is_ask": self.is_ask,
            "base_size": self.remaining,
            "base_price": self.price,
            "filled_base_amount": wire.size_text(self.filled_base, market),
            "filled_quote_amount": wire.usd_text(self.filled_quote_usd),
            "side": "sell" if self.is_ask else "buy",
            "type": wire.ORDER_TYPE_NAMES.get(self.order_type, "limit"),
            "time_in_force": wire.TIME_IN_FORCE_NAMES.get(self.time_in_force, "good-till-time"),
            "reduce_only": self.reduce_only,
            "trigger_price": wire.price_text(0, market),
            "order_expiry": self.order_expiry_ms,
            "status": self.status,
            "trigger_status": "na",
            "trigger_time": 0,
            "parent_order_index": 0,
            "parent_order_id": "0",
            "block_height": self.updated_ns // 1_000_000_000,
            "timestamp": self.created_ns // 1_000_000,
            "created_at": self.created_ns // 1_000_000,
            "updated_at": self.updated_ns // 1_000_000,
            "transaction_time": self.updated_ns // 1_000,
        }


@dataclass
class Position:
    """Signed position in lots, average entry in USD, realized PnL and fees in USD."""

    lots: int = 0
    avg_entry_price: float = 0.0
    realized_pnl_usd: float = 0.0
    fees_usd: float = 0.0

    def apply(self, side: Side, price: float, lots: int, lots_per_unit: int) -> float:
        """Book a fill at `price` USD; returns the PnL it realized (USD, fees excluded)."""
        signed = lots * int(side)
        if self.lots == 0 or (self.lots > 0) == (signed > 0):
            held = abs(self.lots)
            self.avg_entry_price = (self.avg_entry_price * held + price * lots) / (held + lots)
            self.lots += signed
            return 0.0
        closing = min(lots, abs(self.lots))
        direction = 1 if self.lots > 0 else -1
        realized = (price - self.avg_entry_price) * closing * direction / lots_per_unit
        self.realized_pnl_usd += realized
        self.lots += signed
        if self.lots == 0:
            self.avg_entry_price = 0.0
        elif (self.lots > 0) != (direction > 0):
            self.avg_entry_price = price  # flipped: the remainder opened at this fill's price
        return realized

    def entry_quote_usd(self, lots_per_unit: int) -> float:
        """What the open position cost at its average entry."""
        return self.avg_entry_price * abs(self.lots) / lots_per_unit

    def to_wire(self, market: MarketSpec, mark_price: float, open_orders: int) -> dict[str, Any]:
        """The Position object of `account_all` and `/api/v1/account` (sign + magnitude)."""
        quantity = abs(self.lots) / float(10**market.size_decimals)
        direction = -1 if self.lots < 0 else 1
        unrealized = (mark_price - self.avg_entry_price) * quantity * direction
        return {
            "market_id": market.market_id,
            "symbol": market.symbol,
            "initial_margin_fraction": "10.00",
            "open_order_count": open_orders,
            "pending_order_count": 0,
            "position_tied_order_count": 0,
            "sign": direction,
            "position": wire.size_text(abs(self.lots), market),
            "avg_entry_price": f"{self.avg_entry_price:.{market.price_decimals}f}",
            "position_value": wire.usd_text(quantity * mark_price),
            "unrealized_pnl": wire.usd_text(unrealized),
            "realized_pnl": wire.usd_text(self.realized_pnl_usd),
            "liquidation_price": "0",
            "total_funding_paid_out": wire.usd_text(0.0),
            "margin_mode": 0,
            "allocated_margin": wire.usd_text(0.0),
        }


class OrderIds:
    """Order indices at or above 2^48, so they never collide with client order indices."""

    def __init__(self, start: int = MIN_ORDER_INDEX + 1_000_000) -> None:
        self._next = start

    def next(self) -> int:
        value = self._next
        self._next += 1
        return value


class AccountLedger:
    """The bot's account: orders, fills and position. It is the matcher's VenueSink."""

    def __init__(self, market: MarketSpec, account_index: int, public: PublicMarket) -> None:
        self.market = market
        self.account_index = account_index
        self.public = public
        self.orders: dict[int, FakeOrder] = {}
        self.by_client: dict[int, int] = {}  # active client order index -> order index
        self.trades: list[dict[str, Any]] = []
        self.volume_usd = 0.0
        self.position = Position()
        self.funding: list[FundingPayment] = []
        self.anomalies: list[str] = []
        self.changed: dict[int, None] = {}  # orders whose state the next frame reports
        self.new_trades: list[dict[str, Any]] = []
        self._seen_fill_ids: set[str] = set()
        self._lots_per_unit = 10**market.size_decimals

    def add(self, order: FakeOrder) -> None:
        """Register an order the venue accepted."""
        self.orders[order.order_index] = order
        if order.client_order_index:
            self.by_client[order.client_order_index] = order.order_index
        self.changed[order.order_index] = None

    def active_orders(self) -> list[FakeOrder]:
        return [order for order in self.orders.values() if order.active]

    def active_count(self) -> int:
        return sum(1 for order in self.orders.values() if order.active)

    def resting_levels(self) -> tuple[dict[int, int], dict[int, int]]:
        """(bids, asks) of our resting orders: price ticks -> remaining lots."""
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        for order in self.orders.values():
            if order.status == wire.STATUS_OPEN and order.remaining > 0:
                levels = asks if order.is_ask else bids
                levels[order.price] = levels.get(order.price, 0) + order.remaining
        return bids, asks

    def take_changes(self) -> tuple[list[FakeOrder], list[dict[str, Any]]]:
        """Orders changed and trades made since the last call."""
        orders = [self.orders[index] for index in self.changed]
        trades = self.new_trades
        self.changed, self.new_trades = {}, []
        return orders, trades

    # --- VenueSink ------------------------------------------------------------------------

    def on_order_update(self, update: OrderUpdate) -> None:
        """Mirror the matcher's word on an order into Lighter's status vocabulary."""
        order = self.orders.get(update.client_id)
        if order is None:
            self.anomalies.append(f"order update for unknown order {update.client_id}")
            return
        if update.status == OrderStatus.PENDING:
            return
        order.remaining = update.remaining
        order.status = lighter_status(update, order)
        order.updated_ns = max(order.updated_ns, update.ts_ns)
        if not order.active and self.by_client.get(order.client_order_index) == order.order_index:
            del self.by_client[order.client_order_index]
        self.changed[order.order_index] = None

    def on_fill(self, fill: Fill) -> None:
        """Book one of our executions: venue trade id, position, trade and account frames."""
        if fill.trade_id in self._seen_fill_ids:
            self.anomalies.append(f"duplicate fill {fill.trade_id} ignored")
            return
        self._seen_fill_ids.add(fill.trade_id)
        order = self.orders.get(fill.client_id) if fill.client_id is not None else None
        if order is None:
            self.anomalies.append(f"fill {fill.trade_id} for unknown order {fill.client_id}")
            return
        lots = self.market.size_to_lots(fill.size)
        price = self.market.price_to_ticks(fill.price)
        before_lots = self.position.lots
        before_quote = self.position.entry_quote_usd(self._lots_per_unit)
        realized = self.position.apply(fill.side, fill.price, lots, self._lots_per_unit)
        self.position.fees_usd += fill.fee_usd
        order.filled_base += lots
        order.filled_quote_usd += wire.quote_units(price, lots, self.market)
        order.updated_ns = max(order.updated_ns, fill.ts_ns)
        trade = self._trade_wire(fill, order, price, lots)
        role = "maker" if fill.role == Role.MAKER else "taker"
        trade[f"{role}_position_size_before"] = wire.size_text(before_lots, self.market)
        trade[f"{role}_entry_quote_before"] = wire.usd_text(before_quote)
        trade[f"{role}_position_sign_changed"] = before_lots * self.position.lots < 0
        trade["ask_account_pnl" if fill.side == Side.ASK else "bid_account_pnl"] = wire.usd_text(
            realized
        )
        self.trades.append(trade)
        self.volume_usd += wire.quote_units(price, lots, self.market)
        self.new_trades.append(trade)
        self.public.add_trade(trade, price, lots)
        self.changed[order.order_index] = None

    def on_funding(self, payment: FundingPayment) -> None:
        self.funding.append(payment)

    def _trade_wire(self, fill: Fill, order: FakeOrder, price: int, lots: int) -> dict[str, Any]:
        we_ask = fill.side == Side.ASK
        maker = fill.role == Role.MAKER
        other_id = self.public.next_other_order_id()
        trade = trade_wire(
            self.market,
            self.public.next_trade_id(),
            price,
            lots,
            fill.ts_ns,
            ask_id=order.order_index if we_ask else other_id,
            bid_id=other_id if we_ask else order.order_index,
            ask_account=self.account_index if we_ask else OTHER_SELLER_ACCOUNT,
            bid_account=OTHER_BUYER_ACCOUNT if we_ask else self.account_index,
            # The resting side is the ask when we rested an ask or lifted someone's ask.
            is_maker_ask=maker == we_ask,
            ask_client_id=order.client_order_index if we_ask else 0,
            bid_client_id=0 if we_ask else order.client_order_index,
        )
        notional = wire.quote_units(price, lots, self.market)
        fee_millionths = round(fill.fee_usd / notional * 1e6) if notional else 0
        if fee_millionths:  # Lighter omits zero fees
            trade["maker_fee" if maker else "taker_fee"] = fee_millionths
        return trade

    # --- frames ---------------------------------------------------------------------------

    def position_wire(self) -> dict[str, Any]:
        return self.position.to_wire(self.market, self.public.mark_price(), self.active_count())

    def account_frame(
        self, kind: str, orders: list[FakeOrder], trades: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """`account_all/{account}`: position keyed by market id string, trades and orders."""
        market_key = str(self.market.market_id)
        return {
            "account": self.account_index,
            "channel": f"account_all:{self.account_index}",
            "type": f"{kind}/account_all",
            "positions": {market_key: self.position_wire()},
            "trades": {market_key: list(trades)} if trades else {},
            "orders": {market_key: [self.order_wire(order) for order in orders]},
            "funding_histories": {},
            "shares": [],
            "assets": {},
            "total_order_count": self.active_count(),
            "pending_order_count": 0,
            "daily_trades_count": len(self.trades),
            "daily_volume": round(self.volume_usd, 6),
        }

    def account_orders_frame(
        self, kind: str, orders: list[FakeOrder], nonce: int
    ) -> dict[str, Any]:
        """`account_orders/{market}/{account}` frame."""
        market_id = self.market.market_id
        return {
            "account": self.account_index,
            "channel": f"account_orders:{market_id}:{self.account_index}",
            "nonce": nonce,
            "orders": {str(market_id): [self.order_wire(order) for order in orders]},
            "type": f"{kind}/account_orders",
        }

    def order_wire(self, order: FakeOrder) -> dict[str, Any]:
        return order.to_wire(self.market, self.account_index)


_STATUS_KEYWORDS = (
    ("post", wire.STATUS_CANCELED_POST_ONLY),
    ("reduce", wire.STATUS_CANCELED_REDUCE_ONLY),
    ("self", wire.STATUS_CANCELED_SELF_TRADE),
    ("expir", wire.STATUS_CANCELED_EXPIRED),
    ("liquidity", wire.STATUS_CANCELED_NOT_ENOUGH_LIQUIDITY),
)


def lighter_status(update: OrderUpdate, order: FakeOrder) -> str:
    """Map the matcher's status and reason onto Lighter's status strings."""
    if update.status == OrderStatus.OPEN:
        return wire.STATUS_OPEN
    if update.status == OrderStatus.FILLED:
        return wire.STATUS_FILLED
    if order.fake_cancel_reason:
        return order.fake_cancel_reason
    reason = update.reason.lower()
    for keyword, status in _STATUS_KEYWORDS:
        if keyword in reason:
            return status
    return wire.STATUS_CANCELED
