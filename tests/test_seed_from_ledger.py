"""A restart keeps the day's losses and the inventory's cost basis (issue 7 §5).

Before, the realized windows and the FIFO book started empty in every session, so -$20, restart,
-$20 never tripped the -$25 daily kill. Sessions now seed both from the ledger's fills, across
runs, per venue family (the account) and market.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import NS, SOL, at, shipped_policy

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.venues.simulated import FillModelSettings, SimulatedExchange
from solbot.app.session import Session
from solbot.core.decision import TradingState
from solbot.core.engine import Plan
from solbot.core.model import Fill, Role, Side
from solbot.core.pnl import FifoBook
from solbot.core.seed import DAY_NS, SeedFills, opening_lots, rebuild, seed_since_ns

MID = 140_000


class PaperSession:
    """A session on a ledger file with a paper venue, started the way `solbot run` starts one."""

    def __init__(self, db: Path, run: str, start_s: float, family: str = "paper") -> None:
        self.ledger = Ledger(db)
        self.run = run
        self.session = Session(shipped_policy("base"), market_key=SOL.symbol, ledger=self.ledger)
        self.seeded = self.session.seed_from_ledger(self.ledger, family, at(start_s))
        self.venue = SimulatedExchange(
            SOL, FillModelSettings(), self.session, venue_name=f"{family}-{run}"
        )
        self.venue.open_with_position(self.session.engine.inventory_lots)
        self.session.attach(self.venue)
        self._trades = 0

    def fill(self, seconds: float, side: Side, price: float, units: float) -> None:
        self._trades += 1
        self.session.on_fill(
            Fill(
                self.venue.venue_name,
                f"{self.run}-{self._trades}",
                at(seconds),
                SOL.symbol,
                side,
                price,
                units,
                Role.TAKER,
            )
        )

    def step(self, seconds: float) -> Plan:
        self.session.on_book(at(seconds), at(seconds), MID - 5, 1000, MID + 5, 1000)
        self.session.step(at(seconds))
        assert self.session.last_plan is not None
        return self.session.last_plan

    def close(self) -> None:
        self.ledger.close()


def test_daily_kill_counts_the_losses_of_the_session_before_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "solbot.db"
    first = PaperSession(db, "run-1", 0)
    first.step(1)
    first.fill(2, Side.BID, 140.0, 0.25)
    first.fill(3, Side.ASK, 60.0, 0.25)  # -$20 realized
    plan = first.step(4)
    assert first.session.engine.signals.get("realized_day_usd") == pytest.approx(-20.0)
    assert "pnl.daily_kill" not in plan.decision.active_rules
    first.close()

    second = PaperSession(db, "run-2", 60)  # restart a minute later, same ledger
    assert second.seeded.fills == 2
    plan = second.step(61)
    assert second.session.engine.signals.get("realized_day_usd") == pytest.approx(-20.0)
    assert "pnl.daily_kill" not in plan.decision.active_rules
    second.fill(62, Side.BID, 140.0, 0.25)
    second.fill(63, Side.ASK, 60.0, 0.25)  # -$20 more: -$40 for the day
    plan = second.step(64)
    assert second.session.engine.signals.get("realized_day_usd") == pytest.approx(-40.0)
    assert "pnl.daily_kill" in plan.decision.active_rules
    assert plan.decision.state is TradingState.HALTED
    second.close()

    # acknowledged the same UTC day (the latch is not restored): the day's loss is still there
    third = PaperSession(db, "run-3", 120)
    plan = third.step(121)
    assert "pnl.daily_kill" in plan.decision.active_rules
    assert third.session.halted
    third.close()


def test_restart_keeps_the_cost_basis_of_the_inventory_held(tmp_path: Path) -> None:
    db = tmp_path / "solbot.db"
    first = PaperSession(db, "run-1", 0)
    first.fill(1, Side.BID, 140.0, 0.1)
    first.fill(2, Side.BID, 150.0, 0.1)
    first.fill(3, Side.ASK, 145.0, 0.05)  # closes half of the 140 lot: +0.25
    first.close()

    second = PaperSession(db, "run-2", 60)
    engine = second.session.engine
    assert engine.inventory_lots == SOL.size_to_lots(0.15)
    assert second.venue.position_lots == engine.inventory_lots  # the paper account too
    assert [(lot.size, lot.price) for lot in engine.fifo.lots] == [
        pytest.approx((0.05, 140.0)),
        pytest.approx((0.1, 150.0)),
    ]
    assert engine.signals.get("realized_day_usd") == pytest.approx(0.25)
    assert engine.fifo.cash_flow_usd == pytest.approx(-(0.05 * 140.0 + 0.1 * 150.0))
    second.fill(61, Side.ASK, 150.0, 0.05)  # closes the rest of the 140 lot, not a new short
    assert engine.fifo.realized_usd == pytest.approx(0.5)
    book, mark = engine.fifo, 147.0  # the FIFO identity holds on a seeded book
    assert book.net_realized_usd + book.unrealized(mark) == pytest.approx(
        book.cash_flow_usd + book.position * mark
    )
    assert engine.signals.get("realized_day_usd") == pytest.approx(0.75)
    second.close()


def test_a_seeded_fill_resent_by_the_venue_is_not_booked_twice(tmp_path: Path) -> None:
    db = tmp_path / "solbot.db"
    first = PaperSession(db, "run-1", 0)
    first.fill(1, Side.BID, 140.0, 0.1)
    first.close()
    second = PaperSession(db, "run-2", 60)
    second.session.on_fill(
        Fill("paper-run-1", "run-1-1", at(1), SOL.symbol, Side.BID, 140.0, 0.1, Role.TAKER)
    )
    assert second.session.engine.inventory_lots == SOL.size_to_lots(0.1)
    assert second.session.stats.duplicate_fills == 1
    second.close()


def test_paper_fills_never_seed_a_live_session_and_runs_are_spanned(tmp_path: Path) -> None:
    db = tmp_path / "solbot.db"
    with Ledger(db) as ledger:
        for venue, trade, units in (
            ("paper-run-1", "1", 0.1),
            ("paper-run-2", "2", 0.2),
            ("lighter", "3", 0.05),
            ("lighterx", "4", 0.3),  # another venue whose name merely starts alike
        ):
            ledger.record_fill(
                Fill(venue, trade, at(1), SOL.symbol, Side.BID, 140.0, units, Role.MAKER)
            )
        paper = ledger.fills_for_seed(SOL.symbol, at(0), "paper")
        live = ledger.fills_for_seed(SOL.symbol, at(0), "lighter")
        other_market = ledger.fills_for_seed("ETH", at(0), "lighter")
    assert [fill.trade_id for fill in paper.recent] == ["1", "2"]
    assert [fill.trade_id for fill in live.recent] == ["3"]
    assert other_market.recent == () and other_market.position_units == 0.0


def test_windows_start_at_the_utc_day_or_one_hour_back_whichever_is_earlier() -> None:
    midnight = (at(0) // DAY_NS + 1) * DAY_NS
    assert seed_since_ns(midnight + 600 * NS, 3600 * NS) == midnight + 600 * NS - 3600 * NS
    assert seed_since_ns(midnight + 7200 * NS, 3600 * NS) == midnight


def test_yesterdays_losses_leave_the_day_but_stay_in_the_hour(tmp_path: Path) -> None:
    midnight = (at(0) // DAY_NS + 1) * DAY_NS
    seconds_to_midnight = (midnight - at(0)) / NS
    db = tmp_path / "solbot.db"
    first = PaperSession(db, "run-1", seconds_to_midnight - 1200)
    first.fill(seconds_to_midnight - 600, Side.BID, 140.0, 0.1)
    first.fill(seconds_to_midnight - 590, Side.ASK, 100.0, 0.1)  # -$4, ten minutes before 00:00
    first.close()
    second = PaperSession(db, "run-2", seconds_to_midnight + 600)
    second.step(seconds_to_midnight + 601)
    signals = second.session.engine.signals
    assert signals.get("realized_day_usd") == 0.0
    assert signals.get("realized_1h_usd") == pytest.approx(-4.0)
    assert signals.get("realized_5m_usd") == 0.0
    second.close()


# ----- FIFO open lots without a replay from the last flat moment ---------------------------------

fills_strategy = st.lists(
    st.tuples(
        st.sampled_from([Side.BID, Side.ASK]),
        st.integers(min_value=100, max_value=200),  # price
        st.integers(min_value=1, max_value=120),  # size in lots of 0.001
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(fills_strategy, st.integers(min_value=0, max_value=40))
def test_seeded_lots_equal_a_full_fifo_replay(raw: list[tuple[Side, int, int]], split: int) -> None:
    fills = [
        Fill("paper", str(n), at(n), SOL.symbol, side, float(price), size / 1000, Role.MAKER)
        for n, (side, price, size) in enumerate(raw)
    ]
    split = min(split, len(fills))
    full = FifoBook()
    for fill in fills:
        full.apply(fill)
    before = FifoBook()
    for fill in fills[:split]:
        before.apply(fill)
    position = round(before.position, 9)
    same_side = tuple(
        fill for fill in fills[:split] if position and int(fill.side) == (1 if position > 0 else -1)
    )
    expected_open = [(round(lot.size, 9), lot.price, lot.ts_ns) for lot in before.lots]
    got_open = [
        (round(lot.size, 9), lot.price, lot.ts_ns) for lot in opening_lots(position, same_side)
    ]
    assert got_open == expected_open
    state = rebuild(SeedFills(at(split), position, same_side, tuple(fills[split:])))
    assert [(round(lot.size, 9), lot.price) for lot in state.lots] == [
        (round(lot.size, 9), lot.price) for lot in full.lots
    ]
    replayed = FifoBook()
    for fill in fills[:split]:
        replayed.apply(fill)
    realized_after = [replayed.apply(fill) for fill in fills[split:]]
    assert [point.realized_usd for point in state.points] == pytest.approx(realized_after)


def test_day_drawdown_keeps_the_days_peak_over_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "solbot.db"
    first = PaperSession(db, "run-1", 0)
    first.fill(1, Side.BID, 100.0, 0.25)
    first.fill(2, Side.ASK, 180.0, 0.25)  # +$20: the day's peak
    first.fill(3, Side.BID, 180.0, 0.25)
    first.fill(4, Side.ASK, 140.0, 0.25)  # -$10
    first.close()
    second = PaperSession(db, "run-2", 60)
    second.step(61)
    signals = second.session.engine.signals
    assert signals.get("realized_day_usd") == pytest.approx(10.0)
    assert signals.get("drawdown_day_usd") == pytest.approx(10.0)
    assert signals.get("drawdown_usd") == 0.0  # the session's own peak starts now
    second.close()


# ----- the real start path: `solbot run` in paper mode against the loopback fake venue ----------


def test_paper_run_seeds_its_session_from_the_ledger(tmp_path: Path) -> None:
    import asyncio
    import time

    from fault_support import FakeVenue

    from solbot.app.live import LiveRunner, RunRequest

    db = tmp_path / "solbot.db"
    earlier = time.time_ns() - 2 * NS
    with Ledger(db) as ledger:
        for trade, side, price in (
            ("1", Side.BID, 140.0),
            ("2", Side.ASK, 60.0),
            ("3", Side.BID, 150.0),
        ):
            ledger.record_fill(
                Fill("paper-run-0", trade, earlier, SOL.symbol, side, price, 0.25, Role.TAKER)
            )
    with FakeVenue(synthetic=True) as fake:
        request = RunRequest(
            profile="base", rest_url=fake.base_url, ws_url=fake.ws_url, db=db, duration_s=1.0
        )
        runner = LiveRunner(request, on_status=lambda status: None)
        asyncio.run(runner.run())
    session = runner.session
    assert session is not None and runner.paper is not None
    engine = session.engine
    with Ledger(db) as ledger:  # what this run filled itself (the hedger may have got through)
        own = [fill for fill in ledger.fills() if fill.venue != "paper-run-0"]
    own_units = sum(fill.signed_size for fill in own)
    assert engine.fifo.position == pytest.approx(0.25 + own_units)  # the seeded 150 lot is in
    assert runner.paper.position_lots == engine.inventory_lots == SOL.size_to_lots(0.25 + own_units)
    if time.time_ns() // DAY_NS == earlier // DAY_NS:  # not across 00:00 UTC during the test
        expected = -20.0 + engine.fifo.net_realized_usd
        assert engine.signals.get("realized_day_usd") == pytest.approx(expected)


def test_an_old_fill_resent_after_a_seed_is_not_booked_again(tmp_path: Path) -> None:
    db = tmp_path / "solbot.db"
    first = PaperSession(db, "run-1", 0)
    first.fill(1, Side.BID, 140.0, 0.1)
    first.fill(2, Side.ASK, 141.0, 0.1)  # flat again
    first.close()
    later = PaperSession(db, "run-2", DAY_NS / NS + 60)  # older than every window: not read
    assert later.seeded.fill_keys == ()
    later.session.on_fill(  # the venue resends the old buy
        Fill("paper-run-1", "run-1-1", at(1), SOL.symbol, Side.BID, 140.0, 0.1, Role.TAKER)
    )
    assert later.session.engine.inventory_lots == 0
    assert later.session.stats.duplicate_fills == 1
    later.close()
