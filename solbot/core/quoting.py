"""From a Decision and the market to the maker's desired quotes (one level per side)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from solbot.core.decision import Decision, TradingState
from solbot.core.model import MarketSpec, Side


@dataclass(frozen=True)
class QuoteParams:
    """Quoting settings of one regime, in the units the hot path uses."""

    spread_bps: float
    band_enabled: bool
    band_floor_mode: bool
    band_low_bps: float
    band_high_bps: float
    band_min_spread_bps: float
    band_max_spread_bps: float
    band_min_size_multiplier: float
    band_max_size_multiplier: float
    size_min_lots: int
    size_max_lots: int
    soft_cap_lots: int
    min_size_lots: int
    clip_usd: float
    size_multiplier: float
    extra_full_spread_bps: float
    skew_bps_at_soft_cap: float
    size_min_usd: float | None = None  # when set, replaces size_min_lots (at the mid)
    size_max_usd: float | None = None  # when set, replaces size_max_lots (at the mid)
    # |inventory| in lots (not rounded) at which the skew reaches skew_bps_at_soft_cap; None: the
    # soft cap (quoting.skew_full_at_units unset)
    skew_full_lots: float | None = None


@dataclass(frozen=True, slots=True)
class QuoteIntent:
    side: Side
    price: int
    size: int


@dataclass(frozen=True, slots=True)
class Quotes:
    bid: QuoteIntent | None
    ask: QuoteIntent | None
    spread_bps: float
    size_factor: float


NO_QUOTES = Quotes(None, None, 0.0, 0.0)


def band_factor(params: QuoteParams, vol_bps: float | None) -> float:
    """Where volatility sits in the band: 0 at or below low_bps, 1 at or above high_bps."""
    if not params.band_enabled or vol_bps is None:
        return 0.0
    width = params.band_high_bps - params.band_low_bps
    if width <= 0:
        return 1.0 if vol_bps >= params.band_high_bps else 0.0
    return min(1.0, max(0.0, (vol_bps - params.band_low_bps) / width))


def base_spread_bps(params: QuoteParams, vol_bps: float | None) -> float:
    """Baseline full spread with the volatility band applied, plus the regime's extra."""
    spread = params.spread_bps
    if params.band_enabled and vol_bps is not None:
        factor = band_factor(params, vol_bps)
        banded = (
            params.band_min_spread_bps
            + (params.band_max_spread_bps - params.band_min_spread_bps) * factor
        )
        spread = max(spread, banded) if params.band_floor_mode else banded
    return spread + params.extra_full_spread_bps


def size_curve_lots(params: QuoteParams, market: MarketSpec, mid: float) -> tuple[int, int]:
    """(smallest, largest) quote size of the inventory curve in lots; USD ends convert at mid."""
    low, high = params.size_min_lots, params.size_max_lots
    ticks = market.price_to_ticks(mid)
    if params.size_min_usd is not None:
        low = market.lots_for_usd(ticks, params.size_min_usd)
    if params.size_max_usd is not None:
        high = market.lots_for_usd(ticks, params.size_max_usd)
    return low, max(low, high)


def quote_size_lots(
    params: QuoteParams,
    market: MarketSpec,
    price: int,
    inventory_lots: int,
    vol_bps: float | None,
    scale_clip: float,
    curve: tuple[int, int] | None = None,
) -> int:
    """Inventory size curve x volatility x regime x rule scaling, then exchange floors.

    `curve` is the (smallest, largest) size at the current mid; by default the unit ends.
    """
    size_min, size_max = curve or (params.size_min_lots, params.size_max_lots)
    ratio = min(1.0, abs(inventory_lots) / params.soft_cap_lots) if params.soft_cap_lots else 1.0
    size = size_max - (size_max - size_min) * ratio
    if params.band_enabled and vol_bps is not None:
        factor = band_factor(params, vol_bps)
        size *= (
            params.band_max_size_multiplier
            - (params.band_max_size_multiplier - params.band_min_size_multiplier) * factor
        )
    size *= params.size_multiplier * scale_clip
    lots = math.floor(size + 1e-9)
    floor = max(
        params.min_size_lots,
        market.min_lots_at(price),
        market.lots_for_usd(price, params.clip_usd),
    )
    lots = min(lots, size_max)
    return max(lots, floor)


def inventory_skew_bps(params: QuoteParams, inventory_lots: int) -> float:
    """The soft-cap skew: -skew_bps_at_soft_cap x inventory / reference, clamped to +-1 of it.

    The reference is skew_full_lots when set, else the soft cap. Long gives a negative skew (both
    quotes shift down, to sell).
    """
    reference = params.skew_full_lots or params.soft_cap_lots
    if not params.skew_bps_at_soft_cap or not reference:
        return 0.0
    lean = max(-1.0, min(1.0, inventory_lots / reference))
    return -params.skew_bps_at_soft_cap * lean


def compute_quotes(
    params: QuoteParams,
    decision: Decision,
    market: MarketSpec,
    mid: float,
    best_bid: int,
    best_ask: int,
    inventory_lots: int,
    vol_bps: float | None,
) -> Quotes:
    """Desired bid and ask; a paused side or a halted/flattening state gives None."""
    if decision.state is TradingState.HALTED or decision.flatten or mid <= 0:
        return NO_QUOTES
    spread = base_spread_bps(params, vol_bps)
    half_bid = spread / 2 + decision.widen_bid_bps
    half_ask = spread / 2 + decision.widen_ask_bps
    skew = decision.skew_bps + inventory_skew_bps(params, inventory_lots)
    center = mid * (1 + skew / 1e4) * market.price_scale
    curve = size_curve_lots(params, market, mid)
    bid = ask = None
    if not decision.pause_bid:
        price = math.floor(center * (1 - half_bid / 1e4) + 1e-9)
        if best_ask > 0 and price >= best_ask:
            price = best_ask - 1  # post-only: never cross the book
        if price > 0:
            size = quote_size_lots(
                params, market, price, inventory_lots, vol_bps, decision.scale_clip, curve
            )
            bid = QuoteIntent(Side.BID, price, size)
    if not decision.pause_ask:
        price = math.ceil(center * (1 + half_ask / 1e4) - 1e-9)
        if best_bid > 0 and price <= best_bid:
            price = best_bid + 1
        size = quote_size_lots(
            params, market, price, inventory_lots, vol_bps, decision.scale_clip, curve
        )
        ask = QuoteIntent(Side.ASK, price, size)
    factor = band_factor(params, vol_bps)
    return Quotes(bid, ask, spread, factor)
