"""Rule state machines (IDLE -> ARMING -> ACTIVE -> COOLDOWN) with latching kill rules."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from operator import itemgetter

NS = 1_000_000_000
NEVER = 2**63 - 1


class RuleState(IntEnum):
    IDLE = 0
    ARMING = 1
    ACTIVE = 2
    COOLDOWN = 3


@dataclass(frozen=True)
class Value:
    """An action argument: a constant, or the slot of a compiled expression."""

    constant: float | None = None
    slot: int | None = None

    def resolve(self, results: Sequence[object]) -> float | None:
        if self.slot is None:
            return self.constant
        value = results[self.slot]
        if isinstance(value, bool):
            return float(value)
        if isinstance(value, int | float) and math.isfinite(value):
            return float(value)
        return None  # MISSING, or a non-finite number: never handed to sizing or pricing


@dataclass(frozen=True)
class ActionSpec:
    """One compiled action: its kind, side (if any) and named arguments."""

    kind: str
    side: str | None = None
    values: tuple[tuple[str, Value], ...] = ()
    text: str = ""  # message/reason/name for alert, kill, flatten, regime, hedge mode
    level: str = ""  # alert level (info, warning, critical)
    additive: bool = False  # a skew with `combine: add`: sums with the other additive skews

    def value(self, name: str, results: Sequence[object]) -> float | None:
        for key, value in self.values:
            if key == name:
                return value.resolve(results)
        return None


@dataclass(frozen=True)
class RuleSpec:
    """A rule ready to run: timers in ns, expression slots, actions."""

    id: str
    priority: int
    hold_ns: int
    min_active_ns: int
    cooldown_ns: int
    on_error: str
    when_slot: int
    until_slot: int | None
    actions: tuple[ActionSpec, ...]
    description: str = ""
    timer_params: tuple[int, int, int] = (-1, -1, -1)  # param index of hold/min_active/cooldown

    def timers(self, params: Sequence[float]) -> tuple[int, int, int]:
        """hold, min_active and cooldown in ns; a timer bound to a parameter reads it now."""
        hold_param, active_param, cooldown_param = self.timer_params
        hold = int(params[hold_param] * NS) if hold_param >= 0 else self.hold_ns
        active = int(params[active_param] * NS) if active_param >= 0 else self.min_active_ns
        cooldown = int(params[cooldown_param] * NS) if cooldown_param >= 0 else self.cooldown_ns
        return hold, active, cooldown

    @property
    def latches(self) -> bool:
        return any(action.kind == "kill" for action in self.actions)


class RuleMachines:
    """The timers of every rule; `step` advances them all from one evaluation of the program."""

    def __init__(self, rules: Sequence[RuleSpec]) -> None:
        self.rules = tuple(rules)
        count = len(self.rules)
        self.state = [RuleState.IDLE] * count
        self.since_ns = [0] * count
        self.cooldown_until_ns = [0] * count
        self.activations = [0] * count
        self.active_ns_total = [0] * count
        self.latched: set[str] = set()
        # Rules active this step only because their condition could not be evaluated (a
        # signal not ready, x / 0, an overflow) and on_error is `trigger`: they fail closed,
        # and the trace and the summary say so, so they cannot pass for a real trigger.
        self.failed_closed: list[int] = []
        self.failed_closed_activations = [0] * count
        self.failed_closed_steps = [0] * count
        self._last_now = 0
        self.hold_ns = [rule.hold_ns for rule in self.rules]
        self.min_active_ns = [rule.min_active_ns for rule in self.rules]
        self.cooldown_ns = [rule.cooldown_ns for rule in self.rules]
        self._params: Sequence[float] | None = None
        self._indexes = range(count)
        slots = [rule.when_slot for rule in self.rules]
        # results -> the `when` result of every rule, in rule order, as one tuple
        self._conditions: Callable[[Sequence[object]], tuple[object, ...]] = (
            (lambda results: ()) if not slots
            else (lambda results: (results[slots[0]],)) if len(slots) == 1
            else itemgetter(*slots)
        )  # fmt: skip

    def bind(self, params: Sequence[float]) -> None:
        """Resolve timers bound to parameters (called when the regime's parameters change)."""
        if params is self._params:
            return
        self._params = params
        for index, rule in enumerate(self.rules):
            if rule.timer_params != _NO_TIMER_PARAMS:
                hold, active, cooldown = rule.timers(params)
                self.hold_ns[index], self.min_active_ns[index] = hold, active
                self.cooldown_ns[index] = cooldown

    def restore_latches(self, rule_ids: Sequence[str]) -> None:
        """Re-activate kill rules latched in an earlier run (they survive restarts)."""
        for index, rule in enumerate(self.rules):
            if rule.id in rule_ids:
                self.state[index] = RuleState.ACTIVE
                self.latched.add(rule.id)

    def acknowledge(self, rule_id: str, now_ns: int) -> None:
        for index, rule in enumerate(self.rules):
            if rule.id == rule_id:
                self.latched.discard(rule_id)
                self.state[index] = RuleState.COOLDOWN
                self.cooldown_until_ns[index] = now_ns + self.cooldown_ns[index]

    def step(
        self, now_ns: int, results: Sequence[object], missing: object, params: Sequence[float] = ()
    ) -> list[int]:
        """Advance every rule to `now_ns`; returns the indexes of active rules."""
        if params:
            self.bind(params)
        active: list[int] = []
        if self.failed_closed:
            self.failed_closed = []
        elapsed = now_ns - self._last_now if self._last_now else 0
        self._last_now = now_ns
        state = self.state
        hold_ns = self.hold_ns
        active_ns_total = self.active_ns_total
        rules = self.rules
        latched = self.latched
        since_ns, min_active_ns, cooldown_ns = self.since_ns, self.min_active_ns, self.cooldown_ns
        idle, arming, active_state, cooldown = _IDLE, _ARMING, _ACTIVE, _COOLDOWN
        # the `when` results in rule order; the state is read as each rule comes (only the
        # current rule's entry changes in the loop)
        for index, rule, current, condition in zip(
            self._indexes, rules, state, self._conditions(results), strict=True
        ):
            if condition is False and current == idle:
                continue  # most rules, most of the time: nothing changes
            if current == active_state:
                active_ns_total[index] += elapsed
            if condition is missing:
                if rule.on_error == "hold":
                    if current == active_state:
                        active.append(index)
                    continue
                condition = errored = rule.on_error == "trigger"
            else:
                errored = False
            if current == cooldown:
                if now_ns < self.cooldown_until_ns[index]:
                    continue
                current = state[index] = idle
            if current == idle:
                if not condition:
                    continue
                if hold_ns[index] > 0:
                    state[index] = arming
                    self.since_ns[index] = now_ns
                    continue
                current = self._activate(index, now_ns)
                self.failed_closed_activations[index] += errored
            elif current == arming:
                if not condition:
                    state[index] = idle
                    continue
                if now_ns - self.since_ns[index] < hold_ns[index]:
                    continue
                current = self._activate(index, now_ns)
                self.failed_closed_activations[index] += errored
            elif rule.id not in latched:  # ACTIVE: `_released`, inlined
                until_slot = rule.until_slot
                if until_slot is None:
                    release = not condition
                else:
                    until = results[until_slot]
                    release = until is not missing and bool(until)
                if release and now_ns - since_ns[index] >= min_active_ns[index]:
                    rest = cooldown_ns[index]
                    if rest > 0:
                        state[index] = cooldown
                        self.cooldown_until_ns[index] = now_ns + rest
                    else:
                        state[index] = idle
                    continue
            active.append(index)
            if errored:
                self.failed_closed.append(index)
                self.failed_closed_steps[index] += 1
        return active

    def next_deadline_ns(self, now_ns: int) -> int:
        """The next moment a rule timer runs out: hold, min_active or cooldown (or NEVER)."""
        best = NEVER
        since = self.since_ns
        for index, state in enumerate(self.state):
            if state == _IDLE:  # most rules, most of the time
                continue
            if state == _ARMING:
                at = since[index] + self.hold_ns[index]
            elif state == _ACTIVE:
                if self.rules[index].id in self.latched:
                    continue
                at = since[index] + self.min_active_ns[index]
            elif state == _COOLDOWN:
                at = self.cooldown_until_ns[index]
            else:
                continue
            if now_ns < at < best:
                best = at
        return best

    def _activate(self, index: int, now_ns: int) -> RuleState:
        self.state[index] = RuleState.ACTIVE
        self.since_ns[index] = now_ns
        self.activations[index] += 1
        rule = self.rules[index]
        if rule.latches:
            self.latched.add(rule.id)
        return RuleState.ACTIVE

    def _released(
        self,
        index: int,
        rule: RuleSpec,
        condition: object,
        now_ns: int,
        results: Sequence[object],
        missing: object,
    ) -> bool:
        if rule.id in self.latched:
            return False
        if rule.until_slot is None:
            release = not condition
        else:
            until = results[rule.until_slot]
            release = until is not missing and bool(until)
        if not release or now_ns - self.since_ns[index] < self.min_active_ns[index]:
            return False
        cooldown = self.cooldown_ns[index]
        if cooldown > 0:
            self.state[index] = RuleState.COOLDOWN
            self.cooldown_until_ns[index] = now_ns + cooldown
        else:
            self.state[index] = RuleState.IDLE
        return True


_NO_TIMER_PARAMS = (-1, -1, -1)
# RuleState members bound to module names: the per-rule loops compare with them on every step
_IDLE, _ARMING, _ACTIVE, _COOLDOWN = (
    RuleState.IDLE,
    RuleState.ARMING,
    RuleState.ACTIVE,
    (RuleState.COOLDOWN),
)
