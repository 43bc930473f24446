"""Session bookkeeping of rule outcomes and guard denials as typed data."""

from __future__ import annotations

from dataclasses import replace

from policy_helpers import SOL, at, shipped_policy

from solbot.adapters.venues.simulated import FillModelSettings, SimulatedExchange
from solbot.app.session import Session
from solbot.core.decision import AlertOutcome, KillOutcome
from solbot.core.risk import DenialReason


def _naive_session(price_band_bps: float) -> tuple[Session, SimulatedExchange]:
    policy = shipped_policy("naive")
    policy = replace(policy, risk=replace(policy.risk, price_band_bps=price_band_bps))
    session = Session(policy, market_key=SOL.symbol)
    venue = SimulatedExchange(policy.market, FillModelSettings(), session, venue_name="sim-test")
    session.attach(venue)
    return session, venue


def test_denial_counters_are_keyed_by_kind_not_by_a_message_with_the_price() -> None:
    """A long run denies at thousands of prices: the counters must not grow with them."""
    session, venue = _naive_session(price_band_bps=1.0)  # a 12 bps spread is always outside
    for step in range(200):
        ts = at(step * 0.5)
        bid = 150_000 + 7 * step  # the mid moves every step, so the denied prices differ
        venue.advance(ts)
        venue.on_book(ts, ts, bid, 10_000, bid + 10, 10_000)
        session.on_book(ts, ts, bid, 10_000, bid + 10, 10_000)
    denials = session.stats.denials
    assert set(denials) == {DenialReason.PRICE_BAND}
    assert denials[DenialReason.PRICE_BAND] >= 2 * 150  # both sides, after the warm-up


def test_kill_and_alert_outcomes_are_typed() -> None:
    kill = KillOutcome("pnl.daily_kill", "daily realized loss limit")
    alert = AlertOutcome("feed.stale", "warning", "market data stale: level:colon kept")
    assert kill.describe() == "kill daily realized loss limit"
    assert alert.level == "warning" and alert.message.endswith("level:colon kept")
