"""Prometheus metrics of one run, read from the session and its engine.

Every run gets its own CollectorRegistry (never prometheus_client's global one), so tests and a
restarted session never collide. Values are read, never written: telemetry must not change what
the engine decides. A signal that is not ready is exported as NaN, never as a plausible 0.
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from solbot.core.decision import TradingState
from solbot.core.engine import CompiledPolicy, Engine, Plan
from solbot.core.orders import OrderManager
from solbot.core.rules import RuleMachines, RuleState
from solbot.core.signals import SignalSettings

NS = 1_000_000_000
NAN = float("nan")
HEDGE_MODES = ("passive", "aggressive", "emergency", "idle")
TRADING_STATES = tuple(state.value for state in TradingState)


def realized_windows(settings: SignalSettings) -> list[tuple[str, str]]:
    """(window label, signal) of solbot_realized_window_usd: the profile's realized windows,
    shortest first (`5m` for realized_5m_usd), then the PnL day."""
    rolling = sorted(settings.realized_windows, key=lambda item: (item[1], item[0]))
    labels = [(name.removeprefix("realized_").removesuffix("_usd"), name) for name, _ in rolling]
    return [*labels, ("day", "realized_day_usd")]


# From a fraction of a millisecond (a calm tick) up to a second (something is badly wrong).
LATENCY_BUCKETS_S = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip

PLAIN_GAUGES: tuple[tuple[str, str], ...] = (
    ("solbot_up", "1 while the bot process runs and serves metrics."),
    ("solbot_uptime_seconds", "Seconds since telemetry started (original uptime_seconds)."),
    ("solbot_regime_aggressive", "1 when the aggressive regime is active, else 0."),
    ("solbot_fifo_realized_usd", "FIFO realized PnL of the session, gross of fees."),
    ("solbot_fifo_realized_net_usd", "FIFO realized PnL minus fees (original's FIFO gauge)."),
    ("solbot_fees_usd", "Fees paid in the session (negative = rebates)."),
    ("solbot_funding_usd", "Funding received (+) or paid (-) in the session."),
    ("solbot_cash_flow_usd", "Cash flow of the session, fees included (NOT PnL)."),
    ("solbot_unrealized_usd", "Unrealized PnL of the open FIFO lots at mid (NaN without a mid)."),
    ("solbot_inventory_units", "Signed position in base units (long > 0)."),
    ("solbot_inventory_usd", "Signed position valued at mid (NaN without a mid)."),
    ("solbot_mid_usd", "Mid price of the best bid and ask (NaN before the first book)."),
    ("solbot_guard_block_active", "1 while the risk guard blocks quoting on some side."),
    ("solbot_guard_block_seconds", "How long the current guard block has lasted (0 when none)."),
    ("solbot_hedger_emergency", "1 when the hedger's last plan was in emergency mode."),
    ("solbot_open_orders", "Orders of ours the order manager believes are resting."),
    ("solbot_tx_budget_left", "Transactions left in the rolling one-minute budget."),
    ("solbot_kill_latched", "1 when a kill rule is latched (needs an acknowledgement)."),
    ("solbot_venue_connected", "1 when the venue reports its market-data stream connected."),
    ("solbot_book_valid", "1 when the venue reports the order book consistent."),
    ("solbot_feed_age_seconds", "Age of the venue's last frame of any kind (NaN if unknown)."),
    ("solbot_book_age_seconds", "Age of the last order book frame applied (NaN if unknown)."),
    ("solbot_account_stream_live", "1 while the venue's account stream (our fills) is live."),
    ("solbot_market_data_age_seconds", "Age of the last book event the session saw."),
    ("solbot_decision_age_seconds", "Age of the session's last decision (NaN before one)."),
)
# (metric, catalog signal, help)
SIGNAL_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("solbot_volatility_bps", "vol_ema_bps", "Volatility: EMA of absolute mid returns (bps)."),
    ("solbot_sigma_1m_bps", "sigma_1m_bps", "One-minute sigma of mid returns (bps)."),
    ("solbot_vol_percentile", "vol_percentile", "Percentile of volatility in its window."),
    ("solbot_trend_ema_bps", "trend_ema_bps", "Distance of mid from its trend EMA (bps)."),
    ("solbot_market_spread_bps", "spread_bps", "Market spread at the top of book (bps)."),
    (
        "solbot_over_trigger_seconds",
        "over_trigger_s",
        "Seconds |inventory| has stayed over the hedger trigger without a new low.",
    ),
    ("solbot_drawdown_usd", "drawdown_usd", "Realized + unrealized PnL below its session peak."),
    (
        "solbot_drawdown_day_usd",
        "drawdown_day_usd",
        "Realized + unrealized PnL below its peak of the UTC day (kept over restarts).",
    ),
)
# The original bot's gauge names (original-system.md §5), exported as real series so its
# Grafana panels and alerts keep working. Each reads the same state as a solbot_* series.
RULE_FLAGS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("maker_trend_down_guard", ("trend.down", "trend.fast_down"), "1 in a downtrend guard."),
    (
        "maker_trend_down_cooldown_active",
        ("trend.down",),
        "1 while the downtrend rule (and its cooldown timer) is active.",
    ),
    ("maker_pnl_guard_active", ("pnl.guard",), "1 while the PnL guard widens and shrinks quotes."),
    ("maker_volatility_paused", ("vol.high_pause",), "1 while quoting is paused on high vol."),
    ("maker_low_volatility_paused", ("vol.low_pause",), "1 while quoting is paused on low vol."),
    ("maker_high_vol_clip_active", ("vol.high_clip", "vol.clip_curve"), "1 while size is clipped."),
)
ORIGINAL_GAUGES: tuple[tuple[str, str], ...] = (
    ("uptime_seconds", "Seconds since telemetry started (= solbot_uptime_seconds)."),
    ("app_start_ts", "Unix time the run started."),
    ("maker_regime_state", "1 in the aggressive regime, 0 otherwise (= solbot_regime_aggressive)."),
    (
        "maker_fifo_realized_quote",
        "FIFO realized PnL net of fees (= solbot_fifo_realized_net_usd).",
    ),
    (
        "maker_pnl_guard_realized_window",
        "FIFO realized PnL over the shortest signals.realized_windows window (5 min by default), "
        "net of fees.",
    ),
    (
        "maker_guard_block_active",
        "1 while the risk guard blocks quoting (= solbot_guard_block_active).",
    ),
    ("maker_volatility_bps", "Volatility EMA in bps (= solbot_volatility_bps)."),
    ("maker_quote_size", "Size of the last quote in base units (NaN before one)."),
    ("maker_trend_bias", "+1 in an uptrend, -1 in a downtrend, 0 otherwise."),
    (
        "hedger_guard_emergency",
        "1 when the hedger is in emergency mode (= solbot_hedger_emergency).",
    ),
    ("hedger_force_aggressive", "1 when the hedger crosses the spread (aggressive mode)."),
    *((name, documentation) for name, _, documentation in RULE_FLAGS),
)
# Totals that live in the session; exported with counter semantics by a custom collector.
SNAPSHOT_COUNTERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("solbot_fills_total", "Fills booked (each trade id once), by role.", ("role",)),
    ("solbot_volume_usd_total", "Notional of booked fills in USD.", ()),
    ("solbot_duplicate_fills_total", "Fills the venue resent and the session ignored.", ()),
    ("solbot_decisions_total", "Decisions the engine made.", ()),
    ("solbot_commands_total", "Order commands sent to the venue.", ()),
    ("solbot_alerts_total", "Rule alerts raised (edge-triggered).", ()),
    ("solbot_risk_denials_total", "Quotes the risk guard denied or shrank.", ()),
    ("solbot_order_rejections_total", "Orders the venue rejected.", ()),
    ("solbot_rule_activations_total", "Times each rule became active.", ("rule",)),
    ("solbot_regime_switches_total", "Regime switches of the engine.", ()),
    ("solbot_ws_reconnects_total", "WebSocket reconnects of the venue's streams.", ()),
    ("solbot_book_resyncs_total", "Order book resyncs (snapshot refetch after a gap).", ()),
)
LATENCY_METRIC = "solbot_decision_latency_seconds"
LATENCY_HELP = "Wall time of one decision and the commands it sent."


class StatsView(Protocol):
    """The session totals telemetry reads (solbot.app.session.SessionStats)."""

    @property
    def maker_fills(self) -> int: ...
    @property
    def taker_fills(self) -> int: ...
    @property
    def volume_usd(self) -> float: ...
    @property
    def duplicate_fills(self) -> int: ...
    @property
    def decisions(self) -> int: ...
    @property
    def commands(self) -> int: ...
    @property
    def alerts(self) -> int: ...
    @property
    def denials(self) -> Mapping[Any, int]: ...  # keyed by denial kind; only summed here
    @property
    def rejections(self) -> Mapping[str, int]: ...


class SessionView(Protocol):
    """What telemetry reads from a session (solbot.app.session.Session; adapters may not import
    app, so the shape is stated here)."""

    @property
    def engine(self) -> Engine: ...
    @property
    def policy(self) -> CompiledPolicy: ...
    @property
    def stats(self) -> StatsView: ...
    @property
    def orders(self) -> OrderManager | None: ...
    @property
    def last_plan(self) -> Plan | None: ...
    @property
    def halted(self) -> bool: ...


@dataclass(frozen=True)
class TelemetryStatus:
    """What /health reports; ages are brought up to the moment of the call."""

    market: str
    profile: str
    venue_reported: bool
    venue_connected: bool
    book_valid: bool
    latched: bool
    feed_age_s: float | None
    book_age_s: float | None
    account_live: bool
    account_stream: str
    market_data_age_s: float | None
    decision_age_s: float | None
    uptime_s: float


class _Age:
    """An age measured elsewhere that keeps growing until it is measured again.

    If the loop that reports it stalls, the exported age grows instead of freezing at a fresh
    value: a stuck bot must not look healthy.
    """

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._value: float | None = None
        self._at = 0.0

    def set(self, value_s: float | None) -> None:
        if value_s is None or not math.isfinite(value_s):
            self._value = None
        else:
            self._value = max(0.0, value_s)
        self._at = self._monotonic()

    def now(self) -> float | None:
        if self._value is None:
            return None
        return self._value + max(0.0, self._monotonic() - self._at)

    def gauge_value(self) -> float:
        value = self.now()
        return NAN if value is None else value


class _SnapshotCounters(Collector):
    """Counters whose running totals are kept by the session, exposed as they were last read."""

    def __init__(self, market: str) -> None:
        self.market = market
        self.values: dict[str, dict[tuple[str, ...], float]] = {
            name: {} for name, _, _ in SNAPSHOT_COUNTERS
        }

    def collect(self) -> Iterator[CounterMetricFamily]:
        for name, documentation, labels in SNAPSHOT_COUNTERS:
            family = CounterMetricFamily(name, documentation, labels=["market", *labels])
            for label_values, value in sorted(self.values[name].items()):
                family.add_metric([self.market, *label_values], value)
            yield family

    def describe(self) -> Iterator[CounterMetricFamily]:
        for name, documentation, labels in SNAPSHOT_COUNTERS:
            yield CounterMetricFamily(name, documentation, labels=["market", *labels])


class _LatencyHistogram(Collector):
    """Decision latency; hand-rolled so no `_created` series or global switch is needed."""

    def __init__(self, market: str) -> None:
        self.market = market
        self.bounds = LATENCY_BUCKETS_S
        self.counts = [0] * (len(self.bounds) + 1)  # the last bucket is +Inf
        self.total_s = 0.0

    def observe(self, seconds: float) -> None:
        position = bisect.bisect_left(self.bounds, seconds)  # le: a value on a bound belongs to it
        self.counts[position] += 1
        self.total_s += seconds

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(LATENCY_METRIC, LATENCY_HELP, labels=["market"])
        cumulative = list(itertools.accumulate(self.counts))
        bounds = [*(repr(bound) for bound in self.bounds), "+Inf"]
        family.add_metric([self.market], list(zip(bounds, cumulative, strict=True)), self.total_s)
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(LATENCY_METRIC, LATENCY_HELP, labels=["market"])


class _Activations:
    """Per-rule activation totals that survive a hot reload (which builds new rule machines)."""

    def __init__(self) -> None:
        self._machines: RuleMachines | None = None
        self._earlier: dict[str, int] = {}

    def totals(self, machines: RuleMachines) -> dict[str, int]:
        previous = self._machines
        if previous is not None and previous is not machines:
            for index, rule in enumerate(previous.rules):
                self._earlier[rule.id] = self._earlier.get(rule.id, 0) + previous.activations[index]
        self._machines = machines
        totals = dict(self._earlier)
        for index, rule in enumerate(machines.rules):
            totals[rule.id] = totals.get(rule.id, 0) + machines.activations[index]
        return totals


class Telemetry:
    """The metrics of one run; the live loop calls `update_from_session` about once a second."""

    def __init__(
        self,
        market: str,
        profile: str,
        registry: CollectorRegistry | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.market = market
        self.profile = profile
        self.registry = registry if registry is not None else CollectorRegistry()
        self._monotonic = monotonic
        self._started = monotonic()
        self._venue_reported = False
        self._venue_connected = False
        self._book_valid = False
        self._venue_latched = False
        self._session_latched = False
        self._feed_age = _Age(monotonic)
        self._book_age = _Age(monotonic)
        self._account_live = False
        self._account_stream = "unknown"
        self._market_data_age = _Age(monotonic)
        self._decision_age = _Age(monotonic)
        self._activations = _Activations()
        self._rule_ids: tuple[str, ...] | None = None
        self._regime_names: tuple[str, ...] | None = None
        self._info_key: tuple[str, str] | None = None
        self._build_metrics()

    # ----- construction --------------------------------------------------------------------------

    def _gauge(self, name: str, documentation: str, *labels: str) -> Gauge:
        return Gauge(name, documentation, ["market", *labels], registry=self.registry)

    def _build_metrics(self) -> None:
        market = self.market
        self._plain = {
            name: self._gauge(name, documentation).labels(market)
            for name, documentation in PLAIN_GAUGES
        }
        self._signals = {
            name: self._gauge(name, documentation).labels(market)
            for name, _, documentation in SIGNAL_GAUGES
        }
        for gauge in self._signals.values():
            gauge.set(NAN)
        self._info = self._gauge(
            "solbot_info", "Profile and rule hashes of the run (value 1).",
            "profile", "profile_sha256", "ruleset_sha256",
        )  # fmt: skip
        self._regime = self._gauge("solbot_regime", "1 for the current regime.", "name")
        self._rule_active = self._gauge("solbot_rule_active", "1 while a rule is active.", "rule")
        self._hedger_mode = self._gauge("solbot_hedger_mode", "1 for the hedger's mode.", "mode")
        self._state = self._gauge("solbot_trading_state", "1 for the trading state.", "state")
        self._realized_window = self._gauge(
            "solbot_realized_window_usd", "FIFO realized PnL over a window.", "window"
        )
        self._original = {
            name: self._gauge(name, documentation).labels(market)
            for name, documentation in ORIGINAL_GAUGES
        }
        # the original's per-market copy of its FIFO gauge (market_N = the venue's market id)
        self._fifo_by_market: Gauge | None = None
        self._counters = _SnapshotCounters(market)
        self.registry.register(self._counters)
        self._latency = _LatencyHistogram(market)
        self.registry.register(self._latency)
        self._reconnects = 0
        self._resyncs = 0
        self._session_duplicates = 0
        self._venue_duplicates = 0
        self._init_values()

    def _init_values(self) -> None:
        plain = self._plain
        for name in plain:
            plain[name].set(NAN)
        plain["solbot_up"].set(1.0)
        plain["solbot_venue_connected"].set(0.0)
        plain["solbot_book_valid"].set(0.0)
        plain["solbot_uptime_seconds"].set_function(lambda: self._monotonic() - self._started)
        for gauge in self._original.values():
            gauge.set(NAN)
        self._original["uptime_seconds"].set_function(lambda: self._monotonic() - self._started)
        self._original["app_start_ts"].set(time.time())
        plain["solbot_kill_latched"].set_function(lambda: 1.0 if self._latched() else 0.0)
        plain["solbot_feed_age_seconds"].set_function(self._feed_age.gauge_value)
        plain["solbot_book_age_seconds"].set_function(self._book_age.gauge_value)
        plain["solbot_account_stream_live"].set(0.0)
        plain["solbot_market_data_age_seconds"].set_function(self._market_data_age.gauge_value)
        plain["solbot_decision_age_seconds"].set_function(self._decision_age.gauge_value)
        self._counters.values["solbot_ws_reconnects_total"] = {(): 0.0}
        self._counters.values["solbot_book_resyncs_total"] = {(): 0.0}
        for mode in HEDGE_MODES:
            self._hedger_mode.labels(self.market, mode).set(0.0)
        for state in TRADING_STATES:
            self._state.labels(self.market, state).set(0.0)

    # ----- inputs from the live loop -------------------------------------------------------------

    def update_from_session(self, session: SessionView, now_ns: int) -> None:
        """Read the session and its engine at `now_ns` (the live loop's clock)."""
        engine = session.engine
        self._update_info(session.policy)
        self._update_pnl(engine)
        self._update_signals(engine, now_ns)
        self._update_rules(engine)
        self._update_plan(session, now_ns)
        self._update_counters(session)
        self._update_original(session)
        self._session_latched = session.halted or bool(engine.machines.latched)

    def count_reconnect(self) -> None:
        self._reconnects += 1
        self._counters.values["solbot_ws_reconnects_total"] = {(): float(self._reconnects)}

    def count_resync(self) -> None:
        self._resyncs += 1
        self._counters.values["solbot_book_resyncs_total"] = {(): float(self._resyncs)}

    def set_venue_duplicate_fills(self, total: int) -> None:
        """Our fills the venue's stream sent again and its adapter dropped before the session
        (the session counts the ones that reach it); both are duplicates the venue sent."""
        self._venue_duplicates = total
        self._export_duplicates()

    def _export_duplicates(self) -> None:
        total = self._session_duplicates + self._venue_duplicates
        self._counters.values["solbot_duplicate_fills_total"] = {(): float(total)}

    def observe_decision_latency(self, seconds: float) -> None:
        """One decision's wall time; nonsense (negative, NaN) is ignored, not recorded."""
        if math.isfinite(seconds) and seconds >= 0.0:
            self._latency.observe(seconds)

    def set_venue(
        self,
        connected: bool,
        book_valid: bool,
        feed_age_s: float | None,
        latched: bool,
        *,
        book_age_s: float | None,
        account_stream: str = "none",
        account_live: bool = True,
    ) -> None:
        """The venue's view: connection, book, age of its last frame and of its last book frame
        (None/NaN = unknown), the account stream's state (paper runs have none: live)."""
        self._venue_reported = True
        self._book_age.set(book_age_s)
        self._account_live = account_live
        self._account_stream = account_stream
        self._plain["solbot_account_stream_live"].set(1.0 if account_live else 0.0)
        self._venue_connected = connected
        self._book_valid = book_valid
        self._venue_latched = latched
        self._feed_age.set(feed_age_s)
        self._plain["solbot_venue_connected"].set(1.0 if connected else 0.0)
        self._plain["solbot_book_valid"].set(1.0 if book_valid else 0.0)

    # ----- outputs -------------------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text exposition of this run's registry."""
        return generate_latest(self.registry)

    def status(self) -> TelemetryStatus:
        """Health inputs, with every age brought up to now."""
        return TelemetryStatus(
            market=self.market,
            profile=self.profile,
            venue_reported=self._venue_reported,
            venue_connected=self._venue_connected,
            book_valid=self._book_valid,
            latched=self._latched(),
            feed_age_s=self._feed_age.now(),
            book_age_s=self._book_age.now(),
            account_live=self._account_live,
            account_stream=self._account_stream,
            market_data_age_s=self._market_data_age.now(),
            decision_age_s=self._decision_age.now(),
            uptime_s=self._monotonic() - self._started,
        )

    def _latched(self) -> bool:
        return self._venue_latched or self._session_latched

    # ----- reading the session -------------------------------------------------------------------

    def _update_info(self, policy: CompiledPolicy) -> None:
        key = (policy.profile_sha256, policy.ruleset_sha256)
        if key == self._info_key:
            return
        self._info.clear()  # a hot reload changes the hashes; keep one series
        self._info.labels(self.market, self.profile, *key).set(1.0)
        self._info_key = key

    def _update_pnl(self, engine: Engine) -> None:
        fifo = engine.fifo
        mid = engine.signals.mid
        units = engine.inventory_lots * engine.market.lot
        plain = self._plain
        plain["solbot_fifo_realized_usd"].set(fifo.realized_usd)
        plain["solbot_fifo_realized_net_usd"].set(fifo.net_realized_usd)
        plain["solbot_fees_usd"].set(fifo.fees_usd)
        plain["solbot_funding_usd"].set(fifo.funding_usd)
        plain["solbot_cash_flow_usd"].set(fifo.cash_flow_usd)
        plain["solbot_inventory_units"].set(units)
        plain["solbot_mid_usd"].set(mid if mid > 0 else NAN)
        # Without a mid an open position has no value we could honestly report; flat is 0.
        if mid > 0:
            plain["solbot_unrealized_usd"].set(fifo.unrealized(mid))
            plain["solbot_inventory_usd"].set(units * mid)
        else:
            plain["solbot_unrealized_usd"].set(0.0 if fifo.position == 0 else NAN)
            plain["solbot_inventory_usd"].set(0.0 if units == 0 else NAN)
        plain["solbot_tx_budget_left"].set(float(engine.tx_budget_left))

    def _update_signals(self, engine: Engine, now_ns: int) -> None:
        signals = engine.signals
        index = signals.index
        for metric, signal, _ in SIGNAL_GAUGES:
            value = signals.get(signal) if signal in index else None
            self._signals[metric].set(NAN if value is None else value)
        for window, signal in realized_windows(signals.settings):
            value = signals.get(signal) if signal in index else None
            self._realized_window.labels(self.market, window).set(NAN if value is None else value)
        last = signals.last_event_ns
        self._market_data_age.set((now_ns - last) / NS if last else None)
        risk = engine.risk_state
        blocked = risk.block_since_ns != 0
        self._plain["solbot_guard_block_active"].set(1.0 if blocked else 0.0)
        self._plain["solbot_guard_block_seconds"].set(
            max(0.0, risk.block_seconds(now_ns)) if blocked else 0.0
        )

    def _update_rules(self, engine: Engine) -> None:
        machines = engine.machines
        rule_ids = tuple(rule.id for rule in machines.rules)
        if rule_ids != self._rule_ids:
            self._rule_active.clear()  # a reload may drop rules: no stale series
            self._rule_ids = rule_ids
        for index, rule_id in enumerate(rule_ids):
            active = machines.state[index] == RuleState.ACTIVE
            self._rule_active.labels(self.market, rule_id).set(1.0 if active else 0.0)
        totals = self._activations.totals(machines)
        self._counters.values["solbot_rule_activations_total"] = {
            (rule_id,): float(count) for rule_id, count in totals.items()
        }
        self._counters.values["solbot_regime_switches_total"] = {(): float(engine.regime_switches)}
        names = tuple(sorted(engine.policy.params_by_regime))
        if names != self._regime_names:
            self._regime.clear()
            self._regime_names = names
        for name in names:
            self._regime.labels(self.market, name).set(1.0 if name == engine.regime else 0.0)
        aggressive = 1.0 if engine.regime == engine.policy.flagged_regime else 0.0
        self._plain["solbot_regime_aggressive"].set(aggressive)

    def _update_plan(self, session: SessionView, now_ns: int) -> None:
        plan = session.last_plan
        mode = plan.hedge.mode if plan is not None else None
        for name in HEDGE_MODES:
            self._hedger_mode.labels(self.market, name).set(1.0 if name == mode else 0.0)
        self._plain["solbot_hedger_emergency"].set(1.0 if mode == "emergency" else 0.0)
        state = plan.decision.state.value if plan is not None else None
        for name in TRADING_STATES:
            self._state.labels(self.market, name).set(1.0 if name == state else 0.0)
        self._decision_age.set((now_ns - plan.ts_ns) / NS if plan is not None else None)
        orders = session.orders
        self._plain["solbot_open_orders"].set(float(len(orders.orders)) if orders else 0.0)

    def _update_original(self, session: SessionView) -> None:
        """The original's gauges, read from the same state as the solbot_* series they mirror."""
        engine = session.engine
        original = self._original
        plan = session.last_plan
        mode = plan.hedge.mode if plan is not None else None
        net_realized = engine.fifo.net_realized_usd
        original["maker_regime_state"].set(1.0 if engine.regime == "aggressive" else 0.0)
        original["maker_guard_block_active"].set(
            1.0 if engine.risk_state.block_since_ns != 0 else 0.0
        )
        original["maker_fifo_realized_quote"].set(net_realized)
        original["hedger_guard_emergency"].set(1.0 if mode == "emergency" else 0.0)
        original["hedger_force_aggressive"].set(1.0 if mode == "aggressive" else 0.0)
        original["maker_volatility_bps"].set(self._signal(engine, "vol_ema_bps"))
        rolling = engine.signals.settings.realized_windows
        shortest = min(rolling, key=lambda item: (item[1], item[0]))[0] if rolling else None
        original["maker_pnl_guard_realized_window"].set(
            self._signal(engine, shortest) if shortest else NAN
        )
        machines = engine.machines
        active = {
            rule.id
            for index, rule in enumerate(machines.rules)
            if machines.state[index] == RuleState.ACTIVE
        }
        for name, rules, _ in RULE_FLAGS:
            original[name].set(1.0 if active.intersection(rules) else 0.0)
        down = bool(active.intersection(("trend.down", "trend.fast_down", "trend.ema_down")))
        up = bool(active.intersection(("trend.up", "trend.ema_up")))
        original["maker_trend_bias"].set(float(up) - float(down))
        if plan is not None:
            sizes = [q.size for q in (plan.quotes.bid, plan.quotes.ask) if q is not None]
            original["maker_quote_size"].set((max(sizes) if sizes else 0) * engine.market.lot)
        if self._fifo_by_market is None:
            name = f"maker_fifo_realized_quote_market_{engine.market.market_id}"
            self._fifo_by_market = self._gauge(
                name, "maker_fifo_realized_quote of this market (the original's per-market copy)."
            ).labels(self.market)
        self._fifo_by_market.set(net_realized)

    @staticmethod
    def _signal(engine: Engine, name: str) -> float:
        signals = engine.signals
        value = signals.get(name) if name in signals.index else None
        return NAN if value is None else value

    def _update_counters(self, session: SessionView) -> None:
        stats = session.stats
        values = self._counters.values
        values["solbot_fills_total"] = {
            ("maker",): float(stats.maker_fills),
            ("taker",): float(stats.taker_fills),
        }
        values["solbot_volume_usd_total"] = {(): stats.volume_usd}
        self._session_duplicates = stats.duplicate_fills
        self._export_duplicates()
        values["solbot_decisions_total"] = {(): float(stats.decisions)}
        values["solbot_commands_total"] = {(): float(stats.commands)}
        values["solbot_alerts_total"] = {(): float(stats.alerts)}
        values["solbot_risk_denials_total"] = {(): float(sum(stats.denials.values()))}
        values["solbot_order_rejections_total"] = {(): float(sum(stats.rejections.values()))}
