"""The shipped guard: price band 35 bps, crossed-book protection, position and notional limits,
a 5 s backoff, and blocks that stop only the side adding risk (original-system.md §3.10, §9.11).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from policy_helpers import SOL, Driver, at, config_with_profile, lots, shipped_policy

from solbot.config.compile import compile_policy
from solbot.config.loader import resolve_profile
from solbot.core.decision import TradingState
from solbot.core.engine import CompiledPolicy
from solbot.core.model import Side
from solbot.core.quoting import QuoteIntent
from solbot.core.risk import RiskState, check_quotes

# The one-sided rule already drops the adding side above 0.01 SOL, so the guard's own position
# checks are only visible with that rule off; everything else is the shipped base profile.
NO_ONE_SIDED = """\
schema: 2
kind: profile
id: no_one_sided
extends: base
limits: {max_position_units: 0.3}  # the original's unit limit next to base's $50 (tighter binds)
rules:
  override:
    inventory.one_sided: {enabled: false}
"""


@pytest.fixture(scope="module")
def guard_policy(tmp_path_factory: pytest.TempPathFactory) -> CompiledPolicy:
    root: Path = tmp_path_factory.mktemp("config")
    config = config_with_profile(root, "no_one_sided", NO_ONE_SIDED)
    return compile_policy(resolve_profile("no_one_sided", config), SOL)


def test_shipped_guard_limits_are_the_seed_values() -> None:
    risk = shipped_policy("base").risk
    assert risk.price_band_bps == 35.0
    assert risk.crossed_book_protection
    assert risk.backoff_ns == 5_000_000_000
    assert risk.max_position_lots is None  # 0.3 SOL blocked every quote below ~$35: USD only
    assert risk.max_position_usd == 50.0


# ----- adding side only -----------------------------------------------------------------------


@pytest.mark.parametrize("units", [0.29, -0.29])
def test_position_limit_blocks_only_the_side_that_adds_risk(
    guard_policy: CompiledPolicy, units: float
) -> None:
    driver = Driver(policy=guard_policy, mid=140.0)
    driver.position(0, units)
    plan = driver.step(0)
    assert plan.quotes.bid is not None and plan.quotes.ask is not None  # rules quote both
    adding, reducing = ("bid", "ask") if units > 0 else ("ask", "bid")
    assert getattr(plan.risk, adding) is None
    assert getattr(plan.risk, reducing) == getattr(plan.quotes, reducing)  # untouched
    assert plan.risk.denials


def test_position_limit_shrinks_the_adding_side_to_the_room_left(
    guard_policy: CompiledPolicy,
) -> None:
    driver = Driver(policy=guard_policy, mid=100.0)
    driver.position(0, 0.197)
    plan = driver.step(0)
    assert plan.quotes.bid.size == 106  # ceil(10.5 USD / 99.9x)
    assert plan.risk.bid is not None and plan.risk.bid.size == lots(0.3) - lots(0.197)
    assert plan.risk.ask == plan.quotes.ask


@pytest.mark.parametrize(("mid", "units", "bid_size"), [(250.0, 0.145, 55), (140.0, 0.2, 76)])
def test_notional_limit_caps_the_adding_side_at_50_usd(
    guard_policy: CompiledPolicy, mid: float, units: float, bid_size: int
) -> None:
    driver = Driver(policy=guard_policy, mid=mid)
    driver.position(0, units)
    plan = driver.step(0)
    assert plan.risk.bid is not None and plan.risk.bid.size == bid_size
    assert (lots(units) + bid_size) * mid / 1000 <= 50.0


def test_guard_backoff_keeps_the_adding_side_out_for_5_seconds(
    guard_policy: CompiledPolicy,
) -> None:
    driver = Driver(policy=guard_policy, mid=140.0)
    driver.position(0, 0.29)
    assert driver.step(0).risk.bid is None  # over the limit: denied, backoff starts
    driver.position(1, 0.1)
    backoff = driver.step(1)
    assert backoff.risk.bid is None  # within the limit again, but still backing off
    assert backoff.risk.ask is not None  # the reducing side never waits
    assert driver.step(4.999).risk.bid is None
    assert driver.step(5).risk.bid is not None


def test_guard_block_time_accumulates_and_resets(guard_policy: CompiledPolicy) -> None:
    driver = Driver(policy=guard_policy, mid=140.0)
    driver.position(0, 0.29)
    for second in (0, 3, 7):
        driver.step(second)
        assert driver.engine.signals.get("guard_block_s") == pytest.approx(second)
    driver.position(8, 0.0)
    driver.step(20)  # backoff long over, flat: nothing blocked any more
    driver.step(21)
    assert driver.engine.signals.get("guard_block_s") == 0.0


# ----- price band and crossed books -----------------------------------------------------------


def _quote(side: Side, price: int, size: int = 80) -> QuoteIntent:
    return QuoteIntent(side, price, size)


@pytest.mark.parametrize(
    ("bid_price", "ask_price", "bid_ok", "ask_ok"),
    [
        (139_511, 140_489, True, True),  # 34.9 bps each side: inside the band
        (139_509, 140_489, False, True),  # 35.1 bps: outside
        (139_511, 140_491, True, False),
        (139_000, 141_000, False, False),
    ],
)
def test_price_band_is_35_bps_around_mid(
    bid_price: int, ask_price: int, bid_ok: bool, ask_ok: bool
) -> None:
    policy = shipped_policy("base")
    state = RiskState()
    result = check_quotes(
        policy.risk,
        state,
        at(0),
        SOL,
        140.0,
        139_995,
        140_005,
        0,
        _quote(Side.BID, bid_price),
        _quote(Side.ASK, ask_price),
    )
    assert (result.bid is not None, result.ask is not None) == (bid_ok, ask_ok)
    assert (state.block_since_ns != 0) is not (bid_ok and ask_ok)


@pytest.mark.parametrize(("bid", "ask"), [(140_010, 140_000), (140_000, 140_000)])
def test_crossed_or_locked_market_book_denies_both_quotes(bid: int, ask: int) -> None:
    driver = Driver("base", mid=140.0)
    driver.step(0)
    driver.raw_book(1, bid, ask)
    driver.apply_signals()
    plan = driver.engine.decide(at(1))
    assert plan.quotes.bid is not None and plan.quotes.ask is not None
    assert plan.risk.bid is None and plan.risk.ask is None and plan.risk.denials


def test_own_quotes_that_would_cross_each_other_are_denied() -> None:
    policy = shipped_policy("base")
    result = check_quotes(
        policy.risk,
        RiskState(),
        at(0),
        SOL,
        140.0,
        139_900,
        140_100,
        0,
        _quote(Side.BID, 140_050),
        _quote(Side.ASK, 140_050),
    )
    assert result.bid is None and result.ask is None


def test_order_notional_is_capped_at_25_usd() -> None:
    policy = shipped_policy("base")
    result = check_quotes(
        policy.risk,
        RiskState(),
        at(0),
        SOL,
        140.0,
        139_995,
        140_005,
        0,
        _quote(Side.BID, 139_916, 300),
        None,
    )
    assert result.bid is not None and result.bid.size == 178  # floor(25 / 139.916, lot)


# ----- kill rules ----------------------------------------------------------------------------


def test_inventory_breach_flattens_everything_and_latches_the_halt() -> None:
    driver = Driver("base", mid=140.0)
    driver.step(0)
    driver.position(1, 0.72)  # beyond 2 x the $50 position limit (0.357 SOL at $140)
    plan = driver.step(2)
    assert plan.decision.state is TradingState.HALTED and plan.decision.flatten
    assert plan.quotes.bid is None and plan.quotes.ask is None
    intent = plan.hedge.intent
    assert intent is not None and intent.side is Side.ASK
    assert intent.size == lots(0.72)  # flatten: the whole position, above the 0.06 max clip
    driver.position(3, 0.0)
    assert driver.step(4).decision.state is TradingState.HALTED  # latched until acknowledged
    driver.engine.machines.acknowledge("risk.inventory_breach", at(5))
    assert driver.step(6).decision.state is TradingState.QUOTING


def test_daily_realized_loss_of_25_usd_halts() -> None:
    driver = Driver("base", mid=140.0)
    driver.step(0)
    driver.fill(1, Side.BID, 140.0, 1.0)
    driver.fill(2, Side.ASK, 115.1, 1.0)  # -24.9: not yet
    assert driver.step(3).decision.state is not TradingState.HALTED
    driver.fill(4, Side.BID, 140.0, 0.1)
    driver.fill(5, Side.ASK, 138.0, 0.1)  # -0.2 more: -25.1 today
    plan = driver.step(6)
    assert "pnl.daily_kill" in plan.decision.active_rules
    assert plan.decision.state is TradingState.HALTED and plan.decision.kill
    assert plan.risk.bid is None and plan.risk.ask is None


# ----- a policy deadlock ----------------------------------------------------------------------


def test_high_volatility_pause_does_not_deadlock_with_small_inventory() -> None:
    driver = Driver("base", mid=140.0)
    driver.step(0)
    driver.position(1, 0.03)
    driver.step(2, vol_ema_bps=31.0)
    reduces = False
    for second in range(10, 1800, 10):
        plan = driver.step(second, vol_ema_bps=10.0)  # calm again for half an hour
        reduces |= plan.risk.ask is not None or plan.hedge.intent is not None
    assert reduces
