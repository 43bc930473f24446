"""The guard: the last check before quotes go out. It may only deny or shrink, with a reason."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from solbot.core.model import MarketSpec, Side
from solbot.core.quoting import QuoteIntent


@dataclass(frozen=True)
class RiskParams:
    price_band_bps: float
    crossed_book_protection: bool
    backoff_ns: int
    max_position_lots: int
    max_position_usd: float
    max_order_usd: float
    stale_feed_ns: int = 0  # 0 = no hard stale-feed stop


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
    denials: tuple[str, ...]


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
    blocked = False
    if params.stale_feed_ns and feed_age_ns > params.stale_feed_ns and (bid or ask):
        denials.append("market data stale: quoting both sides denied")
        bid = ask = None
        blocked = True
    if params.crossed_book_protection and best_bid > 0 and best_ask > 0 and best_bid >= best_ask:
        denials.append("market book crossed: quoting both sides denied")
        bid = ask = None
        blocked = True
    if bid is not None and ask is not None and bid.price >= ask.price:
        denials.append("own bid would cross own ask: both denied")
        bid = ask = None
        blocked = True
    results: dict[Side, QuoteIntent | None] = {Side.BID: bid, Side.ASK: ask}
    for side, quote in list(results.items()):
        if quote is None:
            continue
        checked, reason = _check_side(params, market, mid, inventory_lots, quote)
        if checked is None:
            blocked = True
            state.blocked_until_ns[side] = now_ns + params.backoff_ns
            denials.append(reason)
        elif now_ns < state.blocked_until_ns[side] and _adds_risk(side, inventory_lots):
            blocked = True
            denials.append(f"{side.label} in guard backoff")
            checked = None
        elif reason:
            denials.append(reason)
        results[side] = checked
    if blocked:
        if state.block_since_ns == 0:
            state.block_since_ns = now_ns
            state.blocks += 1
    else:
        state.block_since_ns = 0
    return RiskResult(results[Side.BID], results[Side.ASK], tuple(denials))


def _adds_risk(side: Side, inventory_lots: int) -> bool:
    return inventory_lots * int(side) >= 0


def _check_side(
    params: RiskParams, market: MarketSpec, mid: float, inventory_lots: int, quote: QuoteIntent
) -> tuple[QuoteIntent | None, str]:
    label = quote.side.label
    price = market.ticks_to_price(quote.price)
    band = params.price_band_bps / 1e4
    if quote.side is Side.BID and price < mid * (1 - band):
        return None, f"bid {price} outside price band of {params.price_band_bps:g} bps"
    if quote.side is Side.ASK and price > mid * (1 + band):
        return None, f"ask {price} outside price band of {params.price_band_bps:g} bps"
    size = quote.size
    reason = ""
    order_cap = math.floor(params.max_order_usd / price * market.size_scale + 1e-9)
    if size > order_cap:
        size, reason = order_cap, f"{label} shrunk to max order ${params.max_order_usd:g}"
    if _adds_risk(quote.side, inventory_lots):
        held = abs(inventory_lots)
        room = params.max_position_lots - held
        usd_room = math.floor((params.max_position_usd / mid) * market.size_scale + 1e-9) - held
        allowed = min(room, usd_room)
        if size > allowed:
            size = allowed
            reason = f"{label} shrunk to the position limit"
    if size < market.min_lots_at(quote.price):
        why = reason or f"{label} below exchange minimum"
        return None, f"{why}: {label} denied"
    if size == quote.size:
        return quote, reason
    return QuoteIntent(quote.side, quote.price, size), reason
