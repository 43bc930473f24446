"""The cheaper decision step (branch `decide`) gives exactly what the plain code gave.

Each shortcut is checked against the code it replaced, kept here as the reference: the rule
machines walking only the rules that can change, the remembered next PnL day start, the earliest
rolling-window expiry, and the step records diffed with C-level iteration.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import relaxed_sol, shipped_policy

from solbot.adapters.storage.ledger import _dumps as ledger_dumps
from solbot.adapters.storage.trace import _LISTS, _SCALARS, StepEncoder, _encode
from solbot.app.session import _REASONS_KEPT, Session
from solbot.core.catalog import SignalCatalog
from solbot.core.decision import AlertOutcome, Decision, PauseOutcome
from solbot.core.engine import DecisionInputs, Engine
from solbot.core.expressions_runtime import MISSING
from solbot.core.quoting import Quotes, compute_quotes
from solbot.core.rules import RuleMachines, RuleState
from solbot.core.signals import DAY_NS, SignalSettings, SignalState

NS = 1_000_000_000
PROPERTY = settings(deadline=None, max_examples=80)
# `when` results, with the values a shortcut on `is False` must not confuse: 0, 0.0, None.
CONDITIONS = st.sampled_from([False, True, 0, 1, 0.0, -0.0, 2.5, math.nan, None, MISSING])


# ----- rule machines -------------------------------------------------------------------------


class WalkEveryRule(RuleMachines):
    """`RuleMachines.step` as it was: every rule walked on every step."""

    def step(
        self, now_ns: int, results: Sequence[object], missing: object, params: Sequence[float] = ()
    ) -> list[int]:
        if params:
            self.bind(params)
        active: list[int] = []
        if self.failed_closed:
            self.failed_closed = []
        elapsed = now_ns - self._last_now if self._last_now else 0
        self._last_now = now_ns
        state = self.state
        for index, rule in enumerate(self.rules):
            current = state[index]
            if current == RuleState.ACTIVE:
                self.active_ns_total[index] += elapsed
            condition = results[rule.when_slot]
            if condition is missing:
                if rule.on_error == "hold":
                    if current == RuleState.ACTIVE:
                        active.append(index)
                    continue
                condition = errored = rule.on_error == "trigger"
            else:
                errored = False
            if current == RuleState.COOLDOWN:
                if now_ns < self.cooldown_until_ns[index]:
                    continue
                current = state[index] = RuleState.IDLE
            if current == RuleState.IDLE:
                if not condition:
                    continue
                if self.hold_ns[index] > 0:
                    state[index] = RuleState.ARMING
                    self.since_ns[index] = now_ns
                    continue
                current = self._activate(index, now_ns)
                self.failed_closed_activations[index] += errored
            elif current == RuleState.ARMING:
                if not condition:
                    state[index] = RuleState.IDLE
                    continue
                if now_ns - self.since_ns[index] < self.hold_ns[index]:
                    continue
                current = self._activate(index, now_ns)
                self.failed_closed_activations[index] += errored
            elif self._released(index, rule, condition, now_ns, results, missing):
                continue
            active.append(index)
            if errored:
                self.failed_closed.append(index)
                self.failed_closed_steps[index] += 1
        return active


def machine_state(machines: RuleMachines) -> tuple[Any, ...]:
    return (
        list(machines.state),
        list(machines.since_ns),
        list(machines.cooldown_until_ns),
        list(machines.activations),
        list(machines.active_ns_total),
        list(machines.failed_closed),
        list(machines.failed_closed_activations),
        list(machines.failed_closed_steps),
        sorted(machines.latched),
    )


@PROPERTY
@given(data=st.data(), profile=st.sampled_from(("aggressive", "base", "defensive")))
def test_rule_machines_walk_only_changing_rules_with_the_same_outcome(
    data: st.DataObject, profile: str
) -> None:
    policy = shipped_policy(profile)
    slots = 1 + max(
        max(rule.when_slot for rule in policy.rules),
        max((rule.until_slot or 0) for rule in policy.rules),
    )
    params = policy.params_by_regime[policy.default_regime]
    fast, plain = RuleMachines(policy.rules), WalkEveryRule(policy.rules)
    # few distinct result vectors, so that rules arm, activate, hold and release
    vectors = data.draw(
        st.lists(st.lists(CONDITIONS, min_size=slots, max_size=slots), min_size=1, max_size=4)
    )
    now = 1_700_000_000 * NS
    for _ in range(data.draw(st.integers(1, 40))):
        now += data.draw(st.sampled_from([1, NS // 4, 5 * NS, 31 * NS, 400 * NS]))
        results = data.draw(st.sampled_from(vectors))
        expected = plain.step(now, results, MISSING, params)
        assert fast.step(now, results, MISSING, params) == expected
        assert machine_state(fast) == machine_state(plain)
        assert fast.next_deadline_ns(now) == plain.next_deadline_ns(now)


# ----- signal clocks -------------------------------------------------------------------------


def signal_state(day_start_s: float = 0.0) -> SignalState:
    settings_ = SignalSettings(pnl_day_start_s=day_start_s)
    return SignalState(SignalCatalog.build(settings_.returns), settings_, 0.001)


@PROPERTY
@given(
    day_start_s=st.sampled_from([0.0, 3600.0, 86_399.0]),
    times=st.lists(st.integers(-3 * DAY_NS, 400 * DAY_NS), min_size=1, max_size=30),
    near=st.booleans(),
)
def test_next_day_start_is_the_formula_at_any_time_in_any_order(
    day_start_s: float, times: list[int], near: bool
) -> None:
    """Remembered between calls, yet right when time jumps, goes back or sits on a boundary."""
    signals = signal_state(day_start_s)
    start = int(day_start_s * NS)
    for now in times:
        if near:  # around a day boundary: one ns before, at, one after
            now = (now // DAY_NS) * DAY_NS + start + (now % 3) - 1
        expected = ((now - start) // DAY_NS + 1) * DAY_NS + start
        assert signals.next_day_start_ns(now) == expected
        assert signals.next_day_start_ns(now) == expected  # asked twice at the same time


@PROPERTY
@given(
    fills=st.lists(
        st.tuples(st.integers(0, 7200 * NS), st.floats(-5, 5, allow_nan=False)), max_size=20
    ),
    later=st.lists(st.integers(0, 9000 * NS), max_size=5),
)
def test_next_expiry_is_the_earliest_end_of_any_rolling_window(
    fills: list[tuple[int, float]], later: list[int]
) -> None:
    signals = signal_state()
    t0 = 1_700_000_000 * NS
    now = t0
    for offset, realized in sorted(fills):
        now = t0 + offset
        signals.on_fill(now, 1, realized)
    for offset in [0, *sorted(later)]:
        signals.refresh(now + offset)
        windows = [*signals._realized.values(), *signals._fills.values()]
        ends = [w.items[0][0] + w.window_ns for w in windows if w.items]
        assert signals.next_expiry_ns() == min(ends, default=0)


# ----- step records --------------------------------------------------------------------------


class FieldByFieldEncoder(StepEncoder):
    """`StepEncoder.encode` as it was: every value and field compared one by one."""

    def encode(self, ts_ns: int, inputs: DecisionInputs) -> dict[str, Any]:
        previous = None if self._steps % self.snapshot_every == 0 else self._previous
        self._steps += 1
        self._previous = inputs
        record: dict[str, Any] = {"t": ts_ns, "type": "step"}
        if previous is None:
            record["full"] = True
            record["signals"] = dict(zip(self.names, inputs.values, strict=True))
        elif inputs.values != previous.values:
            changed = {
                self.names[i]: v
                for i, (v, o) in enumerate(zip(inputs.values, previous.values, strict=True))
                if v != o and (v == v or o == o)
            }
            if changed:
                record["signals"] = changed
        if previous is None or inputs.rules != previous.rules:
            machines = {
                rule: list(state)
                for i, (rule, state) in enumerate(zip(self.rules, inputs.rules, strict=True))
                if previous is None or state != previous.rules[i]
            }
            if machines:
                record["machines"] = machines
        if inputs.mid != inputs.values[self._mid]:
            record["mid"] = inputs.mid
        for key, field in _SCALARS + _LISTS:
            value = getattr(inputs, field)
            if previous is None or value != getattr(previous, field):
                record[key] = value
        return record


def drift(rng: random.Random, previous: DecisionInputs | None, rules: int) -> DecisionInputs:
    """Inputs where each field sometimes changes; values include NaN, -0.0 and 0.0."""

    def maybe(old: Any, new: Any) -> Any:
        return new if previous is None or rng.random() < 0.3 else old

    pool = [0.0, -0.0, math.nan, 1.5, math.inf, rng.uniform(-1e3, 1e3)]
    values = tuple(
        maybe(previous.values[i] if previous else 0.0, rng.choice(pool)) for i in range(4)
    )
    machines = tuple(
        maybe(previous.rules[i] if previous else None, (rng.randrange(4), rng.randrange(9), 0))
        for i in range(rules)
    )
    return DecisionInputs(
        values=values,
        ready=maybe(previous.ready if previous else 0, rng.randrange(16)),
        mid=maybe(values[0], rng.choice([values[0], 2.0])),
        best_bid=maybe(previous.best_bid if previous else 0, rng.randrange(3)),
        best_ask=maybe(previous.best_ask if previous else 0, rng.randrange(3)),
        inventory_lots=maybe(previous.inventory_lots if previous else 0, rng.randrange(-2, 2)),
        feed_age_ns=maybe(previous.feed_age_ns if previous else 0, rng.randrange(3)),
        regime=maybe(previous.regime if previous else "", rng.choice(["defensive", "aggressive"])),
        regime_since_ns=maybe(previous.regime_since_ns if previous else 0, rng.randrange(3)),
        last_hedge_attempt_ns=maybe(previous.last_hedge_attempt_ns if previous else 0, 5),
        rules=machines,
        latched=maybe(previous.latched if previous else (), rng.choice([(), ("x",)])),
        blocked_until_ns=maybe(previous.blocked_until_ns if previous else (0, 0), (1, 0)),
        block_since_ns=maybe(previous.block_since_ns if previous else 0, rng.randrange(2)),
    )


@pytest.mark.parametrize("rules", [0, 1, 3])
@pytest.mark.parametrize("seed", range(4))
def test_step_records_are_the_field_by_field_records(seed: int, rules: int) -> None:
    rng = random.Random(seed)
    names, ids = ("mid", "a", "b", "c"), tuple(f"rule.{i}" for i in range(rules))
    fast, plain = StepEncoder(names, ids, snapshot_every=7), FieldByFieldEncoder(names, ids, 7)
    previous = None
    for step in range(60):
        previous = drift(rng, previous, rules)
        assert _encode(fast.encode(step, previous)) == _encode(plain.encode(step, previous))


# ----- quotes, reasons and ledger rows -------------------------------------------------------


@PROPERTY
@given(data=st.data(), profile=st.sampled_from(("aggressive", "defensive", "naive")))
def test_remembered_quotes_are_the_quotes_of_the_current_inputs(
    data: st.DataObject, profile: str
) -> None:
    """The engine reuses the last quotes only for the same decision, book, inventory and
    volatility: change any one of them (a zero volatility's sign too) and it quotes afresh."""
    policy = shipped_policy(profile, relaxed_sol())  # tiny minimums: sizes follow inventory
    engine = Engine(policy)
    market = policy.market
    now = 1_700_000_000 * NS
    choices: dict[str, list[Any]] = {
        "book": [(140_000, 140_020), (140_001, 140_021), (139_990, 140_030)],
        "inventory": [0, 40, -40, 300],
        "vol": [0.0, -0.0, 6.0, 7.0],  # one side of the shipped vol rules' lines
    }
    inputs = {name: values[0] for name, values in choices.items()}
    for _ in range(data.draw(st.integers(1, 30))):
        now += NS
        changed = data.draw(st.sampled_from([None, *choices]))  # one input at a time, or none
        if changed is not None:
            inputs[changed] = data.draw(st.sampled_from(choices[changed]))
        bid, ask = inputs["book"]
        engine.on_book(now, now, bid, 5, ask, 5)
        engine.inventory_lots = inputs["inventory"]
        engine.signals.set("vol_ema_bps", inputs["vol"])
        engine.gather(now)
        plan = engine.evaluate(now, 0)
        expected = compute_quotes(
            policy.quotes_by_regime[plan.regime],
            plan.decision,
            market,
            engine.signals.mid,
            engine.best_bid,
            engine.best_ask,
            engine.inventory_lots,
            engine.signals.get("vol_ema_bps"),
        )
        assert repr(plan.quotes) == repr(expected)  # repr: the sign of a zero counts too


def test_reason_lines_are_those_of_each_decision_however_many_there_are() -> None:
    """Remembered per Decision object, in a bounded table that empties when full."""
    session = Session(shipped_policy("defensive"), market_key="SOL")
    decisions = [
        Decision(outcomes=(PauseOutcome(f"rule.{i}", "bid"), AlertOutcome(f"a.{i}", "info", "m")))
        for i in range(_REASONS_KEPT + 10)
    ]
    for decision in decisions + decisions[:20]:  # the second pass after the table emptied
        expected = [f"{rule}: {text}" for rule, text in decision.reasons]
        assert session._reasons_of(decision) == expected
    assert len(session._reasons) <= _REASONS_KEPT
    lines = session._reasons_of(decisions[0])
    lines.append("changed by a caller")  # each caller gets its own list
    assert session._reasons_of(decisions[0]) == ["rule.0: pause bid", "a.0: alert info: m"]


@pytest.mark.parametrize(
    "value",
    [
        [],
        ["trend.down", "vol.high_pause"],
        ['é ü \u2028 "quoted" \\ back'],
        {"trend.down": "pause bid", "x": "y"},
        ["nan", 1.5, None, True],
    ],
)
def test_ledger_rows_hold_the_json_of_json_dumps(value: Any) -> None:
    assert ledger_dumps(value) == json.dumps(value)


@pytest.mark.parametrize(
    "changed", ["decision", "params", "mid", "best_bid", "best_ask", "inventory", "vol"]
)
def test_remembered_quotes_follow_each_input_alone(changed: str) -> None:
    """Quote once, change one input, quote again: the second quotes are those of the new
    inputs (and differ from the first, so the input matters here)."""
    policy = shipped_policy("defensive", relaxed_sol())
    engine = Engine(policy)
    engine.on_book(NS, NS, 1_400_000, 5, 1_400_200, 5)  # high: sizes above the clip floor
    # an inventory skew, so that inventory moves the quotes
    params = replace(policy.quotes_by_regime["defensive"], skew_bps_at_soft_cap=4.0)
    inputs: dict[str, Any] = {
        "decision": Decision(),
        "params": params,
        "mid": engine.signals.mid,
        "best_bid": 1_400_000,
        "best_ask": 1_400_200,
        "inventory": 0,
        "vol": 7.0,
    }
    other = {
        "decision": Decision(pause_bid=True),
        "params": replace(params, spread_bps=30.0),
        "mid": 1405.0,
        "best_bid": 1_403_000,  # above our ask: the ask steps out to one tick above it
        "best_ask": 1_398_000,  # below our bid: the bid steps back to one tick below it
        "inventory": 300,
        "vol": 6.0,
    }

    def quotes() -> Quotes:
        engine.best_bid, engine.best_ask = inputs["best_bid"], inputs["best_ask"]
        engine.inventory_lots = inputs["inventory"]
        return engine._quotes(inputs["params"], inputs["decision"], inputs["mid"], inputs["vol"])

    first = quotes()
    inputs[changed] = other[changed]
    second = quotes()
    expected = compute_quotes(
        inputs["params"],
        inputs["decision"],
        policy.market,
        inputs["mid"],
        inputs["best_bid"],
        inputs["best_ask"],
        inputs["inventory"],
        inputs["vol"],
    )
    assert second == expected
    assert second != first
