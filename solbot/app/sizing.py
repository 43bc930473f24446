"""Size a profile from a market's venue metadata, its last price and a collateral budget.

Pure computation. The original bot's `scripts/set_market.py` did this (seed description §2);
each number here carries its formula, the inputs put into it, the seed's formula, and a note
where solbot departs from the seed because the seed's number was wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from solbot.errors import UsageError

PRICE_DROP_BUFFER = 0.98  # seed: the minimum clip must still meet min_quote 2 % lower
CLIP_USD_MARGIN = 1.05  # seed: exchange_min_notional 10.5 on a $10 minimum
ORDER_PRICE_HEADROOM = 1.10  # solbot: max_order_usd holds the largest order 10 % higher up
SOFT_CAP_PER_SIZE_MAX = 2.0
TRIGGER_PER_SIZE_MAX = 1.5
TARGET_PER_SIZE_MIN = 0.5
POSITION_PER_SOFT_CAP = 2.0


@dataclass(frozen=True)
class VenueMarket:
    """The venue's rules for one market (from `orderBookDetails`)."""

    symbol: str
    size_decimals: int
    min_base_amount: float
    min_quote_amount: float
    initial_margin_fraction: float  # 0.10 = 10 %

    @property
    def lot(self) -> float:
        return 10.0**-self.size_decimals


@dataclass(frozen=True)
class ParentSizes:
    """The parent profile's numbers the sizing keeps as ratios."""

    size_min_units: float
    size_max_units: float
    inventory_soft_cap_units: float
    max_size_multiplier: float  # quoting.volatility_band.max_size_multiplier
    emergency_clip_multiplier: float  # hedger.emergency_clip_multiplier
    unit_params: Mapping[str, float] = field(default_factory=dict)  # params.*_units


@dataclass(frozen=True)
class SizingRequest:
    market: VenueMarket
    price: float
    collateral_usd: float
    parent: ParentSizes
    baseline_margin_fraction: float = 0.10  # seed: sizes shrink by baseline / IMF above this


@dataclass(frozen=True)
class SizedNumber:
    """One number of the generated profile and how it was reached."""

    path: str  # dotted profile path, e.g. quoting.min_size_units
    value: float | None
    formula: str  # solbot's formula, in words and symbols
    inputs: str  # the formula with the numbers put in
    seed_formula: str  # what the original's set_market did
    improved: str = ""  # why solbot departs from the seed ("" = same as the seed)


@dataclass(frozen=True)
class Sizing:
    request: SizingRequest
    numbers: tuple[SizedNumber, ...]
    required_collateral_usd: float

    def value(self, path: str) -> float | None:
        """The value of one sized number by its dotted path."""
        for number in self.numbers:
            if number.path == path:
                return number.value
        raise KeyError(path)


def ceil_to(value: float, step_decimals: int) -> float:
    """Round up to the step 10^-decimals (a float's last-bit noise does not add a step)."""
    scale = 10**step_decimals
    return float(math.ceil(round(value * scale, 6)) / scale)


def floor_to(value: float, step_decimals: int) -> float:
    scale = 10**step_decimals
    return float(math.floor(round(value * scale, 6)) / scale)


def _check_request(request: SizingRequest) -> None:
    checks = {
        "--collateral": request.collateral_usd,
        "price": request.price,
        "initial_margin_fraction": request.market.initial_margin_fraction,
        "parent quoting.size_min_units": request.parent.size_min_units,
        "parent quoting.inventory_soft_cap_units": request.parent.inventory_soft_cap_units,
    }
    for name, value in checks.items():
        if not (math.isfinite(value) and value > 0):
            raise UsageError(f"{name}: expected a number > 0, found {value}")


