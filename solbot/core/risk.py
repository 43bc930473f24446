"""The guard: the last check before quotes go out. It may only deny or shrink, with a reason."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from solbot.core.model import MarketSpec, Side
from solbot.core.quoting import QuoteIntent


@dataclass(frozen=True)
class RiskParams:
    price_band_bps: float
    crossed_book_protection: bool
    backoff_ns: int
    max_position_lots: int | None  # None: no limit in units
    max_position_usd: float | None  # None: no limit in USD (converted at the mid each decision)
    max_order_usd: float
    stale_feed_ns: int = 0  # 0 = no hard stale-feed stop


class DenialReason(StrEnum):
    """Why the guard denied a quote (typed, so summaries can count without parsing text)."""

    STALE_FEED = "stale_feed"
    CROSSED_BOOK = "crossed_book"
    SELF_CROSS = "self_cross"
    PRICE_BAND = "price_band"
    POSITION_LIMIT = "position_limit"  # room under the position limit is below the minimum order
    ORDER_LIMIT = "order_limit"  # max_order_usd is below the minimum order
    EXCHANGE_MINIMUM = "exchange_minimum"
    BACKOFF = "backoff"


@dataclass(frozen=True, slots=True)
class Denial:
    """One denied side, with the numbers that explain it."""

    reason: DenialReason
    side: Side | None  # None: both sides at once
    mid: float
    wanted_lots: int = 0  # the quote's size before the guard shrank it
    minimum_lots: int = 0  # smallest order the venue accepts at that price
    allowed_lots: int = 0  # what the binding limit left room for
    limit_units: float | None = None  # the position limit in force, in units ...
    limit_usd: float | None = None  # ... and in USD


def position_limit_lots(params: RiskParams, market: MarketSpec, mid: float) -> int | None:
    """The position limit in lots at this mid: the tighter of the unit and USD forms."""
    lots = params.max_position_lots
    usd = params.max_position_usd
    if usd is None:
        return lots
    # no mid: no room (fail closed)
    room = math.floor((usd / mid * market.size_scale if mid > 0 else 0.0) + 1e-9)
    return room if lots is None else min(lots, room)


@dataclass
class RiskState:
    """Backoff timers and the start of the current block (for the guard_block_s signal)."""

    blocked_until_ns: dict[Side, int] = field(default_factory=lambda: {Side.BID: 0, Side.ASK: 0})
    block_since_ns: int = 0
    blocks: int = 0

    def block_seconds(self, now_ns: int) -> float:
        return (now_ns - self.block_since_ns) / 1e9 if self.block_since_ns else 0.0


@dataclass(frozen=True)
class RiskResult:
    bid: QuoteIntent | None
    ask: QuoteIntent | None
    denials: tuple[str, ...]  # human-readable, for traces and the ledger
    denied: tuple[Denial, ...] = ()  # the same denials as data (shrinks are not denials)


def check_quotes(
    params: RiskParams,
    state: RiskState,
    now_ns: int,
    market: MarketSpec,
    mid: float,
    best_bid: int,
    best_ask: int,
    inventory_lots: int,
    bid: QuoteIntent | None,
    ask: QuoteIntent | None,
    feed_age_ns: int = 0,
) -> RiskResult:
    """Deny or shrink quotes that break a limit; a block stops only the side that adds risk."""
    denials: list[str] = []
    denied: list[Denial] = []
    blocked = False
    if params.stale_feed_ns and feed_age_ns > params.stale_feed_ns and (bid or ask):
        denials.append("market data stale: quoting both sides denied")
        denied.append(Denial(DenialReason.STALE_FEED, None, mid))
        bid = ask = None
        blocked = True
    if params.crossed_book_protection and best_bid > 0 and best_ask > 0 and best_bid >= best_ask:
        denials.append("market book crossed: quoting both sides denied")
        denied.append(Denial(DenialReason.CROSSED_BOOK, None, mid))
        bid = ask = None
        blocked = True
    if bid is not None and ask is not None and bid.price >= ask.price:
        denials.append("own bid would cross own ask: both denied")
        denied.append(Denial(DenialReason.SELF_CROSS, None, mid))
        bid = ask = None
        blocked = True
    if bid is not None:  # bid first, then ask: the order of the denials
        bid, blocked_bid = _guard_side(
            params, state, now_ns, market, mid, inventory_lots, Side.BID, bid, denials, denied
        )
        blocked = blocked or blocked_bid
    if ask is not None:
        ask, blocked_ask = _guard_side(
            params, state, now_ns, market, mid, inventory_lots, Side.ASK, ask, denials, denied
        )
        blocked = blocked or blocked_ask
    if blocked:
        if state.block_since_ns == 0:
            state.block_since_ns = now_ns
            state.blocks += 1
    else:
        state.block_since_ns = 0
    return RiskResult(bid, ask, tuple(denials), tuple(denied))


def _guard_side(
    params: RiskParams,
    state: RiskState,
    now_ns: int,
    market: MarketSpec,
    mid: float,
    inventory_lots: int,
    side: Side,
    quote: QuoteIntent,
    denials: list[str],
    denied: list[Denial],
) -> tuple[QuoteIntent | None, bool]:
    """One side's limits and backoff: the quote let through (or None) and whether it blocked;
    denials are appended to `denials` and `denied`."""
    checked, reason, denial = _check_side(params, market, mid, inventory_lots, quote)
    if denial is not None:
        state.blocked_until_ns[side] = now_ns + params.backoff_ns
        denials.append(reason)
        denied.append(denial)
        return checked, True
    if now_ns < state.blocked_until_ns[side] and _adds_risk(side, inventory_lots):
        denials.append(f"{side.label} in guard backoff")
        denied.append(Denial(DenialReason.BACKOFF, side, mid))
        return None, True
    if reason:
        denials.append(reason)
    return checked, False


def _adds_risk(side: Side, inventory_lots: int) -> bool:
    return inventory_lots * int(side) >= 0


def _check_side(
    params: RiskParams, market: MarketSpec, mid: float, inventory_lots: int, quote: QuoteIntent
) -> tuple[QuoteIntent | None, str, Denial | None]:
    side = quote.side
    price = market.ticks_to_price(quote.price)
    band = params.price_band_bps / 1e4
    outside = (side is Side.BID and price < mid * (1 - band)) or (
        side is Side.ASK and price > mid * (1 + band)
    )
    if outside:
        text = f"{side.label} {price} outside price band of {params.price_band_bps:g} bps"
        return None, text, Denial(DenialReason.PRICE_BAND, side, mid)
    size = quote.size
    reason = ""
    binding = DenialReason.EXCHANGE_MINIMUM
    size_scale = int(10**market.size_decimals)  # market.size_scale, without the property call
    order_cap = math.floor(params.max_order_usd / price * size_scale + 1e-9)
    if size > order_cap:
        size, reason = order_cap, f"{side.label} shrunk to max order ${params.max_order_usd:g}"
        binding = DenialReason.ORDER_LIMIT
    if inventory_lots * side >= 0:  # _adds_risk
        limit = position_limit_lots(params, market, mid)
        allowed = limit - abs(inventory_lots) if limit is not None else size
        if size > allowed:
            size = allowed
            reason = f"{side.label} shrunk to the position limit"
            binding = DenialReason.POSITION_LIMIT
    minimum = market.min_lots_at(quote.price)
    if size < minimum:
        label = side.label
        why = reason or f"{label} below exchange minimum"
        denial = Denial(
            binding,
            side,
            mid,
            wanted_lots=quote.size,
            minimum_lots=minimum,
            allowed_lots=max(0, size),
            limit_units=None
            if params.max_position_lots is None
            else params.max_position_lots / market.size_scale,
            limit_usd=params.max_position_usd,
        )
        return None, f"{why}: {label} denied", denial
    if size == quote.size:
        return quote, reason, None
    return QuoteIntent(side, quote.price, size), reason, None
