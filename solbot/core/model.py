"""Value types shared by every layer: market specs, events, orders, commands and fills.

Prices and sizes on the hot path are integers: price in ticks (10^-price_decimals USD) and size in
lots (10^-size_decimals base units), exactly as Lighter encodes them. Times are event-time
nanoseconds since the Unix epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class Side(IntEnum):
    """Our side of an order or fill; the value is the sign it gives to inventory."""

    BID = 1
    ASK = -1

    @property
    def opposite(self) -> Side:
        return Side.ASK if self is Side.BID else Side.BID

    @property
    def label(self) -> str:
        return "bid" if self is Side.BID else "ask"


class Role(StrEnum):
    """Whether a fill provided liquidity (maker) or took it (taker)."""

    MAKER = "maker"
    TAKER = "taker"


class OrderStatus(StrEnum):
    """Life-cycle states of one of our orders, as the session loop tracks them."""

    PENDING = "pending"  # sent, not yet acknowledged
    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED)


class OrderTag(StrEnum):
    """Why an order exists: a maker quote, a passive hedge or an aggressive (crossing) hedge."""

    QUOTE = "quote"
    HEDGE_PASSIVE = "hedge_passive"
    HEDGE_CROSS = "hedge_cross"
    FLATTEN = "flatten"


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """Instrument rules of one market on one venue (loaded from data files or the venue)."""

    symbol: str
    venue: str
    market_id: int
    price_decimals: int
    size_decimals: int
    min_base_amount: float
    min_quote_amount: float
    maker_fee_bps: float = 0.0
    taker_fee_bps: float = 0.0

    @property
    def tick(self) -> float:
        return 10.0**-self.price_decimals

    @property
    def lot(self) -> float:
        return 10.0**-self.size_decimals

    @property
    def price_scale(self) -> int:
        """Ticks per USD."""
        return int(10**self.price_decimals)

    @property
    def size_scale(self) -> int:
        """Lots per base unit."""
        return int(10**self.size_decimals)

    def price_to_ticks(self, price: float) -> int:
        return round(price * self.price_scale)

    def size_to_lots(self, size: float) -> int:
        return round(size * self.size_scale)

    def ticks_to_price(self, ticks: int) -> float:
        return ticks / self.price_scale

    def lots_to_size(self, lots: int) -> float:
        return lots / self.size_scale

    # The two below run several times per decision: the scales are spelled out (as in
    # price_scale and size_scale) rather than read through the properties.

    def lots_for_usd(self, price_ticks: int, usd: float) -> int:
        """Smallest size in lots whose notional at `price_ticks` reaches `usd`."""
        if usd <= 0 or price_ticks <= 0:
            return 0
        price_scale, size_scale = int(10**self.price_decimals), int(10**self.size_decimals)
        return math.ceil(usd * price_scale * size_scale / price_ticks - 1e-9)  # same order

    def min_lots_at(self, price_ticks: int) -> int:
        """Smallest order size in lots that meets both the base and the notional minimum."""
        size_scale = int(10**self.size_decimals)
        base: int = math.ceil(self.min_base_amount * size_scale - 1e-9)
        usd = self.min_quote_amount
        if usd <= 0 or price_ticks <= 0:  # lots_for_usd is 0
            return max(base, 0)
        price_scale = int(10**self.price_decimals)
        return max(base, math.ceil(usd * price_scale * size_scale / price_ticks - 1e-9))


@dataclass(frozen=True, slots=True)
class BookTop:
    """Best bid and ask (L1) as received; prices in ticks, sizes in lots (0 = empty side)."""

    ts_ns: int
    exchange_ts_ns: int
    bid_price: int
    bid_size: int
    ask_price: int
    ask_size: int


@dataclass(frozen=True, slots=True)
class TradePrint:
    """A public trade; `aggressor` is the taker's side (BID = a buy lifted the ask)."""

    ts_ns: int
    exchange_ts_ns: int
    price: int
    size: int
    aggressor: Side
    trade_id: str


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Place a limit order; `client_id` derives from event time, never from randomness."""

    client_id: int
    side: Side
    price: int
    size: int
    tag: OrderTag = OrderTag.QUOTE
    post_only: bool = True
    reduce_only: bool = False
    immediate_or_cancel: bool = False


@dataclass(frozen=True, slots=True)
class ModifyOrder:
    """Change price and size of a resting order in one transaction."""

    client_id: int
    price: int
    size: int


@dataclass(frozen=True, slots=True)
class CancelOrder:
    client_id: int


@dataclass(frozen=True, slots=True)
class CancelAll:
    """Cancel every order of ours on the market."""

    reason: str = ""


Command = PlaceOrder | ModifyOrder | CancelOrder | CancelAll


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """The venue's word on one of our orders.

    `price` is the order's price at the venue as this update states it (None: the update does
    not say). `refused` marks the report of a command about this order that the venue refused
    or that was dropped before it was sent: the order stays at the stated terms.
    """

    ts_ns: int
    client_id: int
    status: OrderStatus
    remaining: int
    reason: str = ""
    price: int | None = None
    refused: bool = False


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of ours. `trade_id` is the venue's id: (venue, trade_id) is unique."""

    venue: str
    trade_id: str
    ts_ns: int
    market: str
    side: Side
    price: float
    size: float
    role: Role
    fee_usd: float = 0.0
    client_id: int | None = None
    tag: str = ""
    mid: float | None = None
    source: str = "venue"

    @property
    def signed_size(self) -> float:
        return self.size * int(self.side)

    @property
    def notional_usd(self) -> float:
        return self.price * self.size

    @property
    def cash_flow_usd(self) -> float:
        """Quote currency in (+) or out (-) of the account, fees included."""
        return -self.signed_size * self.price - self.fee_usd


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """Funding paid (negative) or received (positive) on held inventory."""

    venue: str
    ts_ns: int
    market: str
    rate: float
    position: float
    mark: float
    amount_usd: float


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """A venue's absolute position: signed base units (+ long, - short)."""

    market: str
    size: float
    ts_ns: int
    entry_price: float | None = None


@dataclass(frozen=True, slots=True)
class MarkPrice:
    """Mark, index and funding of a market from `market_stats`."""

    market: str
    ts_ns: int
    mark_price: float
    index_price: float | None = None
    funding_rate: float | None = None
    funding_ts_ns: int | None = None


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """Book validity, connection or the account stream changed; quoting must pause while not
    `quoting_safe`. `account_live` is False while the venue's account stream (our fills and
    orders) is refused, silent or down: quoting blind to our own fills is not safe."""

    ts_ns: int
    connected: bool
    book_valid: bool
    reason: str = ""
    account_live: bool = True

    @property
    def quoting_safe(self) -> bool:
        return self.connected and self.book_valid and self.account_live


@dataclass(slots=True)
class OpenOrder:
    """Our view of a live order, kept by the order manager.

    `price`, `size` and `remaining` are the venue's terms as last confirmed (for an order not
    yet acknowledged, the terms it was placed with). A modify in flight is kept apart in
    `requested` (price, size) until the venue confirms or refuses it.
    """

    client_id: int
    side: Side
    price: int
    size: int
    remaining: int
    tag: OrderTag
    status: OrderStatus
    sent_ns: int
    reduce_only: bool = False
    post_only: bool = True
    pending_cancel: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    requested: tuple[int, int] | None = None
    requested_ns: int = 0