def size_profile(request: SizingRequest) -> Sizing:
    """Every sized number, or a UsageError when the collateral cannot carry the venue minimum."""
    _check_request(request)
    market, price, parent = request.market, request.price, request.parent
    d = market.size_decimals
    numbers: list[SizedNumber] = []

    # 1. The smallest clip the venue accepts, still valid after a 2 % drop in price.
    by_quote = market.min_quote_amount / (price * PRICE_DROP_BUFFER)
    min_clip = ceil_to(max(market.min_base_amount, by_quote, market.lot), d)
    clip_text = (
        f"ceil_lot(max({market.min_base_amount:g}, {market.min_quote_amount:g} / "
        f"({price:g} x {PRICE_DROP_BUFFER}), lot {market.lot:g}))"
    )
    seed_clip = "max(min_base, min_quote / (last_px x 0.98))"
    rounded_note = "rounded UP to the lot (at least one), so the rounded clip meets the minimum"
    for path in ("quoting.min_size_units", "quoting.size_min_units"):
        numbers.append(
            SizedNumber(
                path,
                min_clip,
                "ceil_lot(max(min_base_amount, min_quote_amount / (price x 0.98), lot))",
                f"{clip_text} = {min_clip:g}",
                seed_clip,
                rounded_note,
            )
        )

    # The seed's cap: size_max may use at most half the collateral at the price.
    size_cap = floor_to(request.collateral_usd / (2 * price), d)
    required = ceil_to(2 * min_clip * price, 2)
    if size_cap < min_clip:
        raise UsageError(
            f"--collateral {request.collateral_usd:g} USD is too small for {market.symbol}: the "
            f"venue minimum clip is {min_clip:g} {market.symbol} ({clip_text}, "
            f"{min_clip * price:.2f} USD at {price:g}) and size_max may use at most half the "
            f"collateral, so at least {required:.2f} USD is needed"
        )

    clip_usd = ceil_to(market.min_quote_amount * CLIP_USD_MARGIN, 2)
    numbers.append(
        SizedNumber(
            "quoting.clip_usd",
            clip_usd,
            "ceil_cent(min_quote_amount x 1.05)",
            f"ceil_cent({market.min_quote_amount:g} x {CLIP_USD_MARGIN}) = {clip_usd:g}",
            "exchange_min_notional, set by hand to 10.5 on a $10 minimum",
        )
    )

    # 2. Margin scale: markets needing more margin than the baseline get smaller inventories.
    imf = market.initial_margin_fraction
    scale = min(1.0, request.baseline_margin_fraction / imf)
    scale_text = f"min(1, {request.baseline_margin_fraction:g} / {imf:g}) = {scale:g}"

    multiplier = parent.size_max_units / parent.size_min_units
    raw_max = min_clip * multiplier * scale
    size_max = min(max(min_clip, ceil_to(raw_max, d)), size_cap)
    numbers.append(
        SizedNumber(
            "quoting.size_max_units",
            size_max,
            "min(max(min_clip, ceil_lot(min_clip x parent size_max/size_min x margin_scale)), "
            "floor_lot(collateral / (2 x price)))",
            f"min(max({min_clip:g}, ceil_lot({min_clip:g} x {multiplier:.4g} x {scale:g})), "
            f"{size_cap:g}) = {size_max:g}; margin_scale = {scale_text}",
            "clip x multiplier (<= half of balance / px), x baseline_margin / IMF",
            "never below the venue minimum clip (the seed's margin scaling could push it there)",
        )
    )

    soft_cap = max(size_max, ceil_to(SOFT_CAP_PER_SIZE_MAX * size_max * scale, d))
    numbers.append(
        SizedNumber(
            "quoting.inventory_soft_cap_units",
            soft_cap,
            "max(size_max, ceil_lot(2 x size_max x margin_scale))",
            f"max({size_max:g}, ceil_lot(2 x {size_max:g} x {scale:g})) = {soft_cap:g}",
            "2 x size_max, x baseline_margin / IMF",
            "at least one size_max clip",
        )
    )

    # 3. Hedger: leave half a minimum clip; fire early enough that one hedge is a legal order.
    target = floor_to(TARGET_PER_SIZE_MIN * min_clip * scale, d)
    numbers.append(
        SizedNumber(
            "hedger.target_units",
            target,
            "floor_lot(0.5 x size_min x margin_scale)",
            f"floor_lot(0.5 x {min_clip:g} x {scale:g}) = {target:g}",
            "0.5 x size_min, x baseline_margin / IMF",
        )
    )
    by_size = ceil_to(TRIGGER_PER_SIZE_MAX * size_max * scale, d)
    trigger = max(by_size, round(target + min_clip, d))
    numbers.append(
        SizedNumber(
            "hedger.trigger_units",
            trigger,
            "max(ceil_lot(1.5 x size_max x margin_scale), target + min_clip)",
            f"max(ceil_lot(1.5 x {size_max:g} x {scale:g}), {target:g} + {min_clip:g}) "
            f"= {trigger:g}",
            "1.5 x size_max, x baseline_margin / IMF",
            "trigger - target is at least one venue-minimum clip, so the first hedge is legal",
        )
    )
    numbers.append(
        SizedNumber(
            "hedger.max_clip_units",
            min_clip,
            "min_clip (never scaled, never below the venue minimum)",
            f"{min_clip:g}",
            "size_min x baseline_margin / IMF; config.yaml capped it at 0.03 SOL, below the "
            "0.05 SOL / $10 minimum (seed §9 item 2)",
            "a hedge clip is never below the venue minimum",
        )
    )

    # 4. Limits.
    max_position_usd = round(POSITION_PER_SOFT_CAP * soft_cap * price, 2)
    numbers.append(
        SizedNumber(
            "limits.max_position_usd",
            max_position_usd,
            "round_cent(2 x soft_cap x price)",
            f"round_cent(2 x {soft_cap:g} x {price:g}) = {max_position_usd:g}",
            "guard max_inventory_notional = max_position_units x px (2 x soft cap)",
        )
    )
    numbers.append(
        SizedNumber(
            "limits.max_position_units",
            None,
            "null: the USD limit binds",
            "null",
            "guard max_position_units = 2 x soft_cap",
            "a units limit sized at one price blocks every quote once the minimum clip grows "
            "past it at a lower price (profiles/base.yaml); the USD form keeps its meaning",
        )
    )
    largest = max(
        size_max * parent.max_size_multiplier, min_clip * parent.emergency_clip_multiplier
    )
    max_order = max(clip_usd, ceil_to(largest * price * ORDER_PRICE_HEADROOM, 2))
    numbers.append(
        SizedNumber(
            "limits.max_order_usd",
            max_order,
            "ceil_cent(max(size_max x max_size_multiplier, max_clip x "
            "emergency_clip_multiplier) x price x 1.1)",
            f"ceil_cent(max({size_max:g} x {parent.max_size_multiplier:g}, {min_clip:g} x "
            f"{parent.emergency_clip_multiplier:g}) x {price:g} x 1.1) = {max_order:g}",
            "none (the seed had no order-size limit)",
            "the largest quote or emergency hedge must pass the order limit",
        )
    )

    # 5. Inventory thresholds in params keep their ratio to the soft cap.
    ratio = soft_cap / parent.inventory_soft_cap_units
    for name, value in sorted(parent.unit_params.items()):
        sized = max(market.lot, round(value * ratio, d))
        numbers.append(
            SizedNumber(
                f"params.{name}",
                sized,
                "round_lot(parent value x soft_cap / parent soft_cap)",
                f"round_lot({value:g} x {soft_cap:g} / {parent.inventory_soft_cap_units:g}) "
                f"= {sized:g}",
                "ratios of the soft cap (trend 0.6, vol resume 0.25, tiers 0.01/0.02/0.03 at a "
                "0.05 cap)",
            )
        )
    return Sizing(request, tuple(numbers), required)
