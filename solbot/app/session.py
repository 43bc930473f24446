"""The one session loop: gather -> signals -> rules -> plan -> risk -> act -> record.

Drivers (replay, paper, live) feed market events, order updates and fills in; the session
decides on its own cadence and sends commands to whatever Venue it was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from solbot.adapters.storage.trace import StepEncoder, TraceWriter
from solbot.core.decision import Decision, TradingState
from solbot.core.denials import DenialTally
from solbot.core.engine import CompiledPolicy, DecisionInputs, Engine, Plan
from solbot.core.model import (
    CancelAll,
    CancelOrder,
    Command,
    FeedStatus,
    Fill,
    FundingPayment,
    ModifyOrder,
    OpenOrder,
    OrderStatus,
    OrderTag,
    OrderUpdate,
    PlaceOrder,
    PositionSnapshot,
    Side,
)
from solbot.core.orders import Desired, OrderManager, OrderSettings
from solbot.core.risk import DenialReason
from solbot.core.seed import SeedFills, SeedState, rebuild
from solbot.core.venue import Venue

NS = 1_000_000_000
NEVER = 2**63 - 1
_REASONS_KEPT = 4096  # decisions whose reason lines are remembered (as MergeCache's limit)


class LedgerLike(Protocol):
    def record_fill(self, fill: Fill, run_id: str | None = None) -> bool: ...
    def record_mark(self, market: str, ts_ns: int, mid: float) -> None: ...
    def record_funding(self, payment: FundingPayment) -> bool: ...
    def latch(self, rule_id: str, ts_ns: int, reason: str) -> None: ...
    def record_order(
        self,
        client_id: int,
        *,
        market: str,
        side: Side,
        price: float,
        size: float,
        tag: str,
        status: str,
        ts_ns: int,
        reason: str = "",
    ) -> None: ...
    def record_decision(
        self,
        ts_ns: int,
        state: str,
        active_rules: Sequence[str],
        regime: str,
        reasons: Sequence[str],
    ) -> None: ...


class SeedSource(Protocol):
    def fills_for_seed(self, market: str, since_ns: int, venue_family: str) -> SeedFills: ...


@runtime_checkable
class BudgetedVenue(Protocol):
    """A venue whose adapter keeps an account-wide request budget (the live Lighter venue)."""

    def tx_room(self) -> int: ...


class AlertSink(Protocol):
    def alert(self, rule_id: str, level: str, message: str, ts_ns: int) -> None: ...


@dataclass
class SessionStats:
    """What the summary and telemetry report about one session."""

    events: int = 0
    decisions: int = 0
    first_ts_ns: int = 0
    last_ts_ns: int = 0
    fills: int = 0
    maker_fills: int = 0
    taker_fills: int = 0
    volume_usd: float = 0.0
    duplicate_fills: int = 0
    max_abs_inventory_lots: int = 0
    flat_ns: int = 0
    commands: int = 0
    regime_ns: dict[str, int] = field(default_factory=dict)
    denials: dict[DenialReason, int] = field(default_factory=dict)  # by kind: bounded
    rejections: dict[str, int] = field(default_factory=dict)
    alerts: int = 0
    quoting_denied: DenialTally = field(default_factory=DenialTally)  # all quoting denied


class Session:
    """Owns the engine and the order manager; implements VenueSink for its venue."""

    def __init__(
        self,
        policy: CompiledPolicy,
        *,
        market_key: str,
        run_id: str = "",
        ledger: LedgerLike | None = None,
        trace: TraceWriter | None = None,
        alerts: AlertSink | None = None,
    ) -> None:
        self.policy = policy
        self.engine = Engine(policy)
        self.market_key = market_key
        self.run_id = run_id
        self.ledger = ledger
        self.trace = trace
        self._steps = StepEncoder(*step_names(policy)) if trace is not None else None
        self._step_ns = 0
        self.alerts = alerts
        self.venue: Venue | None = None
        self._budgeted: tuple[Venue | None, BudgetedVenue | None] = (None, None)
        self.orders: OrderManager | None = None
        self.stats = SessionStats()
        self.last_plan: Plan | None = None
        self.halted = False
        self.stopped = False  # shutdown() was called: book what the venue reports, send nothing
        self._next_decision_ns = 0
        # The next moment this session wants to decide without new market data: the driver
        # ticks it then (replay: exactly then; live: on its decision-interval timer).
        self.wake_ns = NEVER
        self._last_state: tuple[Any, ...] = ()
        self._last_account_ns = 0
        self._next_mark_ns = 0
        self._seen_fills: set[tuple[str, str]] = set()
        self._seeded = False
        self._partly_filled: set[int] = set()  # client ids with a fill and size left
        self._alerted: set[str] = set()
        # id(decision) -> (decision, its reason lines): the decision is kept, so its id stays its
        self._reasons: dict[int, tuple[Decision, tuple[str, ...]]] = {}

    def attach(self, venue: Venue) -> None:
        self.venue = venue

    def seed_from_ledger(self, source: SeedSource, venue_family: str, now_ns: int) -> SeedState:
        """Carry the account's PnL state over a restart, before the first event.

        Rebuilds the FIFO lots of the inventory held and the realized windows
        (signals.realized_windows, the PnL day) from every earlier run's fills (the daily kill is
        per account and day, not per run).
        Live and paper sessions seed; replays do not (their simulated exchange starts flat).
        """
        if self.stats.first_ts_ns or self.stats.fills:
            raise RuntimeError("seed_from_ledger must run before the session's first event")
        since = self.engine.signals.seed_since_ns(now_ns)
        state = rebuild(source.fills_for_seed(self.market_key, since, venue_family))
        self.engine.seed(now_ns, state)
        self._seen_fills.update(state.fill_keys)  # a venue resending one is not booked twice
        self._seeded = True
        return state

    # ----- market data ---------------------------------------------------------------------------

    def on_book(
        self, ts_ns: int, exchange_ts_ns: int, bid: int, bid_size: int, ask: int, ask_size: int
    ) -> None:
        """A new top of book (drivers may skip events where only sizes changed)."""
        if ts_ns > self.stats.last_ts_ns or self.orders is None:
            self.account_time(ts_ns)
        self.engine.on_book(ts_ns, exchange_ts_ns, bid, bid_size, ask, ask_size)
        if ts_ns >= self._next_mark_ns:
            self._mark(ts_ns)
        if ts_ns >= self._next_decision_ns:
            self.step(ts_ns)
        else:
            self._decide_soon(ts_ns)

    def on_book_sizes(self, ts_ns: int, bid_size: int, ask_size: int) -> None:
        """A book event that moved no price: the feed is alive; no decision can change."""
        self.engine.touch(ts_ns, bid_size, ask_size)

    def tick(self, now_ns: int) -> None:
        """A clock tick without market data: let time-based rules act."""
        self.account_time(now_ns)
        if now_ns >= self._next_decision_ns:
            self.step(now_ns)
        elif self.wake_ns <= now_ns:
            self.wake_ns = self._next_decision_ns

    def _decide_soon(self, ts_ns: int) -> None:
        """An input changed: decide at the next decision time (the interval after the last)."""
        at = max(self._next_decision_ns, ts_ns)
        if at < self.wake_ns:
            self.wake_ns = at

    def on_position(self, snapshot: PositionSnapshot) -> None:
        """The venue's absolute position overrides our running sum (reconciliation)."""
        size = self.policy.market.size_to_lots(snapshot.size)
        self.engine.set_position(snapshot.ts_ns, size)
        self._decide_soon(snapshot.ts_ns)

    def on_feed_status(self, status: FeedStatus) -> None:
        """Connection or book validity changed: quoting pauses while it is not safe."""
        self.engine.book_valid = status.quoting_safe
        self._decide_soon(status.ts_ns)

    def account_time(self, ts_ns: int) -> None:
        """Attribute the time since the last call to the current regime and flat/not flat."""
        stats = self.stats
        if stats.first_ts_ns == 0:
            stats.first_ts_ns = ts_ns
            self.orders = OrderManager(
                OrderSettings(
                    self.policy.requote_tolerance_bps,
                    self.policy.min_requote_interval_ns,
                    self.policy.tx_per_minute,
                    self.policy.tx_reserve,
                ),
                OrderManager.client_id_base(ts_ns),
                self.policy.market.size_decimals,
            )
        elif ts_ns > stats.last_ts_ns:
            elapsed = ts_ns - stats.last_ts_ns
            regime = self.engine.regime
            stats.regime_ns[regime] = stats.regime_ns.get(regime, 0) + elapsed
            if self.engine.inventory_lots == 0:
                stats.flat_ns += elapsed
        if ts_ns > stats.last_ts_ns:
            stats.last_ts_ns = ts_ns

    def _mark(self, ts_ns: int) -> None:
        self._next_mark_ns = (ts_ns // NS + 1) * NS
        mid = self.engine.signals.mid
        if self.ledger is not None and mid > 0:
            self.ledger.record_mark(self.market_key, ts_ns, mid)

    # ----- venue reports -------------------------------------------------------------------------

    def on_order_update(self, update: OrderUpdate) -> None:
        order = self.orders.orders.get(update.client_id) if self.orders is not None else None
        if order is not None and self.ledger is not None:
            status = update.status.value
            if update.client_id in self._partly_filled and update.status is not OrderStatus.FILLED:
                status = "partial"  # the ledger keeps that it traded, even once it is canceled
            self._record_order(update.ts_ns, order, status, update.reason)
        if self.orders is not None:
            self.orders.on_update(update)
        self._decide_soon(update.ts_ns)
        if update.status is OrderStatus.REJECTED:
            reason = update.reason or "rejected"
            self.stats.rejections[reason] = self.stats.rejections.get(reason, 0) + 1
        if self.trace is not None:
            self.trace.write(
                {
                    "t": update.ts_ns,
                    "type": "update",
                    "id": update.client_id,
                    "status": update.status.value,
                    "remaining": update.remaining,
                    "reason": update.reason,
                }
            )

    def on_fill(self, fill: Fill) -> None:
        """Book a fill exactly once (venues may resend), then decide again soon."""
        key = (fill.venue, fill.trade_id)
        self.account_time(fill.ts_ns)  # the time before this fill had the old inventory
        if key in self._seen_fills:
            self.stats.duplicate_fills += 1
            return
        self._seen_fills.add(key)
        if self.ledger is not None and not self.ledger.record_fill(fill, self.run_id):
            self.stats.duplicate_fills += 1  # already in the ledger from an earlier run
            if self._seeded:
                return  # the seed already holds it (in the lots or the position), however old
        realized = self.engine.on_fill(fill)
        if self.orders is not None:
            self._fill_order(fill)
        stats = self.stats
        stats.fills += 1
        stats.volume_usd += fill.notional_usd
        if fill.role.value == "maker":
            stats.maker_fills += 1
        else:
            stats.taker_fills += 1
        held = abs(self.engine.inventory_lots)
        stats.max_abs_inventory_lots = max(stats.max_abs_inventory_lots, held)
        if self.trace is not None:
            self.trace.write(
                {
                    "t": fill.ts_ns,
                    "type": "fill",
                    "id": fill.trade_id,
                    "side": fill.side.label,
                    "price": fill.price,
                    "size": fill.size,
                    "role": fill.role.value,
                    "fee": fill.fee_usd,
                    "realized": round(realized, 10),
                    "inventory_lots": self.engine.inventory_lots,
                    "client_id": fill.client_id,
                }
            )
        self._next_decision_ns = 0
        self._decide_soon(fill.ts_ns)

    def _fill_order(self, fill: Fill) -> None:
        """Apply a fill to its order and record the order as `filled` or `partial`."""
        assert self.orders is not None
        order = self.orders.orders.get(fill.client_id) if fill.client_id is not None else None
        self.orders.on_fill(fill)
        if order is None or fill.client_id is None or self.ledger is None:
            return
        done = fill.client_id not in self.orders.orders
        if done:
            self._partly_filled.discard(fill.client_id)
        else:
            self._partly_filled.add(fill.client_id)
        self._record_order(fill.ts_ns, order, "filled" if done else "partial", "fill")

    def on_funding(self, payment: FundingPayment) -> None:
        self.engine.fifo.apply_funding(payment.amount_usd)
        if self.ledger is not None:
            self.ledger.record_funding(payment)

    # ----- deciding ------------------------------------------------------------------------------

    def step(self, now_ns: int) -> list[Command]:
        """Run the policy once and send what it takes to get our orders where they should be."""
        self._next_decision_ns = now_ns + self.policy.decision_interval_ns
        self.wake_ns = NEVER
        if self.orders is None or self.venue is None or self.stopped:
            return []
        engine = self.engine
        budgeted = self._budgeted_venue(self.venue)
        if budgeted is not None:  # plan no tx the adapter would hold back
            self.orders.venue_room = budgeted.tx_room()
        engine.tx_budget_left = self.orders.budget_left(now_ns)
        self._step_ns = now_ns
        plan = engine.decide(now_ns, self._trace_step if self._steps is not None else None)
        self.last_plan = plan
        self.stats.decisions += 1
        self._record_plan(plan)
        commands = self._commands(now_ns, plan)
        self.wake_ns = self._next_wake(now_ns, commands)
        if commands:
            self.stats.commands += len(commands)
            self._trace_commands(now_ns, commands)
            self.venue.submit(commands, now_ns)
        return commands

    def _budgeted_venue(self, venue: Venue) -> BudgetedVenue | None:
        """`venue` if it keeps a request budget; the (slow) protocol check runs once per venue."""
        checked, budgeted = self._budgeted
        if checked is not venue:
            budgeted = venue if isinstance(venue, BudgetedVenue) else None
            self._budgeted = (venue, budgeted)
        return budgeted

    def _next_wake(self, now_ns: int, commands: Sequence[Command]) -> int:
        """After a decision: when time alone could change the next one."""
        assert self.orders is not None
        orders = self.orders
        wake = min(
            self.engine.next_deadline_ns(now_ns),
            orders.retry_at_ns,
            orders.next_budget_release_ns(),  # tx_budget_left grows back then
        )
        if self.halted and orders.orders:
            wake = min(wake, self._next_decision_ns)  # keep flattening / cancelling
        return max(wake, self._next_decision_ns)

    def _commands(self, now_ns: int, plan: Plan) -> list[Command]:
        orders = self.orders
        assert orders is not None
        if plan.decision.state is TradingState.HALTED:
            if not self.halted:
                self.halted = True
                self._latch(now_ns, plan)
                return orders.cancel_all(now_ns, "kill rule")
            if not plan.decision.flatten:
                return []
        desired: dict[str, Desired | None] = {"bid": None, "ask": None, "hedge": None}
        if not self.halted:
            for slot, quote in (("bid", plan.risk.bid), ("ask", plan.risk.ask)):
                if quote is not None:
                    desired[slot] = Desired(quote.side, quote.price, quote.size, OrderTag.QUOTE)
        intent = plan.hedge.intent
        if intent is not None:
            tag = OrderTag.HEDGE_PASSIVE if intent.passive else OrderTag.HEDGE_CROSS
            desired["hedge"] = Desired(
                intent.side,
                intent.price,
                intent.size,
                tag,
                post_only=intent.passive,
                reduce_only=True,
                immediate_or_cancel=not intent.passive,
            )
        commands = orders.plan(now_ns, desired, engine_mid_ticks(self))
        if commands and any(
            isinstance(c, PlaceOrder) and c.tag is OrderTag.HEDGE_CROSS for c in commands
        ):
            self.engine.last_hedge_attempt_ns = now_ns
        return commands

    def _latch(self, now_ns: int, plan: Plan) -> None:
        if self.ledger is None:
            return
        for kill in plan.decision.kills:
            self.ledger.latch(kill.rule_id, now_ns, kill.describe())

    def _record_plan(self, plan: Plan) -> None:
        decision = plan.decision
        risk = plan.risk
        if risk.denied:
            self.stats.quoting_denied.add(plan.quotes, risk)
            denials = self.stats.denials
            for denial in risk.denied:
                denials[denial.reason] = denials.get(denial.reason, 0) + 1
        for alert in decision.alerts:
            if self.alerts is not None and alert.rule_id not in self._alerted:
                self.alerts.alert(alert.rule_id, alert.level, alert.message, plan.ts_ns)
                self.stats.alerts += 1
            self._alerted.add(alert.rule_id)
        if self._alerted:
            self._alerted &= set(decision.active_rules)
        sides = quoted_sides(plan)
        machines = self.engine.machines
        failed_closed = (
            tuple(machines.rules[index].id for index in machines.failed_closed)
            if machines.failed_closed
            else ()
        )
        state = (decision.state, decision.active_rules, plan.regime, sides, failed_closed)
        if state == self._last_state:
            return
        self._last_state = state
        reasons = self._reasons_of(decision)
        if self.ledger is not None:
            self.ledger.record_decision(
                plan.ts_ns,
                decision.state.value,
                decision.active_rules,
                plan.regime,
                reasons + list(plan.risk.denials),
            )
        if self.trace is None:
            return
        self.trace.write(
            {
                "t": plan.ts_ns,
                "type": "decision",
                "state": decision.state.value,
                "rules": list(decision.active_rules),
                "failed_closed": list(failed_closed),  # active because evaluation failed
                "regime": plan.regime,
                "regime_changed": plan.regime_changed,
                "quoting": sides,
                "reasons": reasons,  # as the ledger has them, before the denials
                "denials": list(plan.risk.denials),
                "hedge": plan.hedge.note or plan.hedge.mode,
                "quotes": guarded_quotes(plan),
            }
        )

    def _reasons_of(self, decision: Decision) -> list[str]:
        """`rule: outcome` lines of a decision; remembered per Decision object (the merge cache
        hands out the same objects again), the list itself fresh for every caller."""
        known = self._reasons.get(id(decision))
        if known is None or known[0] is not decision:
            if len(self._reasons) >= _REASONS_KEPT:
                self._reasons.clear()
            known = (decision, tuple(f"{rule}: {text}" for rule, text in decision.reasons))
            self._reasons[id(decision)] = known
        return list(known[1])

    def _trace_step(self, inputs: DecisionInputs) -> None:
        """The inputs of this decision, as changes since the last step (explain --at redoes it)."""
        assert self.trace is not None and self._steps is not None
        self.trace.write(self._steps.encode(self._step_ns, inputs))

    def policy_reloaded(self) -> None:
        """After a hot reload: note the new hashes; the next step is a full snapshot again."""
        if self.trace is None:
            return
        policy = self.policy
        self._steps = StepEncoder(*step_names(policy))
        self.trace.write(
            {
                "t": self.stats.last_ts_ns,
                "type": "reload",
                "profile_sha256": policy.profile_sha256,
                "ruleset_sha256": policy.ruleset_sha256,
            }
        )

    def _trace_commands(self, now_ns: int, commands: Sequence[Command]) -> None:
        if self.ledger is not None and self.orders is not None:
            for command in commands:
                if isinstance(command, PlaceOrder | ModifyOrder):
                    order = self.orders.orders.get(command.client_id)
                    if order is not None:
                        traded = command.client_id in self._partly_filled
                        status = "partial" if traded else "pending"
                        op = "place" if isinstance(command, PlaceOrder) else "modify"
                        self._record_order(now_ns, order, status, op)
        if self.trace is None:
            return
        for command in commands:
            self.trace.write({"t": now_ns, "type": "command", **describe_command(command)})

    def _record_order(self, ts_ns: int, order: OpenOrder, status: str, reason: str) -> None:
        assert self.ledger is not None
        market = self.policy.market
        self.ledger.record_order(
            order.client_id,
            market=self.market_key,
            side=order.side,
            price=market.ticks_to_price(order.price),
            size=market.lots_to_size(order.size),
            tag=order.tag.value,
            status=status,
            ts_ns=ts_ns,
            reason=reason,
        )

    def shutdown(self, now_ns: int, reason: str) -> list[Command]:
        """Cancel everything (SIGINT, end of data, kill); no new order is decided afterwards."""
        self.stopped = True
        self.wake_ns = NEVER
        if self.orders is None or self.venue is None:
            return []
        commands = self.orders.cancel_all(now_ns, reason)
        if commands:
            self._trace_commands(now_ns, commands)
            self.venue.submit(commands, now_ns)
        return commands


def quoted_sides(plan: Plan) -> str:
    """Which sides the decision quotes after the guard: bid, ask, both or none."""
    bid, ask = plan.risk.bid is not None, plan.risk.ask is not None
    return "both" if bid and ask else "bid" if bid else "ask" if ask else "none"


def step_names(policy: CompiledPolicy) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Signal names and rule ids in the policy's order: how step records name them."""
    return tuple(policy.catalog.names), tuple(rule.id for rule in policy.rules)


def guarded_quotes(plan: Plan) -> dict[str, list[int] | None]:
    """The quotes the risk guards let through: side -> [price ticks, size lots] or None."""
    return {
        side: None if quote is None else [quote.price, quote.size]
        for side, quote in (("bid", plan.risk.bid), ("ask", plan.risk.ask))
    }


def engine_mid_ticks(session: Session) -> float:
    return session.engine.signals.mid * session.policy.market.price_scale


def describe_command(command: Command) -> dict[str, Any]:
    """A command as plain data for traces and logs."""
    if isinstance(command, PlaceOrder):
        return {
            "op": "place",
            "id": command.client_id,
            "side": command.side.label,
            "price": command.price,
            "size": command.size,
            "tag": command.tag.value,
            "post_only": command.post_only,
            "reduce_only": command.reduce_only,
            "ioc": command.immediate_or_cancel,
        }
    if isinstance(command, ModifyOrder):
        return {
            "op": "modify",
            "id": command.client_id,
            "price": command.price,
            "size": command.size,
        }
    if isinstance(command, CancelOrder):
        return {"op": "cancel", "id": command.client_id}
    assert isinstance(command, CancelAll)
    return {"op": "cancel_all", "reason": command.reason}
