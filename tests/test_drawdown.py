"""Peak-relative drawdown signals and the `risk.drawdown_kill` rule (issue 7 §5)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import NS, SOL, Driver, at, shipped_policy

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.venues.simulated import FillModelSettings, SimulatedExchange
from solbot.app.session import Session
from solbot.core.decision import TradingState
from solbot.core.model import Fill, Role, Side
from solbot.core.seed import DAY_NS

# (seconds after the previous step, mid, trade: 0 none / +1 buy / -1 sell, trade size in lots)
steps_strategy = st.lists(
    st.tuples(
        st.floats(min_value=0.5, max_value=4000.0),
        st.floats(min_value=100.0, max_value=180.0),
        st.sampled_from([0, 1, -1]),
        st.integers(min_value=50, max_value=150),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(steps_strategy)
def test_drawdown_is_the_peak_of_realized_plus_unrealized_minus_now(
    steps: list[tuple[float, float, int, int]],
) -> None:
    driver = Driver("naive")  # no rules that would stop the bookkeeping
    seconds = 0.0
    peaks = {"session": float("-inf"), "day": float("-inf")}
    day = -1
    engine = driver.engine
    signals = engine.signals

    def observe(ts_ns: int, unrealized: float) -> tuple[float, float]:
        """The reference: peaks of the equity curves at every fill and decision."""
        nonlocal day
        session_equity = signals.values[signals.index["realized_total_usd"]] + unrealized
        day_equity = signals.values[signals.index["realized_day_usd"]] + unrealized
        peaks["session"] = max(peaks["session"], session_equity)
        if ts_ns // DAY_NS != day:
            day, peaks["day"] = ts_ns // DAY_NS, day_equity
        peaks["day"] = max(peaks["day"], day_equity)
        return session_equity, day_equity

    for gap, mid, trade, size in steps:
        seconds += gap
        if trade:
            driver.fill(seconds, Side.BID if trade > 0 else Side.ASK, mid, size / 1000)
            if signals.mid > 0:  # at the mid before this step's book event
                observe(at(seconds), engine.fifo.unrealized(signals.mid))
        driver.book(seconds, mid)
        engine.decide(at(seconds))
        session_equity, day_equity = observe(at(seconds), signals.get("unrealized_usd"))
        session_peak, day_peak = peaks["session"], peaks["day"]
        drawdown = signals.get("drawdown_usd")
        drawdown_day = signals.get("drawdown_day_usd")
        assert drawdown >= 0.0 and drawdown_day >= 0.0
        assert drawdown == pytest.approx(session_peak - session_equity, abs=1e-9)
        assert drawdown_day == pytest.approx(day_peak - day_equity, abs=1e-9)


def test_day_drawdown_restarts_from_the_pnl_at_the_utc_day_boundary() -> None:
    driver = Driver("naive")
    midnight_s = ((at(0) // DAY_NS + 1) * DAY_NS - at(0)) / NS
    driver.book(0, 140.0)
    driver.fill(0, Side.BID, 140.0, 0.2)
    driver.engine.decide(at(0))
    driver.book(midnight_s - 1, 130.0)  # -$2 unrealized before midnight
    driver.engine.decide(at(midnight_s - 1))
    signals = driver.engine.signals
    assert signals.get("drawdown_day_usd") == pytest.approx(2.0)
    driver.book(midnight_s + 1, 125.0)
    driver.engine.decide(at(midnight_s + 1))
    assert signals.get("drawdown_day_usd") == 0.0  # the new day's peak is where it started
    assert signals.get("drawdown_usd") == pytest.approx(3.0)  # the session's keeps its peak


def test_drawdown_kill_latches_after_a_winning_day_turns() -> None:
    driver = Driver("base")
    driver.step(0)
    driver.fill(1, Side.BID, 100.0, 0.25)
    driver.fill(2, Side.ASK, 180.0, 0.25)  # +$20 realized: the peak
    driver.step(3)
    driver.fill(4, Side.BID, 180.0, 0.25)
    driver.fill(5, Side.ASK, 140.0, 0.25)  # -$10: +$10 for the day, $10 below the peak
    plan = driver.step(6)
    assert driver.engine.signals.get("drawdown_day_usd") == pytest.approx(10.0)
    assert "risk.drawdown_kill" not in plan.decision.active_rules
    driver.fill(7, Side.BID, 140.0, 0.25)
    driver.fill(8, Side.ASK, 60.0, 0.25)  # -$20 more: -$10 for the day, $30 below the peak
    plan = driver.step(9)
    assert driver.engine.signals.get("realized_day_usd") == pytest.approx(-10.0)
    assert "pnl.daily_kill" not in plan.decision.active_rules  # the daily kill cannot see it
    assert "risk.drawdown_kill" in plan.decision.active_rules
    assert plan.decision.state is TradingState.HALTED
    driver.fill(10, Side.BID, 60.0, 0.25)
    driver.fill(11, Side.ASK, 180.0, 0.25)  # +$30: back at the peak
    plan = driver.step(12)
    assert driver.engine.signals.get("drawdown_day_usd") == 0.0
    assert "risk.drawdown_kill" in plan.decision.active_rules  # latched: needs --ack-kill
    assert plan.decision.state is TradingState.HALTED
    assert "risk.drawdown_kill" in driver.engine.machines.latched


def test_drawdown_kill_is_stored_as_a_latch_in_the_ledger(tmp_path: Path) -> None:
    with Ledger(tmp_path / "solbot.db") as ledger:
        session = Session(shipped_policy("base"), market_key=SOL.symbol, ledger=ledger)
        venue = SimulatedExchange(SOL, FillModelSettings(), session, venue_name="paper-x")
        session.attach(venue)
        session.on_book(at(0), at(0), 139_995, 1000, 140_005, 1000)
        for n, (side, price) in enumerate(
            [(Side.BID, 100.0), (Side.ASK, 180.0), (Side.BID, 180.0), (Side.ASK, 60.0)]
        ):
            session.on_fill(
                Fill("paper-x", str(n), at(1 + n), SOL.symbol, side, price, 0.25, Role.TAKER)
            )
        session.step(at(6))
        assert session.halted
        assert ledger.latched() == ["risk.drawdown_kill"]


def test_a_reload_that_changes_the_signal_settings_keeps_the_days_losses() -> None:
    driver = Driver("base")
    driver.step(0)
    driver.fill(1, Side.BID, 140.0, 0.25)
    driver.fill(2, Side.ASK, 60.0, 0.25)  # -$20
    driver.fill(3, Side.BID, 140.0, 0.2)  # held over the hedger trigger since t = 3
    driver.step(4)
    policy = driver.policy
    slower = replace(policy, signal_settings=replace(policy.signal_settings, vol_halflife_s=60.0))
    driver.engine.replace_policy(slower)
    assert driver.engine.policy is slower
    driver.step(13)
    signals = driver.engine.signals
    assert signals.get("realized_day_usd") == pytest.approx(-20.0)
    assert signals.get("realized_5m_usd") == pytest.approx(-20.0)
    assert signals.get("drawdown_day_usd") == pytest.approx(20.0)
    assert signals.get("over_trigger_s") == pytest.approx(10.0)
