"""Event types the Lighter adapter emits besides the shared core model types."""

from __future__ import annotations

from dataclasses import dataclass

from solbot.core.model import BookTop, Fill, FundingPayment, OrderUpdate, Side, TradePrint


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """The venue's absolute position: signed base units (+ long, - short)."""

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
    """Book validity or connection changed; quoting must pause while not `quoting_safe`."""

    ts_ns: int
    connected: bool
    book_valid: bool
    reason: str = ""

    @property
    def quoting_safe(self) -> bool:
        return self.connected and self.book_valid


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One of the account's live orders as the venue reports it (REST or WS)."""

    order_index: int
    client_id: int
    side: Side
    price: int
    initial_size: int
    remaining: int
    status: str
    market_id: int


@dataclass(frozen=True, slots=True)
class ChannelError:
    """An error envelope received on the WebSocket."""

    code: int | None
    message: str


LighterEvent = (
    BookTop
    | TradePrint
    | Fill
    | OrderUpdate
    | PositionSnapshot
    | MarkPrice
    | FeedStatus
    | FundingPayment
)
