"""Telemetry reads a real Session built from the shipped profile; render() parses as Prometheus."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from solbot.adapters.telemetry import Telemetry
from solbot.app.session import Session
from solbot.config.compile import compile_policy
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.config.markets import resolve_market
from solbot.core.engine import CompiledPolicy
from solbot.core.model import Command, Fill, Role, Side
from solbot.core.rules import RuleState

REPO = Path(__file__).resolve().parent.parent
NS = 1_000_000_000
T0_NS = 1_700_000_000 * NS  # far from a UTC day boundary
ENTRY = resolve_market("SOL")
MARKET = ENTRY.key

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@cache
def base_policy() -> CompiledPolicy:
    return compile_policy(resolve_profile("base", ConfigDir(REPO)), ENTRY.spec)


class RecordingVenue:
    """Accepts commands and keeps them; no fills of its own."""

    def __init__(self) -> None:
        self.batches: list[list[Command]] = []

    def submit(self, commands: Sequence[Command], now_ns: int) -> None:
        self.batches.append(list(commands))


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_telemetry() -> Telemetry:
    """A telemetry whose clock stands still, so ages equal what the session reported."""
    return Telemetry(MARKET, "base", CollectorRegistry(), monotonic=FakeMonotonic())


def at(seconds: float) -> int:
    return T0_NS + round(seconds * NS)


def new_session() -> Session:
    session = Session(base_policy(), market_key=MARKET)
    session.attach(RecordingVenue())
    return session


def feed_books(session: Session, start_s: int, end_s: int, bid: int = 139_990) -> None:
    """One book event per second (SOL has 3 price decimals: 139_990 ticks = $139.99)."""
    for second in range(start_s, end_s):
        session.on_book(at(second), at(second), bid, 1000, bid + 20, 1000)


def fill(trade_id: str, seconds: float, side: Side, price: float, size: float) -> Fill:
    return Fill(
        venue="test",
        trade_id=trade_id,
        ts_ns=at(seconds),
        market="SOL",
        side=side,
        price=price,
        size=size,
        role=Role.MAKER,
        fee_usd=0.002,
    )


def samples(telemetry: Telemetry) -> Samples:
    text = telemetry.render().decode()
    parsed: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            parsed[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return parsed


def value(parsed: Samples, name: str, **labels: str) -> float:
    return parsed[(name, frozenset({"market": MARKET, **labels}.items()))]


def labelled(parsed: Samples, name: str, label: str) -> dict[str, float]:
    return {
        dict(key)[label]: number
        for (metric, key), number in parsed.items()
        if metric == name and label in dict(key)
    }


@pytest.fixture
def traded() -> Session:
    """20 s of books, a buy, the same buy resent, a partial sell."""
    session = new_session()
    feed_books(session, 0, 20)
    session.on_fill(fill("1", 20.1, Side.BID, 140.0, 0.1))
    session.on_fill(fill("1", 20.1, Side.BID, 140.0, 0.1))  # venue resend
    session.on_fill(fill("2", 20.2, Side.ASK, 141.0, 0.04))
    feed_books(session, 21, 23)
    return session


def test_pnl_inventory_and_fill_counters_come_from_the_session(traded: Session) -> None:
    telemetry = make_telemetry()
    telemetry.update_from_session(traded, at(22.5))
    parsed = samples(telemetry)
    mid = 140.0
    assert value(parsed, "solbot_fifo_realized_usd") == pytest.approx(0.04 * 1.0)
    assert value(parsed, "solbot_fifo_realized_net_usd") == pytest.approx(0.04 - 0.004)
    assert value(parsed, "solbot_fees_usd") == pytest.approx(0.004)
    assert value(parsed, "solbot_cash_flow_usd") == pytest.approx(-14.0 + 5.64 - 0.004)
    assert value(parsed, "solbot_inventory_units") == pytest.approx(0.06)
    assert value(parsed, "solbot_inventory_usd") == pytest.approx(0.06 * mid)
    assert value(parsed, "solbot_unrealized_usd") == pytest.approx(0.06 * (mid - 140.0))
    assert value(parsed, "solbot_mid_usd") == pytest.approx(mid)
    assert value(parsed, "solbot_fills_total", role="maker") == 2
    assert value(parsed, "solbot_fills_total", role="taker") == 0
    assert value(parsed, "solbot_duplicate_fills_total") == 1
    assert value(parsed, "solbot_volume_usd_total") == pytest.approx(14.0 + 5.64)
    assert value(parsed, "solbot_realized_window_usd", window="5m") == pytest.approx(0.036)
    assert value(parsed, "solbot_decisions_total") == traded.stats.decisions > 0
    assert value(parsed, "solbot_market_data_age_seconds") == pytest.approx(0.5)


def test_rule_regime_hedger_and_order_gauges_mirror_the_engine(traded: Session) -> None:
    telemetry = make_telemetry()
    telemetry.update_from_session(traded, at(22.5))
    parsed = samples(telemetry)
    engine = traded.engine
    rules = engine.machines.rules
    active = labelled(parsed, "solbot_rule_active", "rule")
    assert set(active) == {rule.id for rule in rules}
    assert {"trend.down", "pnl.guard", "vol.high_pause"} <= set(active)
    expected = {
        rule.id: float(engine.machines.state[index] == RuleState.ACTIVE)
        for index, rule in enumerate(rules)
    }
    assert active == expected
    assert active["inventory.tier3"] == 1.0  # 0.06 units is above the 0.03 tier
    activations = labelled(parsed, "solbot_rule_activations_total", "rule")
    assert activations["inventory.tier3"] >= 1
    regimes = labelled(parsed, "solbot_regime", "name")
    assert set(regimes) == set(base_policy().params_by_regime)
    assert [name for name, flag in regimes.items() if flag == 1.0] == [engine.regime]
    aggressive = value(parsed, "solbot_regime_aggressive")
    assert aggressive == float(engine.regime == "aggressive")
    modes = labelled(parsed, "solbot_hedger_mode", "mode")
    assert traded.last_plan is not None
    assert modes == {
        mode: float(mode == traded.last_plan.hedge.mode)
        for mode in ("passive", "aggressive", "emergency", "idle")
    }
    assert traded.last_plan.hedge.mode != "idle"  # 0.06 units is above the hedge trigger
    assert value(parsed, "solbot_hedger_emergency") == float(
        traded.last_plan.hedge.mode == "emergency"
    )
    assert traded.orders is not None
    assert value(parsed, "solbot_open_orders") == len(traded.orders.orders)
    assert value(parsed, "solbot_tx_budget_left") == engine.tx_budget_left


def test_missing_signals_are_nan_not_zero() -> None:
    session = new_session()
    telemetry = make_telemetry()
    telemetry.update_from_session(session, at(0))
    parsed = samples(telemetry)
    for name in ("solbot_mid_usd", "solbot_volatility_bps", "solbot_sigma_1m_bps"):
        assert math.isnan(value(parsed, name)), name
    assert math.isnan(value(parsed, "solbot_market_data_age_seconds"))
    assert math.isnan(value(parsed, "solbot_decision_age_seconds"))
    assert value(parsed, "solbot_inventory_usd") == 0.0  # flat: zero is the truth, not unknown
    feed_books(session, 0, 12)  # two 5 s volatility samples: vol ready; sigma needs 30 s
    telemetry.update_from_session(session, at(12))
    parsed = samples(telemetry)
    assert math.isfinite(value(parsed, "solbot_volatility_bps"))
    assert math.isnan(value(parsed, "solbot_sigma_1m_bps"))


def test_stale_feed_rule_shows_active_and_counted() -> None:
    session = new_session()
    feed_books(session, 0, 3)
    session.tick(at(20))  # no data for 17 s: feed.stale (limit 5 s) fires
    telemetry = make_telemetry()
    telemetry.update_from_session(session, at(20))
    parsed = samples(telemetry)
    assert value(parsed, "solbot_rule_active", rule="feed.stale") == 1.0
    assert value(parsed, "solbot_rule_activations_total", rule="feed.stale") == 1.0
    assert value(parsed, "solbot_market_data_age_seconds") == pytest.approx(18.0)


def test_guard_block_gauges_follow_a_crossed_book() -> None:
    session = new_session()
    feed_books(session, 0, 3)
    for second in range(3, 7):
        session.on_book(at(second), at(second), 140_020, 1000, 140_000, 1000)  # crossed
    telemetry = make_telemetry()
    telemetry.update_from_session(session, at(6.5))
    parsed = samples(telemetry)
    assert value(parsed, "solbot_guard_block_active") == 1.0
    since = session.engine.risk_state.block_since_ns
    assert value(parsed, "solbot_guard_block_seconds") == pytest.approx((at(6.5) - since) / NS)
    assert value(parsed, "solbot_risk_denials_total") >= 1
    feed_books(session, 7, 9)
    telemetry.update_from_session(session, at(8.5))
    parsed = samples(telemetry)
    assert value(parsed, "solbot_guard_block_active") == 0.0
    assert value(parsed, "solbot_guard_block_seconds") == 0.0


def test_counters_latency_histogram_and_venue_state() -> None:
    clock = FakeMonotonic()
    telemetry = Telemetry(MARKET, "base", CollectorRegistry(), monotonic=clock)
    telemetry.count_reconnect()
    telemetry.count_reconnect()
    telemetry.count_resync()
    for seconds in (0.0002, 0.0004, 0.003, 2.0, float("nan"), -1.0):
        telemetry.observe_decision_latency(seconds)
    telemetry.set_venue(
        connected=True, book_valid=False, feed_age_s=1.5, latched=False, book_age_s=1.5
    )
    clock.now += 2.0
    parsed = samples(telemetry)
    assert value(parsed, "solbot_ws_reconnects_total") == 2
    assert value(parsed, "solbot_book_resyncs_total") == 1
    assert value(parsed, "solbot_decision_latency_seconds_count") == 4  # NaN, negative ignored
    assert value(parsed, "solbot_decision_latency_seconds_sum") == pytest.approx(2.0036)
    assert value(parsed, "solbot_decision_latency_seconds_bucket", le="0.0005") == 2
    assert value(parsed, "solbot_decision_latency_seconds_bucket", le="1.0") == 3
    assert value(parsed, "solbot_decision_latency_seconds_bucket", le="+Inf") == 4
    assert value(parsed, "solbot_venue_connected") == 1.0
    assert value(parsed, "solbot_book_valid") == 0.0
    assert value(parsed, "solbot_feed_age_seconds") == pytest.approx(3.5)  # aged since report
    assert value(parsed, "solbot_uptime_seconds") == pytest.approx(2.0)
    assert value(parsed, "solbot_kill_latched") == 0.0
    telemetry.set_venue(
        connected=False, book_valid=False, feed_age_s=float("nan"), latched=True, book_age_s=None
    )
    parsed = samples(telemetry)
    assert value(parsed, "solbot_kill_latched") == 1.0
    assert math.isnan(value(parsed, "solbot_feed_age_seconds"))
    assert telemetry.status().feed_age_s is None


def test_a_halted_session_reports_latched_without_the_venue_saying_so(traded: Session) -> None:
    telemetry = make_telemetry()
    traded.halted = True
    telemetry.update_from_session(traded, at(22.5))
    assert value(samples(telemetry), "solbot_kill_latched") == 1.0
    assert telemetry.status().latched


def test_activation_totals_survive_a_hot_reload() -> None:
    session = new_session()
    feed_books(session, 0, 3)
    session.tick(at(20))
    telemetry = make_telemetry()
    telemetry.update_from_session(session, at(20))
    before = value(samples(telemetry), "solbot_rule_activations_total", rule="feed.stale")
    session.engine.replace_policy(base_policy())  # new rule machines, timers from IDLE
    feed_books(session, 21, 23)
    session.tick(at(40))
    telemetry.update_from_session(session, at(40))
    after = value(samples(telemetry), "solbot_rule_activations_total", rule="feed.stale")
    assert before == 1.0
    assert after == 2.0  # the old machines' count plus the new one, never a drop


def test_each_run_has_its_own_registry_and_info_labels(traded: Session) -> None:
    first = Telemetry(MARKET, "base")
    second = Telemetry(MARKET, "base")  # the global registry would refuse a duplicate
    assert first.registry is not second.registry
    first.update_from_session(traded, at(22.5))
    policy = base_policy()
    parsed = samples(first)
    info = value(
        parsed,
        "solbot_info",
        profile="base",
        profile_sha256=policy.profile_sha256,
        ruleset_sha256=policy.ruleset_sha256,
    )
    assert info == 1.0
    assert value(parsed, "solbot_up") == 1.0
    assert math.isnan(value(samples(second), "solbot_fifo_realized_usd"))


def test_update_does_not_change_what_the_engine_decides() -> None:
    watched, plain = new_session(), new_session()
    telemetry = make_telemetry()
    for session in (watched, plain):
        feed_books(session, 0, 10)
    for second in range(10, 70):
        telemetry.update_from_session(watched, at(second + 0.5))
        for session in (watched, plain):
            session.on_book(at(second), at(second), 139_990 - second, 1000, 140_010, 1000)
    assert watched.stats == plain.stats
    assert watched.last_plan == plain.last_plan


def test_inventory_clock_and_drawdown_gauges_follow_their_signals() -> None:
    session = new_session()
    feed_books(session, 0, 5)
    session.on_fill(fill("1", 5.0, Side.BID, 140.0, 0.2))  # over the 0.05 trigger from t = 5
    feed_books(session, 5, 10, bid=138_990)  # mid 139.00: 0.2 x -1.00 unrealized
    telemetry = make_telemetry()
    telemetry.update_from_session(session, at(9))
    parsed = samples(telemetry)
    signals = session.engine.signals
    assert value(parsed, "solbot_over_trigger_seconds") == signals.get("over_trigger_s") > 0
    assert value(parsed, "solbot_drawdown_usd") == pytest.approx(signals.get("drawdown_usd"))
    assert value(parsed, "solbot_drawdown_day_usd") == pytest.approx(0.2 + 0.002, abs=1e-6)


ORIGINAL_MIRRORS = {  # the original bot's gauge -> the solbot series it must equal
    "maker_regime_state": "solbot_regime_aggressive",
    "maker_fifo_realized_quote": "solbot_fifo_realized_net_usd",
    "maker_fifo_realized_quote_market_2": "solbot_fifo_realized_net_usd",
    "maker_guard_block_active": "solbot_guard_block_active",
    "hedger_guard_emergency": "solbot_hedger_emergency",
    "maker_volatility_bps": "solbot_volatility_bps",
}


def test_the_original_gauge_names_are_real_series(traded: Session) -> None:
    """Its Grafana panels and alerts query these names: they must exist and carry the truth."""
    telemetry = make_telemetry()
    telemetry.update_from_session(traded, at(22.5))
    parsed = samples(telemetry)
    for original, mirror in ORIGINAL_MIRRORS.items():
        expected = value(parsed, mirror)
        got = value(parsed, original)
        assert got == pytest.approx(expected, nan_ok=True), original
    assert value(parsed, "maker_fifo_realized_quote") == pytest.approx(0.04 - 0.004)
    assert value(parsed, "maker_pnl_guard_realized_window") == pytest.approx(0.036)
    active = labelled(parsed, "solbot_rule_active", "rule")
    assert value(parsed, "maker_pnl_guard_active") == active["pnl.guard"]
    assert value(parsed, "maker_trend_down_guard") == max(
        active["trend.down"], active["trend.fast_down"]
    )
    assert value(parsed, "maker_volatility_paused") == active["vol.high_pause"]
    assert value(parsed, "maker_low_volatility_paused") == active["vol.low_pause"]
    mode = traded.last_plan.hedge.mode if traded.last_plan else None
    assert value(parsed, "hedger_force_aggressive") == float(mode == "aggressive")
    assert value(parsed, "uptime_seconds") >= 0
    assert value(parsed, "app_start_ts") > 1.7e9


def test_original_guard_block_gauge_follows_a_crossed_book() -> None:
    session = new_session()
    feed_books(session, 0, 3)
    for second in range(3, 7):
        session.on_book(at(second), at(second), 140_020, 1000, 140_000, 1000)  # crossed
    telemetry = make_telemetry()
    telemetry.update_from_session(session, at(6.5))
    assert value(samples(telemetry), "maker_guard_block_active") == 1.0


def test_duplicates_the_venue_adapter_dropped_are_counted(traded: Session) -> None:
    telemetry = make_telemetry()
    telemetry.update_from_session(traded, at(22.5))
    telemetry.set_venue_duplicate_fills(3)  # resent fills the stream parser dropped
    assert value(samples(telemetry), "solbot_duplicate_fills_total") == 1 + 3
    telemetry.update_from_session(traded, at(22.6))
    assert value(samples(telemetry), "solbot_duplicate_fills_total") == 1 + 3
