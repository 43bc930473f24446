"""Hedge emergency keyed on inventory that is not being reduced (issue 7 §5).

The original's guard-aware emergency was unreachable, and so was solbot's first version of it:
`inventory.one_sided` pauses the adding side before the risk guard would block, so
`guard_block_s` stays 0 however long inventory sits over the limit. The rule now keys on
`over_trigger_s`: seconds |inventory| has stayed over the hedger trigger without a new low.
"""

from __future__ import annotations

import pytest
from policy_helpers import SOL, Driver, at, lots, shipped_policy

from solbot.adapters.venues.simulated import FillModelSettings, SimulatedExchange
from solbot.app.session import Session
from solbot.core.engine import Plan
from solbot.core.model import Fill, Role, Side

MID_TICKS = 140_000
# The book is 15 bps wide on each side: the normal cross (cap 12 bps) is vetoed by the slippage
# cap, so hedges do not get through until the emergency widens the cap by 6 bps (to 18).
BID_TICKS = 139_790
ASK_TICKS = 140_210


def _session_holding(profile: str, units: float) -> tuple[Session, SimulatedExchange]:
    policy = shipped_policy(profile)
    session = Session(policy, market_key=SOL.symbol)
    venue = SimulatedExchange(policy.market, FillModelSettings(), session, venue_name="sim-test")
    session.attach(venue)
    venue.open_with_position(lots(units))
    session.on_fill(
        Fill("sim-test", "opening", at(0), SOL.symbol, Side.BID, 140.0, units, Role.TAKER)
    )
    return session, venue


def _run(session: Session, venue: SimulatedExchange, seconds: list[float]) -> list[Plan]:
    """Book events every given second (as the replay driver sends them); the plan after each."""
    plans = []
    for second in seconds:
        ts = at(second)
        venue.advance(ts)
        venue.on_book(ts, ts, BID_TICKS, 50_000, ASK_TICKS, 50_000)
        session.on_book(ts, ts, BID_TICKS, 50_000, ASK_TICKS, 50_000)
        assert session.last_plan is not None
        plans.append(session.last_plan)
    return plans


@pytest.mark.parametrize("profile", ["base", "defensive"])
def test_emergency_hedge_fires_when_inventory_over_the_trigger_is_not_reduced(
    profile: str,
) -> None:
    session, venue = _session_holding(profile, 0.4)
    plans = _run(session, venue, [0.5 * n for n in range(1, 20)])  # 0.5 .. 9.5 s
    for plan in plans:
        assert "hedge.emergency" not in plan.decision.active_rules
        assert plan.risk.denials == ()  # the guard never blocks: pause rules act before it
    assert session.engine.signals.get("guard_block_s") == 0.0
    assert plans[-1].hedge.intent is None  # aggressive, but the touch is beyond the 12 bps cap
    assert "slippage cap" in plans[-1].hedge.note
    assert venue.position_lots == lots(0.4)  # nothing got through

    (emergency,) = _run(session, venue, [10.0])
    assert session.engine.signals.get("over_trigger_s") == pytest.approx(10.0)
    assert "hedge.emergency" in emergency.decision.active_rules
    intent = emergency.hedge.intent
    assert intent is not None and intent.mode == "emergency" and not intent.passive
    assert intent.side is Side.ASK and intent.size == int(lots(0.06) * 1.4)  # max clip 0.06 x 1.4
    # the cross went out and filled against the bid: inventory down by the emergency clip
    _run(session, venue, [10.5])
    assert venue.position_lots == lots(0.4) - int(lots(0.06) * 1.4)
    assert session.engine.inventory_lots == venue.position_lots
    assert session.engine.signals.get("over_trigger_s") == pytest.approx(0.0)  # a new low


def test_over_trigger_clock_restarts_on_a_new_low_only() -> None:
    driver = Driver("base")
    driver.step(0)
    driver.position(0, 0.3)
    driver.position(2, 0.4)  # grew: the clock keeps running from t = 0
    driver.position(4, 0.3)  # back to the low, not below it: no progress
    driver.step(5)
    assert driver.engine.signals.get("over_trigger_s") == pytest.approx(5.0)
    driver.position(6, 0.25)  # a new low: partial reduction restarts the clock
    driver.step(8)
    assert driver.engine.signals.get("over_trigger_s") == pytest.approx(2.0)
    driver.position(9, 0.05)  # at the trigger (0.05): not over it
    driver.step(10)
    assert driver.engine.signals.get("over_trigger_s") == 0.0
    driver.position(11, -0.2)  # short over the trigger: a fresh clock
    plan = driver.step(21)
    assert driver.engine.signals.get("over_trigger_s") == pytest.approx(10.0)
    assert "hedge.emergency" in plan.decision.active_rules


def test_repeated_position_snapshots_do_not_restart_the_clock() -> None:
    driver = Driver("base")
    driver.step(0)
    for second in range(11):
        driver.position(second, 0.35)  # the venue reconciles the same position every second
        plan = driver.step(second)
        # over the 0.3 limit, yet the guard never blocks: inventory.one_sided paused the bid
        assert plan.quotes.bid is None and plan.risk.ask is not None and plan.risk.denials == ()
    assert driver.engine.signals.get("guard_block_s") == 0.0
    assert driver.engine.signals.get("over_trigger_s") == pytest.approx(10.0)
    assert "hedge.emergency" in plan.decision.active_rules
