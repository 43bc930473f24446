"""The shipped profiles reproduce the seed's PnL guard and hedger, without the original's defects.

Defects covered (original-system.md §9): PnL measured as cash flow (2, 7), hedge clips below the
exchange minimum (2), emergency mode vetoed by its own slippage cap and unreachable (3).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from policy_helpers import (
    SOL,
    Driver,
    at,
    config_with_profile,
    lots,
    relaxed_sol,
    shipped_policy,
)

from solbot.config.compile import compile_policy
from solbot.config.loader import resolve_profile
from solbot.core.engine import Plan
from solbot.core.model import MarketSpec, Side

# ----- PnL guard on FIFO realized PnL ---------------------------------------------------------


def test_buying_lowers_cash_flow_but_does_not_trigger_the_pnl_guard() -> None:
    driver = Driver("base")
    driver.step(0)
    assert driver.fill(1, Side.BID, 140.0, 0.075) == 0.0
    plan = driver.step(2)
    signals = driver.engine.signals
    assert signals.get("cash_flow_usd") == pytest.approx(-10.5)  # the original's "PnL"
    assert signals.get("realized_5m_usd") == 0.0
    assert "pnl.guard" not in plan.decision.active_rules
    assert plan.decision.hedge_clip_multiplier is None
    assert plan.regime == "aggressive"


@pytest.mark.parametrize(
    ("exit_price", "engaged"),
    [(137.47, False), (137.34, False), (137.33, True), (137.3, True), (130.0, True)],
)
def test_realized_loss_at_or_below_the_floor_engages_the_pnl_guard(
    exit_price: float, engaged: bool
) -> None:
    driver = Driver("base")
    driver.step(0)
    driver.fill(1, Side.BID, 140.0, 0.075)
    realized = driver.fill(2, Side.ASK, exit_price, 0.075)
    assert realized == pytest.approx((exit_price - 140.0) * 0.075)
    plan = driver.step(3)
    assert ("pnl.guard" in plan.decision.active_rules) is engaged
    assert (plan.regime == "defensive") is engaged


def test_pnl_guard_widens_shrinks_and_damps_the_hedger() -> None:
    driver = Driver("base")
    calm = driver.step(0)
    driver.fill(1, Side.BID, 140.0, 0.075)
    driver.fill(2, Side.ASK, 137.3, 0.075)  # FIFO realized -0.2025 <= -0.20
    plan = driver.step(3)
    decision = plan.decision
    assert (decision.widen_bid_bps, decision.widen_ask_bps) == (3.0, 3.0)  # 6 on the full spread
    assert decision.scale_clip == pytest.approx(0.85)
    assert decision.hedge_clip_multiplier == pytest.approx(0.5)
    assert decision.hedge_offset_bps == pytest.approx(8.0)
    assert decision.hedge_max_slippage_bps == pytest.approx(9.0)
    # the original's full spread: 12 + defensive regime 2 + the guard's 6 = 20, 10 bps a side
    assert plan.quotes.spread_bps == pytest.approx(calm.quotes.spread_bps + 2.0)
    half_bps = (plan.quotes.spread_bps + 6.0) / 2
    assert plan.quotes.bid.price == 139_860  # 140 x (1 - 10 bps)
    assert half_bps == pytest.approx(10.0)


def test_pnl_guard_widening_is_capped_at_10_bps(tmp_path: Path) -> None:
    config = config_with_profile(
        tmp_path,
        "wide_guard",
        "schema: 2\nkind: profile\nid: wide_guard\nextends: base\nparams: {pnl_widen_bps: 14}\n",
    )
    driver = Driver(policy=compile_policy(resolve_profile("wide_guard", config), SOL))
    driver.step(0)
    driver.fill(1, Side.BID, 140.0, 0.075)
    driver.fill(2, Side.ASK, 137.0, 0.075)
    plan = driver.step(3)
    assert (plan.decision.widen_bid_bps, plan.decision.widen_ask_bps) == (5.0, 5.0)  # cap 10 full


def test_pnl_guard_uses_a_five_minute_window_and_stays_on_for_its_ttl() -> None:
    driver = Driver("base")
    driver.step(0)
    driver.fill(1, Side.BID, 140.0, 0.075)
    driver.fill(2, Side.ASK, 137.0, 0.075)  # realized -0.225 at t = 2 s
    assert "pnl.guard" in driver.step(200).decision.active_rules
    # the loss leaves the 300 s window at t = 302, but the guard was engaged at t = 200: TTL 120 s
    after_window = driver.step(303)
    assert driver.engine.signals.get("realized_5m_usd") == 0.0
    assert "pnl.guard" in after_window.decision.active_rules
    assert "pnl.guard" in driver.step(319.9).decision.active_rules
    assert "pnl.guard" not in driver.step(320).decision.active_rules


def _loss_then_long(driver: Driver, mid: float) -> None:
    """Realize about -0.2 USD, then end up long 0.09 SOL (over the hedge trigger, under the
    inventory kill at 2 x the $50 position limit)."""
    driver.fill(1, Side.BID, mid, 0.19)
    driver.fill(1, Side.ASK, mid - 2.1, 0.1)


def _long(driver: Driver, mid: float) -> None:
    driver.fill(1, Side.BID, mid, 0.09)


@pytest.mark.parametrize(("market", "damped_lots"), [(SOL, 50), (relaxed_sol(), 30)])
def test_pnl_guard_halves_hedge_clips_and_crosses_at_8_bps(
    market: MarketSpec, damped_lots: int
) -> None:
    mid = 1000.0  # the 10.5 USD clip floor is ~11 lots here; only the venue minimum can bind
    plans: list[Plan] = []
    for setup in (_long, _loss_then_long):
        driver = Driver(mid=mid, policy=shipped_policy("base", market))
        driver.step(0, book=True)
        setup(driver, mid)
        plans.append(driver.step(8))  # 7 s over the trigger: past the 6 s passive timeout
    plain, damped = plans
    assert "pnl.guard" not in plain.decision.active_rules
    assert "pnl.guard" in damped.decision.active_rules
    assert plain.hedge.intent is not None and damped.hedge.intent is not None
    assert plain.hedge.intent.size == lots(0.06)
    assert damped.hedge.intent.size == damped_lots  # 0.06 x 0.5, raised to the venue minimum
    assert plain.hedge.intent.price == 999_000  # 10 bps through mid
    assert damped.hedge.intent.price == 999_200  # 8 bps through mid


def test_pnl_guard_tightens_the_hedge_slippage_cap_to_9_bps() -> None:
    mid = 1000.0
    plans = []
    for setup in (_long, _loss_then_long):
        driver = Driver(mid=mid, half_spread_ticks=950)  # touch 9.5 bps from mid
        driver.step(0)
        setup(driver, mid)
        plans.append(driver.step(8))
    plain, damped = plans
    assert plain.hedge.intent is not None  # within the normal 12 bps cap
    assert damped.hedge.intent is None and damped.hedge.mode == "aggressive"


# ----- hedger ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "clip_units", "side"),
    [
        (0.05, None, None),  # at the trigger: nothing
        (-0.05, None, None),
        (0.051, 0.05, Side.ASK),  # excess 0.031 raised to the 0.05 venue minimum
        (0.07, 0.05, Side.ASK),  # down to the 0.02 target
        (-0.07, 0.05, Side.BID),
        (0.09, 0.06, Side.ASK),  # excess 0.07 capped at max clip 0.06 (notes' later learning)
        (0.2, 0.06, Side.ASK),
        (-0.25, 0.06, Side.BID),
    ],
)
def test_hedger_trigger_target_and_max_clip(
    units: float, clip_units: float | None, side: Side | None
) -> None:
    driver = Driver("base", mid=250.0)
    driver.step(0)
    driver.position(0, units)
    plan = driver.step(7)
    if clip_units is None:
        assert plan.hedge.intent is None
        return
    intent = plan.hedge.intent
    assert intent is not None
    assert (intent.size, intent.side) == (lots(clip_units), side)


@pytest.mark.parametrize("units", [0.1, -0.1])
def test_hedger_rests_passively_at_2_bps_then_crosses_after_6_seconds(units: float) -> None:
    driver = Driver("base", mid=140.0)
    driver.step(0)
    driver.position(0, units)
    long = units > 0
    for second in (0, 3, 5.999):
        intent = driver.step(second).hedge.intent
        assert intent is not None and intent.passive and intent.mode == "passive"
        assert intent.price == (140_028 if long else 139_972)  # 2 bps on our own side of mid
    crossed = driver.step(6).hedge.intent
    assert crossed is not None and not crossed.passive and crossed.mode == "aggressive"
    assert crossed.price == (139_860 if long else 140_140)  # 10 bps through mid
    assert crossed.side is (Side.ASK if long else Side.BID)


def test_passive_timeout_restarts_when_inventory_drops_below_the_trigger() -> None:
    driver = Driver("base", mid=140.0)
    driver.step(0)
    driver.position(0, 0.1)
    driver.position(4, 0.04)  # back under the trigger
    driver.position(5, 0.1)
    intent = driver.step(10).hedge.intent
    assert intent is not None and intent.passive  # only 5 s over the trigger since t = 5


def test_aggressive_hedges_respect_the_hedger_cooldown() -> None:
    driver = Driver("base", mid=140.0)
    driver.step(0)
    driver.position(0, 0.1)
    assert driver.step(7).hedge.intent is not None
    driver.engine.last_hedge_attempt_ns = driver.engine.signals.last_event_ns
    waiting = driver.step(8)
    assert waiting.hedge.intent is None and waiting.hedge.note
    assert driver.step(8.5).hedge.intent is not None  # 1.5 s later


# ----- guard-aware emergency mode -------------------------------------------------------------


def _crossed_book_block(driver: Driver, seconds: list[float]) -> list[Plan]:
    """The market book is crossed from t = seconds[0]: the guard denies both quotes each step."""
    plans = []
    for second in seconds:
        driver.raw_book(second, 140_010, 140_000)
        driver.apply_signals()
        plans.append(driver.engine.decide(at(second)))
    return plans


def test_emergency_hedge_after_10_seconds_over_the_trigger_during_a_guard_block() -> None:
    driver = Driver("base", mid=140.0)
    driver.step(0)
    driver.position(1, 0.25)
    plans = _crossed_book_block(driver, [1, 5, 10, 11])
    for plan in plans:
        assert plan.risk.bid is None and plan.risk.ask is None and plan.risk.denials
    before, at_limit = plans[2], plans[3]
    assert driver.engine.signals.get("over_trigger_s") == pytest.approx(10.0)  # since t = 1
    assert "hedge.emergency" not in before.decision.active_rules  # 9 s over the trigger
    assert before.hedge.intent.mode == "aggressive"
    assert before.hedge.intent.size == 76  # max clip 0.06 raised to the $10.5 floor at $140
    assert "hedge.emergency" in at_limit.decision.active_rules
    intent = at_limit.hedge.intent
    assert intent is not None and intent.mode == "emergency" and not intent.passive
    assert intent.size == int(lots(0.06) * 1.4)  # clip x 1.4
    mid_ticks = 140_005
    assert intent.price == int(mid_ticks * (1 - 16 / 1e4))  # 10 + 6 bps: above the 12 bps cap
    driver.engine.last_hedge_attempt_ns = at(11)  # the session sent it
    (waiting,) = _crossed_book_block(driver, [11.4])
    assert waiting.hedge.intent is None  # emergency cooldown 0.5 s (not the normal 1.5 s)
    (again,) = _crossed_book_block(driver, [11.5])
    assert again.hedge.intent is not None and again.hedge.intent.mode == "emergency"


def test_emergency_cross_is_not_vetoed_by_its_own_slippage_cap_under_the_pnl_guard() -> None:
    driver = Driver("base", mid=140.0)
    driver.step(0)
    driver.fill(0, Side.BID, 140.0, 0.35)
    driver.fill(0, Side.ASK, 137.9, 0.1)  # realized -0.21: PnL guard (offset 8, cap 9)
    plans = _crossed_book_block(driver, [1, 11])
    plan = plans[-1]
    assert {"hedge.emergency", "pnl.guard"} <= set(plan.decision.active_rules)
    intent = plan.hedge.intent
    assert intent is not None and intent.mode == "emergency"
    assert intent.price == int(140_005 * (1 - 14 / 1e4))  # 8 + 6 bps, more than the 9 bps cap


def test_emergency_needs_inventory_over_the_trigger() -> None:
    driver = Driver("base", mid=140.0)
    driver.step(0)
    driver.position(0, 0.04)
    plan = _crossed_book_block(driver, [1, 12])[-1]
    assert "hedge.emergency" not in plan.decision.active_rules
    assert plan.hedge.intent is None


# ----- hedge clips vs the exchange minimum ----------------------------------------------------


@pytest.mark.parametrize("mid", [40.0, 100.0, 140.0, 210.0, 250.0, 400.0])
@pytest.mark.parametrize("pnl_guard", [False, True], ids=["plain", "pnl-guard"])
def test_hedge_clips_never_go_below_the_exchange_minimum(mid: float, pnl_guard: bool) -> None:
    for units in (0.051, 0.06, 0.075, 0.09, 0.12, 0.2, 0.29, -0.06, -0.2):
        driver = Driver("base", mid=mid)
        driver.step(0)
        if pnl_guard:
            driver.fill(0, Side.BID, mid, 0.1)
            driver.fill(0, Side.ASK, mid - 2.5, 0.1)
        driver.position(0, units)
        plan = driver.step(7)
        assert ("pnl.guard" in plan.decision.active_rules) is pnl_guard
        held = lots(abs(units))
        intent = plan.hedge.intent
        if intent is None:
            # only when even the smallest legal order at the crossing price would flip the position
            offset = (8 if pnl_guard else 10) / 1e4
            price = mid * (1 - offset) if units > 0 else mid * (1 + offset)
            minimum = max(SOL.min_lots_at(round(price * 1000)), math.ceil(10.5 / price * 1000))
            assert held < minimum, (mid, units, plan.hedge.note)
            continue
        assert intent.size >= SOL.min_lots_at(intent.price), (mid, units)
        assert SOL.lots_to_size(intent.size) * SOL.ticks_to_price(intent.price) >= 10.0
        assert intent.size <= held  # never flips the position


def test_seed_defect_damped_clip_is_raised_to_a_legal_size() -> None:
    """The original sent 0.03 SOL (4.2 USD) hedges at mid 140; solbot sends at least 10.5 USD."""
    driver = Driver("base", mid=140.0)
    driver.step(0)
    driver.fill(0, Side.BID, 140.0, 0.19)
    driver.fill(0, Side.ASK, 137.9, 0.1)  # PnL guard on, long 0.09
    intent = driver.step(7).hedge.intent
    assert intent is not None
    assert intent.price == 139_888  # 8 bps through mid
    assert intent.size == 76  # ceil(10.5 USD / 139.888, lot), not 0.08 x 0.5 = 40 lots
