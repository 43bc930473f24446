"""The hedger: bring |inventory| back to target, passive first, then crossing with a cap."""

from __future__ import annotations

import math
from dataclasses import dataclass

from solbot.core.decision import Decision
from solbot.core.model import MarketSpec, Side


@dataclass(frozen=True)
class HedgeParams:
    enabled: bool
    trigger_lots: int
    target_lots: int
    max_clip_lots: int
    prefer_passive: bool
    passive_offset_bps: float
    passive_timeout_ns: int
    cross_offset_bps: float
    max_slippage_bps: float
    cooldown_ns: int
    emergency_clip_multiplier: float
    emergency_extra_bps: float
    emergency_cooldown_ns: int
    clip_usd: float


@dataclass(frozen=True, slots=True)
class HedgeIntent:
    side: Side
    price: int
    size: int
    passive: bool
    mode: str
    reason: str


@dataclass(frozen=True, slots=True)
class ClipRaised:
    """A damped hedge clip (a rule's clip_multiplier) was below the venue minimum and was raised
    to it: the damper had no effect on this hedge, and the trace says so."""

    multiplier: float
    damped_lots: int
    clip_lots: int  # what is sent: the venue minimum or the clip_usd floor

    def describe(self, market: MarketSpec) -> str:
        return (
            f"hedge clip x{self.multiplier:g} = {market.lots_to_size(self.damped_lots):g} raised "
            f"to the minimum order {market.lots_to_size(self.clip_lots):g} (venue minimum or "
            "clip_usd): the damper has no effect"
        )


@dataclass(frozen=True, slots=True)
class HedgeOutcome:
    intent: HedgeIntent | None
    mode: str
    note: str
    clip_raised: ClipRaised | None = None


_IDLE = HedgeOutcome(None, "idle", "")  # immutable: one for every idle decision


def hedge_mode(params: HedgeParams, decision: Decision, exposure_ns: int) -> str:
    """Rules may force a mode; otherwise passive until the passive timeout, then aggressive."""
    if decision.flatten:
        return "emergency" if decision.hedge_mode == "emergency" else "aggressive"
    if decision.hedge_mode is not None:
        if decision.hedge_mode == "passive" and exposure_ns >= params.passive_timeout_ns:
            return "aggressive"
        return decision.hedge_mode
    if params.prefer_passive and exposure_ns < params.passive_timeout_ns:
        return "passive"
    return "aggressive"


@dataclass(frozen=True, slots=True)
class Clip:
    lots: int
    note: str = ""
    raised: ClipRaised | None = None


def hedge_clip_lots(
    params: HedgeParams, decision: Decision, mode: str, market: MarketSpec, price: int, held: int
) -> Clip:
    """How much to hedge: excess over target, capped, then raised to the exchange minimum.

    The minimum is applied AFTER the caps (the original bot capped last and sent clips below the
    venue minimum), and a clip never exceeds |inventory| (a hedge must not flip the position).
    When a rule's clip multiplier is undone by that raise, the clip says so (`raised`).
    """
    target = 0 if decision.flatten else params.target_lots
    excess = held - target
    limit = params.max_clip_lots
    if mode == "emergency":
        limit = int(limit * params.emergency_clip_multiplier)
    damped = decision.hedge_clip_multiplier
    if damped is not None:
        limit = int(params.max_clip_lots * damped)
        if mode == "emergency":
            limit = max(limit, int(params.max_clip_lots * params.emergency_clip_multiplier))
    if decision.flatten:
        limit = max(limit, held)
    clip = min(excess, max(limit, 1))
    minimum = max(market.min_lots_at(price), market.lots_for_usd(price, params.clip_usd))
    clip = max(clip, minimum)
    if clip > held:
        if minimum > held:
            note = f"inventory {held} lots is below the exchange minimum {minimum}: cannot reduce"
            return Clip(0, note)
        clip = held
    if damped is None or limit >= excess or clip <= max(limit, 1):
        return Clip(clip)
    raised = ClipRaised(damped, limit, clip)
    return Clip(clip, raised.describe(market), raised)


def plan_hedge(
    params: HedgeParams,
    decision: Decision,
    market: MarketSpec,
    mid: float,
    best_bid: int,
    best_ask: int,
    inventory_lots: int,
    now_ns: int,
    last_attempt_ns: int,
    exposure_ns: int,
) -> HedgeOutcome:
    """The hedge order wanted now, or None with the reason."""
    held = abs(inventory_lots)
    trigger = 0 if decision.flatten else params.trigger_lots
    if not (params.enabled or decision.flatten) or held == 0 or held <= trigger or mid <= 0:
        return _IDLE
    mode = hedge_mode(params, decision, exposure_ns)
    side = Side.ASK if inventory_lots > 0 else Side.BID
    scale = market.price_scale
    if mode == "passive":
        offset = params.passive_offset_bps / 1e4
        if side is Side.ASK:
            price = max(math.ceil(mid * (1 + offset) * scale - 1e-9), best_bid + 1)
        else:
            price = min(math.floor(mid * (1 - offset) * scale + 1e-9), best_ask - 1)
        clip = hedge_clip_lots(params, decision, mode, market, price, held)
        if clip.lots == 0:
            return HedgeOutcome(None, mode, clip.note)
        intent = HedgeIntent(side, price, clip.lots, True, mode, "passive hedge")
        return HedgeOutcome(intent, mode, clip.note, clip.raised)
    cooldown = params.emergency_cooldown_ns if mode == "emergency" else params.cooldown_ns
    if last_attempt_ns and now_ns - last_attempt_ns < cooldown:
        return HedgeOutcome(None, mode, "hedge cooldown")
    extra = decision.hedge_extra_offset_bps + (
        params.emergency_extra_bps if mode == "emergency" else 0.0
    )
    base_offset = (
        decision.hedge_offset_bps
        if decision.hedge_offset_bps is not None
        else params.cross_offset_bps
    )
    cap = decision.hedge_max_slippage_bps
    cap = (cap if cap is not None else params.max_slippage_bps) + extra
    offset = base_offset + extra
    touch = best_bid if side is Side.ASK else best_ask
    if touch <= 0:
        return HedgeOutcome(None, mode, "no opposite book to cross")
    slippage = abs(mid * scale - touch) / (mid * scale) * 1e4
    if slippage > cap:
        note = f"touch is {slippage:.1f} bps from mid, above the {cap:g} bps slippage cap"
        return HedgeOutcome(None, mode, note)
    if side is Side.ASK:
        price = math.floor(mid * (1 - offset / 1e4) * scale + 1e-9)
    else:
        price = math.ceil(mid * (1 + offset / 1e4) * scale - 1e-9)
    clip = hedge_clip_lots(params, decision, mode, market, price, held)
    if clip.lots == 0:
        return HedgeOutcome(None, mode, clip.note)
    reason = f"{mode} hedge: cross {offset:g} bps (cap {cap:g})"
    intent = HedgeIntent(side, price, clip.lots, False, mode, reason)
    return HedgeOutcome(intent, mode, clip.note, clip.raised)
