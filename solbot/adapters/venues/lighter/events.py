"""Lighter-only event types; the venue-neutral ones (feed status, position, mark) live in
core.model and are re-exported here for the adapter's own modules."""

from __future__ import annotations

from dataclasses import dataclass

from solbot.core.model import (
    BookTop,
    FeedStatus,
    Fill,
    FundingPayment,
    MarkPrice,
    OrderUpdate,
    PositionSnapshot,
    Side,
    TradePrint,
)


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


__all__ = [
    "ChannelError",
    "FeedStatus",
    "LighterEvent",
    "MarkPrice",
    "PositionSnapshot",
    "VenueOrder",
]

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
