"""The engine: signals -> rules -> decision -> quotes, hedge and risk, once per tick."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from solbot.core.catalog import SignalCatalog
from solbot.core.deadlines import NEVER, ClockPlan, crossing_offsets
from solbot.core.decision import Decision, MergeCache
from solbot.core.hedger import HedgeOutcome, HedgeParams, plan_hedge
from solbot.core.model import Fill, MarketSpec, Side
from solbot.core.pnl import FifoBook
from solbot.core.quoting import QuoteParams, Quotes, compute_quotes
from solbot.core.risk import RiskParams, RiskResult, RiskState, check_quotes
from solbot.core.rules import RuleMachines, RuleSpec, RuleState
from solbot.core.seed import SeedState
from solbot.core.signals import SignalSettings, SignalState

NS = 1_000_000_000
Program = Callable[[Sequence[float], int, Sequence[float]], list[object]]


@dataclass(frozen=True)
class CompiledPolicy:
    """Everything the engine needs, built once from a resolved profile and its rules."""

    profile_id: str
    profile_sha256: str
    ruleset_sha256: str
    market: MarketSpec
    catalog: SignalCatalog
    signal_settings: SignalSettings
    program: Program
    missing: object
    rules: tuple[RuleSpec, ...]
    param_names: tuple[str, ...]
    params_by_regime: Mapping[str, tuple[float, ...]]
    quotes_by_regime: Mapping[str, QuoteParams]
    hedge: HedgeParams
    risk: RiskParams
    default_regime: str
    regime_min_dwell_ns: int
    requote_tolerance_bps: float
    min_requote_interval_ns: int
    decision_interval_ns: int
    tx_per_minute: int
    tx_reserve: int
    clock: ClockPlan = field(default_factory=ClockPlan)
    source: str = field(default="", compare=False)  # generated program source, for debugging
    flagged_regime: str = "aggressive"  # the regime the `regime_aggressive` signal reports


@dataclass(frozen=True)
class Plan:
    """One decision and what it leads to; the session turns it into venue commands."""

    ts_ns: int
    decision: Decision
    quotes: Quotes
    risk: RiskResult
    hedge: HedgeOutcome
    regime: str
    regime_changed: bool


@dataclass(frozen=True)
class DecisionInputs:
    """Everything `Engine.evaluate` reads besides the policy, taken just before a decision.

    Recorded in the trace at every decision step, it lets `explain --run --at` redo that
    decision exactly with the engine's own code: restore it into a fresh engine, evaluate.
    """

    values: tuple[float, ...]  # the signal vector (catalog order), engine-owned values filled in
    ready: int  # readiness bit mask, bit i = catalog signal i
    mid: float
    best_bid: int  # ticks
    best_ask: int
    inventory_lots: int
    feed_age_ns: int
    regime: str
    regime_since_ns: int
    last_hedge_attempt_ns: int
    rules: tuple[tuple[int, int, int], ...]  # per rule: (RuleState, since_ns, cooldown_until_ns)
    latched: tuple[str, ...]
    blocked_until_ns: tuple[int, int]  # risk backoff: (bid, ask)
    block_since_ns: int


class Engine:
    """Holds market, inventory and rule state; `decide` runs the whole policy once."""

    def __init__(self, policy: CompiledPolicy) -> None:
        self.policy = policy
        market = policy.market
        self.market = market
        self.signals = SignalState(policy.catalog, policy.signal_settings, market.lot)
        self.machines = RuleMachines(policy.rules)
        self.merged = MergeCache(policy.rules)
        self.fifo = FifoBook()
        self.risk_state = RiskState()
        self.regime = policy.default_regime
        self.regime_since_ns = 0
        self.regime_switches = 0
        self.inventory_lots = 0
        self.best_bid = self.best_ask = 0
        self.bid_size = self.ask_size = 0
        self.last_hedge_attempt_ns = 0
        self.tx_budget_left = policy.tx_per_minute
        self.book_valid = True
        self.wanted_regime = policy.default_regime
        self.last_hedge_mode = "idle"
        self._scale = 10.0**-market.price_decimals
        self._lots_per_unit = market.size_scale
        self._params = policy.params_by_regime[self.regime]
        self._regime_index = policy.catalog.index()["regime_aggressive"]
        self._crossings, self._grid_origins = _clock_positions(policy.clock)
        self._last_quotes: tuple[QuoteParams, Decision, tuple[object, ...], Quotes] | None = None

    # ----- inputs --------------------------------------------------------------------------------

    def on_book(
        self, ts_ns: int, exchange_ts_ns: int, bid: int, bid_size: int, ask: int, ask_size: int
    ) -> None:
        self.best_bid, self.bid_size, self.best_ask, self.ask_size = bid, bid_size, ask, ask_size
        scale = self._scale
        self.signals.on_book(ts_ns, exchange_ts_ns, bid * scale, ask * scale)

    def touch(self, ts_ns: int, bid_size: int, ask_size: int) -> None:
        """A book event that moved no price: the feed is alive, only sizes changed."""
        self.bid_size, self.ask_size = bid_size, ask_size
        if self.signals.last_event_ns:
            self.signals.last_event_ns = ts_ns

    def vouch_feed(self, until_ns: int) -> None:
        """Bar replay: a synthetic tick stands for a market that kept trading until `until_ns`."""
        self.signals.feed_vouched_until_ns = until_ns

    def on_fill(self, fill: Fill) -> float:
        """Book a fill; returns the FIFO realized PnL it produced."""
        realized = self.fifo.apply(fill)
        self.inventory_lots += round(fill.signed_size * self._lots_per_unit)
        signals = self.signals
        signals.on_fill(fill.ts_ns, self.inventory_lots, realized)
        if signals.mid > 0:  # a peak reached between two decisions counts too
            signals.update_drawdown(fill.ts_ns, self.fifo.unrealized(signals.mid))
        return realized

    def seed(self, now_ns: int, state: SeedState) -> None:
        """Start from earlier sessions' fills: open FIFO lots, inventory and realized windows."""
        self.fifo.open_lots(state.lots)
        self.signals.seed(now_ns, state.points)
        self.set_position(now_ns, round(state.position_units * self._lots_per_unit))

    def set_position(self, ts_ns: int, inventory_lots: int) -> None:
        """Venue position snapshot (reconciliation) overrides our running sum."""
        self.inventory_lots = inventory_lots
        self.signals.set_inventory(ts_ns, inventory_lots)

    def restore_latches(self, rule_ids: Sequence[str]) -> None:
        self.machines.restore_latches(rule_ids)

    def replace_policy(self, policy: CompiledPolicy) -> None:
        """Hot reload: swap the policy, keeping inventory, PnL and (when compatible) signals.

        Rule timers restart from IDLE; latched kill rules stay latched.
        """
        if policy.market != self.market:
            raise ValueError("a reloaded policy must trade the same market")
        latched = sorted(self.machines.latched)
        same_signals = (
            policy.catalog == self.policy.catalog
            and policy.signal_settings == self.policy.signal_settings
        )
        self.policy = policy
        if not same_signals:
            old = self.signals
            self.signals = SignalState(policy.catalog, policy.signal_settings, self.market.lot)
            self.signals.carry_own_state(old)
        self.machines = RuleMachines(policy.rules)
        self.merged = MergeCache(policy.rules)
        self.machines.restore_latches(latched)
        if self.regime not in policy.params_by_regime:
            self.regime = policy.default_regime
        self._params = policy.params_by_regime[self.regime]
        self._regime_index = policy.catalog.index()["regime_aggressive"]
        self._crossings, self._grid_origins = _clock_positions(policy.clock)

    # ----- the decision --------------------------------------------------------------------------

    def decide(self, now_ns: int, observe: Callable[[DecisionInputs], None] | None = None) -> Plan:
        """Bring the signals up to now and run the policy once; `observe` sees the inputs."""
        self.gather(now_ns)
        signals = self.signals
        feed_age_ns = max(0, now_ns - signals.feed_origin_ns) if signals.last_event_ns else 0
        if observe is not None:
            observe(self.inputs(feed_age_ns))
        return self.evaluate(now_ns, feed_age_ns)

    def gather(self, now_ns: int) -> None:
        """Refresh time-derived signals and fill in the values the engine itself owns."""
        signals = self.signals
        signals.refresh(now_ns)
        values = signals.values
        index = signals.index
        mid = signals.mid
        unrealized = self.fifo.unrealized(mid) if mid > 0 else 0.0
        values[index["unrealized_usd"]] = unrealized
        if mid > 0:  # without a mark the open lots' PnL is unknown, not zero
            signals.update_drawdown(now_ns, unrealized)
        values[index["cash_flow_usd"]] = self.fifo.cash_flow_usd
        values[index["fees_usd"]] = self.fifo.fees_usd
        values[index["guard_block_s"]] = self.risk_state.block_seconds(now_ns)
        values[index["tx_budget_left"]] = float(self.tx_budget_left)
        values[index["book_valid"]] = 1.0 if self.book_valid else 0.0
        values[index["regime_age_s"]] = (
            (now_ns - self.regime_since_ns) / NS if self.regime_since_ns else 0.0
        )
        values[self._regime_index] = 1.0 if self.regime == self.policy.flagged_regime else 0.0

    def evaluate(self, now_ns: int, feed_age_ns: int) -> Plan:
        """Rules -> decision -> regime -> quotes -> risk -> hedge on the gathered signals."""
        policy = self.policy
        signals = self.signals
        values = signals.values
        index = signals.index
        mid = signals.mid
        results = policy.program(values, signals.ready, self._params)
        active = self.machines.step(now_ns, results, policy.missing, self._params)
        decision = self.merged.merge(active, results, self.inventory_lots)
        self.wanted_regime = decision.regime or policy.default_regime
        changed = self._switch_regime(now_ns, self.wanted_regime)
        quote_params = policy.quotes_by_regime[self.regime]
        vol = signals.get("vol_ema_bps")
        quotes = self._quotes(quote_params, decision, mid, vol)
        risk = check_quotes(
            policy.risk,
            self.risk_state,
            now_ns,
            self.market,
            mid,
            self.best_bid,
            self.best_ask,
            self.inventory_lots,
            quotes.bid,
            quotes.ask,
            feed_age_ns,
        )
        exposure = values[index["exposure_s"]]
        hedge = plan_hedge(
            policy.hedge,
            decision,
            self.market,
            mid,
            self.best_bid,
            self.best_ask,
            self.inventory_lots,
            now_ns,
            self.last_hedge_attempt_ns,
            int(exposure * NS),
        )
        self.last_hedge_mode = hedge.mode
        return Plan(now_ns, decision, quotes, risk, hedge, self.regime, changed)

    def _quotes(
        self, params: QuoteParams, decision: Decision, mid: float, vol: float | None
    ) -> Quotes:
        """`compute_quotes`, remembered for the last inputs: a decision that merged to the same
        Decision object (`MergeCache`) on the same book, inventory and volatility quotes the
        same (a third of the bar-mode decisions). A zero volatility is never reused (0.0 and
        -0.0 compare equal), nor NaN (never equal)."""
        key = (mid, self.best_bid, self.best_ask, self.inventory_lots, vol)
        last = self._last_quotes
        if (
            last is not None
            and last[0] is params
            and last[1] is decision
            and last[2] == key
            and vol != 0.0
        ):
            return last[3]
        quotes = compute_quotes(
            params,
            decision,
            self.market,
            mid,
            self.best_bid,
            self.best_ask,
            self.inventory_lots,
            vol,
        )
        self._last_quotes = (params, decision, key, quotes)
        return quotes

    # ----- decision inputs (trace and explain) ---------------------------------------------------

    def inputs(self, feed_age_ns: int) -> DecisionInputs:
        """The state `evaluate` reads, as immutable data."""
        machines = self.machines
        signals = self.signals
        risk = self.risk_state
        blocked = risk.blocked_until_ns
        latched = machines.latched
        return DecisionInputs(  # positional: the field order of DecisionInputs
            tuple(signals.values),
            signals.ready,
            signals.mid,
            self.best_bid,
            self.best_ask,
            self.inventory_lots,
            feed_age_ns,
            self.regime,
            self.regime_since_ns,
            self.last_hedge_attempt_ns,
            # RuleState is an IntEnum: equal to, and written as, its int
            tuple(zip(machines.state, machines.since_ns, machines.cooldown_until_ns, strict=True)),
            tuple(sorted(latched)) if latched else (),
            (blocked[Side.BID], blocked[Side.ASK]),
            risk.block_since_ns,
        )

    def restore(self, inputs: DecisionInputs) -> None:
        """Put the engine in the state `inputs` describes (a fresh engine, for explain)."""
        if len(inputs.values) != len(self.signals.values):
            raise ValueError("the recorded signal vector does not match this policy's catalog")
        if len(inputs.rules) != len(self.machines.rules):
            raise ValueError("the recorded rule states do not match this policy's rules")
        if inputs.regime not in self.policy.params_by_regime:
            raise ValueError(f"regime {inputs.regime!r} is not in this policy")
        signals = self.signals
        signals.values[:] = inputs.values
        signals.ready = inputs.ready
        signals.mid = inputs.mid
        self.best_bid, self.best_ask = inputs.best_bid, inputs.best_ask
        self.inventory_lots = inputs.inventory_lots
        self.regime = inputs.regime
        self.regime_since_ns = inputs.regime_since_ns
        self._params = self.policy.params_by_regime[inputs.regime]
        self.last_hedge_attempt_ns = inputs.last_hedge_attempt_ns
        machines = self.machines
        for index, (state, since, until) in enumerate(inputs.rules):
            machines.state[index] = RuleState(state)
            machines.since_ns[index] = since
            machines.cooldown_until_ns[index] = until
        machines.latched = set(inputs.latched)
        risk = self.risk_state
        risk.blocked_until_ns = {
            Side.BID: inputs.blocked_until_ns[0],
            Side.ASK: inputs.blocked_until_ns[1],
        }
        risk.block_since_ns = inputs.block_since_ns

    # ----- time ----------------------------------------------------------------------------------

    def next_deadline_ns(self, now_ns: int) -> int:
        """The next moment after now at which time alone could change the decision (or NEVER).

        Valid until the next input (market event, fill, position, reload); the replay driver asks
        again after every decision. Each candidate counts only when strictly after now.
        """
        policy = self.policy
        signals = self.signals
        best = self.machines.next_deadline_ns(now_ns)
        at = signals.next_day_start_ns(now_ns)
        if now_ns < at < best:
            best = at
        at = signals.next_expiry_ns()  # 0: no rolling window holds an entry
        if at and now_ns < at < best:
            best = at
        last_event = signals.feed_origin_ns if signals.last_event_ns else 0
        stale_feed_ns = policy.risk.stale_feed_ns
        if last_event and stale_feed_ns:
            at = last_event + stale_feed_ns + 1
            if now_ns < at < best:
                best = at
        for at in self.risk_state.blocked_until_ns.values():
            if now_ns < at < best:
                best = at
        if self.wanted_regime != self.regime and self.regime_since_ns:
            at = self.regime_since_ns + policy.regime_min_dwell_ns
            if now_ns < at < best:
                best = at
        exposure = signals.exposure_since_ns
        if exposure:
            hedge = policy.hedge
            at = exposure + hedge.passive_timeout_ns
            if now_ns < at < best:
                best = at
            attempt = self.last_hedge_attempt_ns
            if attempt:
                for at in (attempt + hedge.cooldown_ns, attempt + hedge.emergency_cooldown_ns):
                    if now_ns < at < best:
                        best = at
        crossings = self._crossings.get(self.regime, ())
        grid = self._grid_origins
        if crossings or grid:
            origins = (  # in the order of _CLOCK_ORIGINS
                last_event,
                exposure,
                signals.over_trigger_since_ns,
                self.risk_state.block_since_ns,
                self.regime_since_ns,
            )
            for position, offsets in crossings:
                origin = origins[position]
                if origin:
                    for offset in offsets:  # as deadlines.crossing_times
                        at = origin + offset
                        if now_ns < at < best:
                            best = at
            if any(origins[position] for position in grid):
                best = min(best, now_ns + policy.decision_interval_ns)
        return best if best > now_ns else NEVER

    def _switch_regime(self, now_ns: int, target: str) -> bool:
        if target == self.regime or target not in self.policy.params_by_regime:
            return False
        if self.regime_since_ns and now_ns - self.regime_since_ns < self.policy.regime_min_dwell_ns:
            return False
        self.regime = target
        self.regime_since_ns = now_ns
        self.regime_switches += 1
        self._params = self.policy.params_by_regime[target]
        return True


# The clock signals' origins, in the order `next_deadline_ns` lists them.
_CLOCK_ORIGINS = ("feed_age_s", "exposure_s", "over_trigger_s", "guard_block_s", "regime_age_s")


def _clock_positions(
    plan: ClockPlan,
) -> tuple[dict[str, tuple[tuple[int, tuple[int, ...]], ...]], tuple[int, ...]]:
    """`crossing_offsets` with each clock signal as its position in `_CLOCK_ORIGINS`, and the
    positions of the signals that need the decision-interval grid (unknown names dropped: they
    have no origin, so they never set a deadline)."""
    position = {name: index for index, name in enumerate(_CLOCK_ORIGINS)}
    crossings = {
        regime: tuple(
            (position[signal], offsets) for signal, offsets in watched if signal in position
        )
        for regime, watched in crossing_offsets(plan).items()
    }
    grid = tuple(sorted(position[signal] for signal in plan.grid_signals if signal in position))
    return crossings, grid
