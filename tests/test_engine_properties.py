"""Hypothesis properties of the engine's parts: merge, rule timers, the guard, the order manager."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import SOL, Driver, at, shipped_policy

from solbot.core.decision import TradingState, merge, sides_of
from solbot.core.engine import Plan
from solbot.core.model import (
    CancelOrder,
    Command,
    ModifyOrder,
    OrderStatus,
    OrderTag,
    OrderUpdate,
    PlaceOrder,
    Side,
)
from solbot.core.orders import SLOTS, Desired, OrderManager, OrderSettings
from solbot.core.quoting import QuoteIntent
from solbot.core.risk import RiskParams, RiskState, check_quotes
from solbot.core.rules import ActionSpec, RuleMachines, RuleSpec, Value

NS = 1_000_000_000
MISSING = object()
PROPERTY = settings(deadline=None, max_examples=150)
HEAVY = settings(deadline=None, max_examples=100)  # bigger examples: keep the suite fast

# ----- merge ----------------------------------------------------------------------------------

RESULT_SLOTS = 6
SIDES = ["bid", "ask", "both", "adding"]


def _value() -> st.SearchStrategy[Value]:
    constant = st.floats(-5, 30, allow_nan=False).map(lambda x: Value(constant=x))
    slot = st.integers(0, RESULT_SLOTS - 1).map(lambda index: Value(slot=index))
    return st.one_of(constant, slot)


def _action() -> st.SearchStrategy[ActionSpec]:
    side = st.sampled_from(SIDES)
    hedge_values = st.lists(
        st.tuples(
            st.sampled_from(
                ["clip_multiplier", "offset_bps", "max_slippage_bps", "extra_offset_bps"]
            ),
            _value(),
        ),
        max_size=3,
        unique_by=lambda item: item[0],
    ).map(tuple)
    return st.one_of(
        st.builds(ActionSpec, kind=st.just("pause"), side=side),
        st.builds(
            ActionSpec, kind=st.just("widen"), side=side, values=_named("add_full_spread_bps")
        ),
        st.builds(ActionSpec, kind=st.just("skew"), values=_named("bps"), additive=st.booleans()),
        st.builds(ActionSpec, kind=st.just("scale_clip"), values=_named("factor")),
        st.builds(
            ActionSpec,
            kind=st.just("hedge"),
            values=hedge_values,
            text=st.sampled_from(["", "passive", "aggressive", "emergency"]),
        ),
        st.builds(
            ActionSpec, kind=st.just("regime"), text=st.sampled_from(["aggressive", "defensive"])
        ),
        st.builds(ActionSpec, kind=st.just("flatten"), text=st.sampled_from(["a", "b"])),
        st.builds(ActionSpec, kind=st.just("kill"), text=st.sampled_from(["a", "b"])),
        st.builds(
            ActionSpec,
            kind=st.just("alert"),
            text=st.sampled_from(["x", "y"]),
            level=st.sampled_from(["warning", "error"]),
        ),
    )


def _named(name: str) -> st.SearchStrategy[tuple[tuple[str, Value], ...]]:
    return _value().map(lambda value: ((name, value),))


ACTIONS = _action()


@st.composite
def _ruleset(draw: st.DrawFn) -> tuple[list[RuleSpec], list[int]]:
    ids = draw(
        st.lists(
            st.sampled_from([f"r.{name}" for name in "abcdefgh"]),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    rules = [
        RuleSpec(
            id=rule_id,
            priority=draw(st.integers(0, 3)),  # few priorities: ties must break by id
            hold_ns=0,
            min_active_ns=0,
            cooldown_ns=0,
            on_error="trigger",
            when_slot=0,
            until_slot=None,
            actions=tuple(draw(st.lists(ACTIONS, min_size=1, max_size=2))),
        )
        for rule_id in ids
    ]
    active = draw(st.lists(st.integers(0, len(rules) - 1), unique=True))
    return rules, active


_results = st.lists(
    st.one_of(st.floats(-5, 30, allow_nan=False), st.booleans(), st.just(MISSING)),
    min_size=RESULT_SLOTS,
    max_size=RESULT_SLOTS,
)


@HEAVY
@given(_ruleset(), _results, st.integers(-200, 200), st.randoms(use_true_random=False))
def test_merge_does_not_depend_on_rule_order(
    ruleset: tuple[list[RuleSpec], list[int]],
    results: list[object],
    inventory_lots: int,
    random: Random,
) -> None:
    rules, active = ruleset
    order = list(range(len(rules)))
    random.shuffle(order)
    shuffled = [rules[old] for old in order]
    new_index = {old: new for new, old in enumerate(order)}
    moved = [new_index[index] for index in active]
    random.shuffle(moved)
    first = merge(rules, active, results, inventory_lots)
    second = merge(shuffled, moved, results, inventory_lots)
    assert first == second
    assert first.reasons == second.reasons


@HEAVY
@given(_ruleset(), _results, st.integers(-200, 200))
def test_merge_combines_actions_by_their_documented_operator(
    ruleset: tuple[list[RuleSpec], list[int]], results: list[object], inventory_lots: int
) -> None:
    rules, active = ruleset
    decision = merge(rules, active, results, inventory_lots)
    actions = [action for index in active for action in rules[index].actions]
    pause_bid = pause_ask = False
    widen_bid = widen_ask = 0.0
    scale = 1.0
    for action in actions:
        bid, ask = sides_of(action.side, inventory_lots)
        if action.kind == "pause":
            pause_bid, pause_ask = pause_bid or bid, pause_ask or ask
        elif action.kind == "widen":
            add = (action.value("add_full_spread_bps", results) or 0.0) / 2  # each side: half
            widen_bid = max(widen_bid, add) if bid else widen_bid
            widen_ask = max(widen_ask, add) if ask else widen_ask
        elif action.kind == "scale_clip":
            factor = action.value("factor", results)
            scale = min(scale, max(0.0, factor)) if factor is not None else scale
    kill = any(action.kind == "kill" for action in actions)
    flatten = any(action.kind == "flatten" for action in actions)
    assert decision.pause_bid == (pause_bid or kill)
    assert decision.pause_ask == (pause_ask or kill)
    assert (decision.widen_bid_bps, decision.widen_ask_bps) == (widen_bid, widen_ask)
    assert decision.scale_clip == scale
    assert (decision.kill, decision.flatten) == (kill, flatten)
    if kill:
        assert decision.state is TradingState.HALTED
    elif flatten or (pause_bid and pause_ask):
        assert decision.state is TradingState.REDUCING
    else:
        assert decision.state is TradingState.QUOTING
    assert sorted(decision.active_rules) == sorted(rules[index].id for index in active)


# ----- rule timers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    ts_ns: int
    active: bool


def _run_machine(
    rule: RuleSpec, steps: Sequence[tuple[int, object, object]], params: Sequence[float] = ()
) -> list[tuple[int, bool, object, object]]:
    """Step one rule through (dt, when, until); returns (time, active, when, until) per step."""
    machines = RuleMachines([rule])
    now = 10 * NS
    trace = []
    for dt, when, until in steps:
        now += dt
        active = machines.step(now, [when, until], MISSING, params) == [0]
        trace.append((now, active, when, until))
    return trace


_timer_s = st.sampled_from([0, 0, 1, 2, 5, 10])
_condition = st.one_of(st.booleans(), st.booleans(), st.just(MISSING))
_steps = st.lists(
    st.tuples(st.integers(1, 4 * NS), _condition, _condition), min_size=1, max_size=80
)


@st.composite
def _timed_rule(draw: st.DrawFn) -> RuleSpec:
    return RuleSpec(
        id="rule.under_test",
        priority=50,
        hold_ns=draw(_timer_s) * NS,
        min_active_ns=draw(_timer_s) * NS,
        cooldown_ns=draw(_timer_s) * NS,
        on_error=draw(st.sampled_from(["trigger", "ignore", "hold"])),
        when_slot=0,
        until_slot=draw(st.sampled_from([None, 1])),
        actions=(ActionSpec("pause", "both"),),
    )


def _truth(rule: RuleSpec, when: object) -> bool | None:
    """What a `when` value means for arming: None where `hold` keeps the state as it is."""
    if when is MISSING:
        return {"trigger": True, "ignore": False}.get(rule.on_error)
    return bool(when)


@PROPERTY
@given(_timed_rule(), _steps)
def test_rules_respect_min_active_cooldown_and_hold(
    rule: RuleSpec, steps: list[tuple[int, object, object]]
) -> None:
    trace = _run_machine(rule, steps)
    was_active = False
    activated_at = released_at = None
    true_since: int | None = None
    for now, active, when, _until in trace:
        truth = _truth(rule, when)
        if truth is True:
            true_since = now if true_since is None else true_since
        elif truth is False:
            true_since = None
        if active and not was_active:
            assert truth is True  # activates only on a (fail-closed) true condition
            assert true_since is not None and now - true_since >= rule.hold_ns
            if released_at is not None:
                assert now - released_at >= rule.cooldown_ns  # never re-fires in cooldown
            activated_at = now
        if was_active and not active:
            assert activated_at is not None
            assert now - activated_at >= rule.min_active_ns  # never flaps faster
            released_at = now
        was_active = active


def _release_condition(rule: RuleSpec, truth: bool | None, until: object) -> bool:
    if rule.until_slot is None:
        return not truth
    return until is not MISSING and bool(until)


@PROPERTY
@given(_timed_rule(), _steps)
def test_rules_release_as_soon_as_their_timers_allow(
    rule: RuleSpec, steps: list[tuple[int, object, object]]
) -> None:
    trace = _run_machine(rule, steps)
    was_active = False
    activated_at = 0
    for now, active, when, until in trace:
        truth = _truth(rule, when)
        if was_active and truth is None:
            assert active  # on_error: hold keeps an active rule as it is
        elif was_active:
            release = _release_condition(rule, truth, until)
            due = release and now - activated_at >= rule.min_active_ns
            assert active is not due  # hysteresis: stays on exactly until it may let go
        if active and not was_active:
            activated_at = now
        was_active = active


@PROPERTY
@given(st.integers(0, 20), st.integers(0, 20), _steps)
def test_parameter_bound_cooldown_is_respected(
    cooldown_s: int, min_active_s: int, steps: list[tuple[int, object, object]]
) -> None:
    rule = RuleSpec(
        id="rule.bound",
        priority=50,
        hold_ns=0,
        min_active_ns=0,
        cooldown_ns=0,
        on_error="ignore",
        when_slot=0,
        until_slot=None,
        actions=(ActionSpec("pause", "bid"),),
        timer_params=(-1, 1, 0),
    )
    trace = _run_machine(rule, steps, params=(float(cooldown_s), float(min_active_s)))
    was_active = False
    activated_at = released_at = None
    for now, active, _when, _until in trace:
        if active and not was_active:
            if released_at is not None:
                assert now - released_at >= cooldown_s * NS
            activated_at = now
        if was_active and not active:
            assert activated_at is not None and now - activated_at >= min_active_s * NS
            released_at = now
        was_active = active


# ----- risk -----------------------------------------------------------------------------------

BASE_RISK = shipped_policy("base").risk  # a USD position limit only
UNITS_AND_USD_RISK = replace(BASE_RISK, max_position_lots=300)  # both forms: the tighter binds
RISKS = pytest.mark.parametrize("risk", [BASE_RISK, UNITS_AND_USD_RISK], ids=["usd", "both"])


@st.composite
def _risk_case(draw: st.DrawFn) -> dict[str, object]:
    mid_ticks = draw(st.integers(20_000, 500_000))
    spread = draw(st.integers(1, 200))
    best_ask = mid_ticks + spread
    best_bid = mid_ticks - spread
    if draw(st.integers(0, 9)) == 0:  # now and then a crossed or locked market book
        best_bid = draw(st.integers(best_ask, best_ask + 300))
    bid_offset_bps = draw(st.floats(0.5, 50))
    ask_offset_bps = draw(st.floats(0.5, 50))
    bid = QuoteIntent(
        Side.BID, int(mid_ticks * (1 - bid_offset_bps / 1e4)), draw(st.integers(1, 400))
    )
    ask = QuoteIntent(
        Side.ASK, math.ceil(mid_ticks * (1 + ask_offset_bps / 1e4)), draw(st.integers(1, 400))
    )
    return {
        "mid": mid_ticks / 1000,
        "best_bid": best_bid,
        "best_ask": best_ask,
        "inventory": draw(st.one_of(st.just(0), st.integers(-400, 400))),  # flat: both sides add
        "bid": bid if draw(st.integers(0, 4)) else None,
        "ask": ask if draw(st.integers(0, 4)) else None,
    }


def _order_cap(params: RiskParams, price: int) -> int:
    return math.floor(params.max_order_usd / SOL.ticks_to_price(price) * 1000 + 1e-9)


def _check_risk_case(params: RiskParams, state: RiskState, now_ns: int, case: dict) -> None:
    inventory: int = case["inventory"]
    mid: float = case["mid"]
    result = check_quotes(
        params,
        state,
        now_ns,
        SOL,
        mid,
        case["best_bid"],
        case["best_ask"],
        inventory,
        case["bid"],
        case["ask"],
    )
    held = abs(inventory)
    usd = params.max_position_usd
    usd_limit_lots = math.floor(usd / mid * 1000 + 1e-9) if usd is not None else None
    for wanted, approved in ((case["bid"], result.bid), (case["ask"], result.ask)):
        if approved is None:
            continue
        assert wanted is not None
        assert (approved.side, approved.price) == (wanted.side, wanted.price)
        assert SOL.min_lots_at(approved.price) <= approved.size <= wanted.size
        adds = inventory * int(approved.side) >= 0
        if adds:
            if params.max_position_lots is not None:
                assert held + approved.size <= params.max_position_lots
            if usd_limit_lots is not None:
                assert held + approved.size <= usd_limit_lots
        else:  # reducing: only the per-order cap may shrink it, never the position limits
            assert approved.size == min(wanted.size, _order_cap(params, wanted.price))


@RISKS
@PROPERTY
@given(case=_risk_case())
def test_guard_never_lets_a_position_limit_be_exceeded(risk: RiskParams, case: dict) -> None:
    _check_risk_case(risk, RiskState(), 10 * NS, case)


@RISKS
@PROPERTY
@given(cases=st.lists(st.tuples(st.integers(0, 3 * NS), _risk_case()), min_size=1, max_size=12))
def test_guard_limits_hold_across_backoff_sequences(
    risk: RiskParams, cases: list[tuple[int, dict]]
) -> None:
    state = RiskState()
    now = 10 * NS
    for dt, case in cases:
        now += dt
        _check_risk_case(risk, state, now, case)


@PROPERTY
@given(_risk_case())
def test_reducing_quotes_are_denied_only_for_non_position_reasons(case: dict) -> None:
    inventory: int = case["inventory"]
    mid: float = case["mid"]
    result = check_quotes(
        BASE_RISK,
        RiskState(),
        10 * NS,
        SOL,
        mid,
        case["best_bid"],
        case["best_ask"],
        inventory,
        case["bid"],
        case["ask"],
    )
    band = BASE_RISK.price_band_bps / 1e4
    crossed = case["best_bid"] >= case["best_ask"]
    own_cross = (
        case["bid"] is not None
        and case["ask"] is not None
        and case["bid"].price >= case["ask"].price
    )
    for wanted, approved in ((case["bid"], result.bid), (case["ask"], result.ask)):
        if wanted is None or approved is not None or inventory * int(wanted.side) >= 0:
            continue
        price = SOL.ticks_to_price(wanted.price)
        outside = price < mid * (1 - band) if wanted.side is Side.BID else price > mid * (1 + band)
        too_small = min(wanted.size, _order_cap(BASE_RISK, wanted.price)) < SOL.min_lots_at(
            wanted.price
        )
        assert crossed or own_cross or outside or too_small


# ----- order manager --------------------------------------------------------------------------


class _Venue:
    """Acknowledges what the manager sends, like a venue that accepts everything."""

    def __init__(self) -> None:
        self.pending: list[OrderUpdate] = []

    def accept(self, now_ns: int, commands: Sequence[Command], manager: OrderManager) -> None:
        for command in commands:
            if isinstance(command, PlaceOrder):
                status = OrderStatus.CANCELED if command.immediate_or_cancel else OrderStatus.OPEN
                self.pending.append(OrderUpdate(now_ns, command.client_id, status, command.size))
            elif isinstance(command, ModifyOrder):
                self.pending.append(
                    OrderUpdate(now_ns, command.client_id, OrderStatus.OPEN, command.size)
                )
            elif isinstance(command, CancelOrder):
                order = manager.orders.get(command.client_id)
                remaining = order.remaining if order else 0
                self.pending.append(
                    OrderUpdate(now_ns, command.client_id, OrderStatus.CANCELED, remaining)
                )

    def deliver(self, manager: OrderManager, count: int) -> None:
        for update in self.pending[:count]:
            manager.on_update(update)
        del self.pending[:count]


_desired_quote = st.one_of(
    st.none(),
    st.builds(
        lambda price, size: (price, size),
        st.integers(139_000, 141_000),
        st.integers(50, 120),
    ),
)


@st.composite
def _order_steps(draw: st.DrawFn) -> list[tuple[int, dict[str, Desired | None], int]]:
    steps = []
    for _ in range(draw(st.integers(1, 60))):
        dt = draw(st.sampled_from([0, 100_000_000, 500_000_000, NS, 2 * NS, 10 * NS]))
        desired: dict[str, Desired | None] = {}
        for slot, side in (("bid", Side.BID), ("ask", Side.ASK)):
            quote = draw(_desired_quote)
            desired[slot] = None if quote is None else Desired(side, *quote, OrderTag.QUOTE)
        hedge = draw(st.one_of(st.none(), st.tuples(st.booleans(), st.booleans())))
        if hedge is not None:
            passive, sell = hedge
            desired["hedge"] = Desired(
                Side.ASK if sell else Side.BID,
                140_000,
                80,
                OrderTag.HEDGE_PASSIVE if passive else OrderTag.HEDGE_CROSS,
                post_only=passive,
                reduce_only=True,
                immediate_or_cancel=not passive,
            )
        steps.append((dt, desired, draw(st.integers(0, 6))))
    return steps


@HEAVY
@given(
    _order_steps(),
    st.integers(3, 20),
    st.integers(0, 3),
    st.sampled_from([0, NS, 2 * NS]),
)
def test_order_manager_stays_within_its_tx_budget_and_serves_urgent_first(
    steps: list[tuple[int, dict[str, Desired | None], int]],
    tx_per_minute: int,
    reserve: int,
    min_requote_ns: int,
) -> None:
    settings_ = OrderSettings(1.5, min_requote_ns, tx_per_minute, min(reserve, tx_per_minute - 1))
    manager = OrderManager(settings_, OrderManager.client_id_base(10 * NS), SOL.size_decimals)
    venue = _Venue()
    sent_at: list[int] = []
    now = 10 * NS
    for dt, desired, acks in steps:
        now += dt
        venue.deliver(manager, acks)
        left = manager.budget_left(now)
        commands = manager.plan(now, desired, 140_000.0)
        urgent = [_is_urgent(command, manager) for command in commands]
        assert urgent == sorted(urgent, reverse=True)  # cancels and hedges first
        normal = urgent.count(False)
        assert urgent.count(True) <= max(left, 0)
        if normal:
            assert left - len(commands) >= settings_.tx_reserve  # quotes never eat the reserve
        sent_at.extend([now] * len(commands))
        venue.accept(now, commands, manager)
        window = [ts for ts in sent_at if ts > now - 60 * NS]
        assert len(window) <= tx_per_minute
    assert manager.sent_total == len(sent_at)
    assert set(manager.slot_orders) == set(SLOTS)


def _is_urgent(command: Command, manager: OrderManager) -> bool:
    if isinstance(command, CancelOrder):
        return True
    if isinstance(command, PlaceOrder):
        return command.tag in (OrderTag.HEDGE_PASSIVE, OrderTag.HEDGE_CROSS)
    if isinstance(command, ModifyOrder):
        order = manager.orders.get(command.client_id)
        return order is not None and order.tag in (OrderTag.HEDGE_PASSIVE, OrderTag.HEDGE_CROSS)
    return False


# ----- the whole engine on the shipped base profile -------------------------------------------

_engine_steps = st.lists(
    st.tuples(
        st.sampled_from([250_000_000, NS, 3 * NS, 10 * NS, 40 * NS]),
        st.floats(0, 40),  # vol_ema_bps
        st.floats(-15, 15),  # ret_5m_bps
        st.floats(-15, 15),  # ret_45s_bps
        st.floats(0, 25),  # sigma_1m_bps
        st.integers(-320, 320),  # inventory lots
        st.floats(60, 400),  # mid
    ),
    min_size=1,
    max_size=40,
)


@PROPERTY
@given(_engine_steps, st.sampled_from(["base", "aggressive", "defensive"]))
def test_shipped_rules_keep_their_timers_and_limits_end_to_end(
    steps: list[tuple[int, float, float, float, float, int, float]], profile: str
) -> None:
    driver = Driver(profile)
    machines = driver.engine.machines
    rules = machines.rules
    activated: dict[int, int] = {}
    released: dict[int, tuple[int, int]] = {}  # index -> (time, cooldown then)
    active_before: set[int] = set()
    seconds = 0.0
    for dt, vol, ret_5m, ret_45s, sigma, inventory, mid in steps:
        seconds += dt / NS
        driver.mid = mid
        driver.engine.set_position(at(seconds), inventory)
        plan = driver.step(
            seconds, vol_ema_bps=vol, ret_5m_bps=ret_5m, ret_45s_bps=ret_45s, sigma_1m_bps=sigma
        )
        now = at(seconds)
        active = {
            index for index, rule in enumerate(rules) if rule.id in plan.decision.active_rules
        }
        for index in active - active_before:
            if index in released:
                when, cooldown = released[index]
                assert now - when >= cooldown, rules[index].id
            activated[index] = now
        for index in active_before - active:
            assert now - activated[index] >= machines.min_active_ns[index], rules[index].id
            released[index] = (now, machines.cooldown_ns[index])
        active_before = active
        _assert_plan_within_limits(driver, plan, inventory, mid)


def _assert_plan_within_limits(driver: Driver, plan: Plan, inventory: int, mid: float) -> None:
    risk = driver.policy.risk
    held = abs(inventory)
    for quote in (plan.risk.bid, plan.risk.ask):
        if quote is None:
            continue
        assert quote.size >= SOL.min_lots_at(quote.price)
        if inventory * int(quote.side) >= 0:
            if risk.max_position_lots is not None:
                assert held + quote.size <= risk.max_position_lots
            if risk.max_position_usd is not None:
                assert (held + quote.size) * mid / 1000 <= risk.max_position_usd + 1e-6
    intent = plan.hedge.intent
    if intent is not None:
        assert SOL.min_lots_at(intent.price) <= intent.size <= held
        assert int(intent.side) == (-1 if inventory > 0 else 1)  # always reduces
