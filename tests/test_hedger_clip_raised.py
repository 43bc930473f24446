"""The PnL guard's x0.5 hedge clip raised back to the minimum order is never silent (issue 7 §4).

With max_clip_units 0.06 the guard's clip is 0.03 SOL, below the venue minimum (0.05 SOL, $10) and
the $10.5 clip floor at any SOL price: the hedger must send the minimum (a clip below it is
rejected, the original's defect 2) and say that the damper did nothing, as data and in the trace.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from policy_helpers import SOL, Driver, at, lots, relaxed_sol, shipped_policy

from solbot.adapters.storage.trace import TraceWriter
from solbot.app.session import Session
from solbot.cli.main import main
from solbot.core.hedger import ClipRaised
from solbot.core.model import Command, Fill, Role, Side


def _guarded_long(driver: Driver) -> None:
    """Realize -0.21 USD (PnL guard on), then hold 0.09 SOL (over the 0.05 hedge trigger)."""
    driver.step(0)
    driver.fill(1, Side.BID, 140.0, 0.19)
    driver.fill(1, Side.ASK, 137.9, 0.1)


def test_shipped_max_clip_is_the_notes_later_0_06_sol() -> None:
    assert shipped_policy("base").hedge.max_clip_lots == lots(0.06)
    assert shipped_policy("aggressive").hedge.max_clip_lots == lots(0.06)


def test_a_damped_clip_raised_to_the_minimum_order_says_so() -> None:
    driver = Driver("base", mid=140.0)
    _guarded_long(driver)
    plan = driver.step(8)  # past the passive timeout: a cross
    assert "pnl.guard" in plan.decision.active_rules
    assert plan.hedge.intent is not None and plan.hedge.intent.size == 76  # $10.5 at $139.86
    assert plan.hedge.clip_raised == ClipRaised(0.5, 30, 76)
    assert plan.hedge.note == plan.hedge.clip_raised.describe(SOL)


def test_a_damped_clip_above_the_minimum_is_sent_as_damped_without_a_note() -> None:
    driver = Driver(policy=shipped_policy("base", relaxed_sol()), mid=1000.0)
    _guarded_long(driver)
    plan = driver.step(8)
    assert plan.hedge.intent is not None and plan.hedge.intent.size == 30  # 0.06 x 0.5
    assert (plan.hedge.clip_raised, plan.hedge.note) == (None, "")


def test_an_undamped_clip_raised_to_the_minimum_needs_no_note() -> None:
    driver = Driver("base", mid=140.0)
    driver.step(0)
    driver.position(0, 0.09)
    plan = driver.step(8)
    assert plan.hedge.intent is not None and plan.hedge.intent.size == 76
    assert plan.hedge.clip_raised is None


class _Venue:
    def submit(self, commands: Sequence[Command], now_ns: int) -> None:
        pass


def _fill(trade_id: str, seconds: float, side: Side, price: float, size: float) -> Fill:
    return Fill("test", trade_id, at(seconds), "SOL", side, price, size, Role.MAKER, 0.0)


def test_the_raise_lands_in_the_decision_trace(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    trace = TraceWriter(path, {})
    session = Session(shipped_policy("base"), market_key="SOL", trace=trace)
    session.attach(_Venue())
    for second in range(3):
        session.on_book(at(second), at(second), 139_990, 1000, 140_010, 1000)
    session.on_fill(_fill("1", 2.5, Side.BID, 140.0, 0.19))
    session.on_fill(_fill("2", 2.5, Side.ASK, 137.9, 0.1))
    session.on_book(at(3), at(3), 139_990, 1000, 140_010, 1000)
    trace.close()
    plan = session.last_plan
    assert plan is not None and plan.hedge.clip_raised is not None
    records = [json.loads(line) for line in path.read_text().splitlines()]
    (guarded,) = [r for r in records if r["type"] == "decision" and "pnl.guard" in r["rules"]]
    assert guarded["hedge"] == plan.hedge.clip_raised.describe(SOL)


def test_explain_shows_the_raise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    signals = {
        "mid": 140.0,
        "vol_ema_bps": 7.0,
        "inventory_units": 0.09,
        "realized_5m_usd": -1.0,  # the PnL guard: hedge clip x0.5
        "exposure_s": 8,  # past the passive timeout
    }
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"signals": signals, "book": {"bid": 139.99, "ask": 140.01}}))
    assert main(["explain", "--profile", "base", "--state", str(path), "--json"]) == 0
    hedge = json.loads(capsys.readouterr().out)["hedge"]
    assert hedge["order"]["size"] == 0.076
    assert hedge["clip_raised"] == {"multiplier": 0.5, "damped": 0.03, "sent": 0.076}
