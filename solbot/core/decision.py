"""Deterministic, order-independent merge of active rules' actions into one Decision."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from solbot.core.rules import ActionSpec, RuleSpec


class TradingState(StrEnum):
    QUOTING = "QUOTING"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


HEDGE_MODES = ("passive", "aggressive", "emergency")


@dataclass(frozen=True, slots=True)
class PauseOutcome:
    """A rule paused quoting on a side (`bid`, `ask`, `both` or `adding`)."""

    rule_id: str
    side: str

    def describe(self) -> str:
        return f"pause {self.side}"


@dataclass(frozen=True, slots=True)
class FlattenOutcome:
    """A rule asked to hedge inventory to zero."""

    rule_id: str
    reason: str

    def describe(self) -> str:
        return f"flatten {self.reason}".strip()


@dataclass(frozen=True, slots=True)
class KillOutcome:
    """A kill rule fired: cancel everything and halt (the rule latches)."""

    rule_id: str
    reason: str

    def describe(self) -> str:
        return f"kill {self.reason}".strip()


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """A rule asked to notify the operator."""

    rule_id: str
    level: str
    message: str

    def describe(self) -> str:
        return f"alert {self.level}: {self.message}"


RuleOutcome = PauseOutcome | FlattenOutcome | KillOutcome | AlertOutcome


@dataclass(frozen=True)
class Decision:
    """What the rules want right now, before quoting, hedging and the risk check."""

    state: TradingState = TradingState.QUOTING
    active_rules: tuple[str, ...] = ()
    pause_bid: bool = False
    pause_ask: bool = False
    # Distance added to each side's offset from mid: half of the largest full-spread widen
    # (`widen.add_full_spread_bps`) that names that side.
    widen_bid_bps: float = 0.0
    widen_ask_bps: float = 0.0
    # The highest-priority `skew` without `combine: add` (0 when none) plus every `add` skew.
    skew_bps: float = 0.0
    scale_clip: float = 1.0
    hedge_mode: str | None = None
    hedge_clip_multiplier: float | None = None
    hedge_offset_bps: float | None = None
    hedge_max_slippage_bps: float | None = None
    hedge_extra_offset_bps: float = 0.0
    regime: str | None = None
    flatten: bool = False
    kill: bool = False
    alerts: tuple[AlertOutcome, ...] = ()
    outcomes: tuple[RuleOutcome, ...] = field(default=(), compare=False)

    @property
    def kills(self) -> tuple[KillOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if isinstance(outcome, KillOutcome))

    @property
    def reasons(self) -> tuple[tuple[str, str], ...]:
        """(rule id, human-readable outcome) for traces and logs; never parsed back."""
        return tuple((outcome.rule_id, outcome.describe()) for outcome in self.outcomes)


def sides_of(side: str | None, inventory_lots: int) -> tuple[bool, bool]:
    """Resolve a side name to (bid, ask); `adding` is the side that would grow |inventory|."""
    if side in (None, "both"):
        return True, True
    if side == "bid":
        return True, False
    if side == "ask":
        return False, True
    if inventory_lots > 0:
        return True, False
    if inventory_lots < 0:
        return False, True
    return True, True


def merge(
    rules: Sequence[RuleSpec],
    active: Sequence[int],
    results: Sequence[object],
    inventory_lots: int,
) -> Decision:
    """kill > flatten > pause > hedge > widen/skew/scale; ties by priority, then rule id."""
    if not active:
        return EMPTY
    ordered = sorted(active, key=lambda index: (-rules[index].priority, rules[index].id))
    merged = _Merged()
    for index in ordered:
        rule = rules[index]
        merged.active.append(rule.id)
        for action in rule.actions:
            merged.apply(rule, action, results, inventory_lots)
    return merged.decision()


class _Merged:
    def __init__(self) -> None:
        self.active: list[str] = []
        self.pause_bid = self.pause_ask = False
        self.widen_bid = self.widen_ask = 0.0
        self.skew: float | None = None
        self.skew_added = 0.0
        self.scale = 1.0
        self.hedge: dict[str, float | str] = {}
        self.extra_offset = 0.0
        self.regime: str | None = None
        self.flatten = self.kill = False
        self.alerts: list[AlertOutcome] = []
        self.outcomes: list[RuleOutcome] = []

    def apply(
        self, rule: RuleSpec, action: ActionSpec, results: Sequence[object], inventory: int
    ) -> None:
        kind = action.kind
        if kind == "pause":
            bid, ask = sides_of(action.side, inventory)
            self.pause_bid |= bid
            self.pause_ask |= ask
            self.outcomes.append(PauseOutcome(rule.id, action.side or "both"))
        elif kind == "widen":
            # A full-spread amount: the spread grows by it, so each named side moves by half.
            add = (action.value("add_full_spread_bps", results) or 0.0) / 2
            bid, ask = sides_of(action.side, inventory)
            if bid:
                self.widen_bid = max(self.widen_bid, add)
            if ask:
                self.widen_ask = max(self.widen_ask, add)
        elif kind == "skew":
            if action.additive:  # `combine: add`: every one counts, summed in merge order
                self.skew_added += action.value("bps", results) or 0.0
            elif self.skew is None:  # highest priority wins
                self.skew = action.value("bps", results) or 0.0
        elif kind == "scale_clip":
            factor = action.value("factor", results)
            if factor is not None:
                self.scale = min(self.scale, max(0.0, factor))
        elif kind == "hedge":
            self._hedge(action, results)
        elif kind == "regime":
            if self.regime is None:
                self.regime = action.text
        elif kind == "flatten":
            self.flatten = True
            self.outcomes.append(FlattenOutcome(rule.id, action.text))
        elif kind == "kill":
            self.kill = True
            self.outcomes.append(KillOutcome(rule.id, action.text))
        elif kind == "alert":
            alert = AlertOutcome(rule.id, action.level, action.text)
            self.alerts.append(alert)
            self.outcomes.append(alert)

    def _hedge(self, action: ActionSpec, results: Sequence[object]) -> None:
        if action.text:
            current = self.hedge.get("mode")
            if current is None or HEDGE_MODES.index(action.text) > HEDGE_MODES.index(str(current)):
                self.hedge["mode"] = action.text
        for name in ("clip_multiplier", "offset_bps", "max_slippage_bps"):
            if name not in self.hedge:
                value = action.value(name, results)
                if value is not None:
                    self.hedge[name] = value
        extra = action.value("extra_offset_bps", results)
        if extra is not None:
            self.extra_offset = max(self.extra_offset, extra)

    def decision(self) -> Decision:
        if self.kill:
            state = TradingState.HALTED
        elif self.flatten or (self.pause_bid and self.pause_ask):
            state = TradingState.REDUCING
        else:
            state = TradingState.QUOTING
        hedge = self.hedge
        return Decision(
            state=state,
            active_rules=tuple(self.active),
            pause_bid=self.pause_bid or self.kill,
            pause_ask=self.pause_ask or self.kill,
            widen_bid_bps=self.widen_bid,
            widen_ask_bps=self.widen_ask,
            skew_bps=self._skew(),
            scale_clip=self.scale,
            hedge_mode=str(hedge["mode"]) if "mode" in hedge else None,
            hedge_clip_multiplier=_float(hedge.get("clip_multiplier")),
            hedge_offset_bps=_float(hedge.get("offset_bps")),
            hedge_max_slippage_bps=_float(hedge.get("max_slippage_bps")),
            hedge_extra_offset_bps=self.extra_offset,
            regime=self.regime,
            flatten=self.flatten,
            kill=self.kill,
            alerts=tuple(self.alerts),
            outcomes=tuple(self.outcomes),
        )

    def _skew(self) -> float:
        skew = (self.skew or 0.0) + self.skew_added
        # Finite skews can sum to infinity; like a non-finite argument, it never reaches pricing.
        return skew if math.isfinite(skew) else 0.0


def _float(value: float | str | None) -> float | None:
    return None if value is None else float(value)


EMPTY = Decision()


@dataclass(frozen=True, slots=True)
class _Reads:
    """What `merge` reads for one active set besides the rules: result slots, inventory sign."""

    slots: tuple[int, ...]
    inventory_sign: bool  # a side other than bid/ask/both (`adding`) resolves by its sign


class MergeCache:
    """`merge` remembered by everything it reads, so a repeated decision costs a lookup.

    For one policy's rules the merged Decision is a function of the active rule indexes, the
    expression results at the slots their actions read (every action argument, additive skews
    included), and (only when an action names the `adding` side) the sign of the inventory; an
    action's kind, side and `combine` are fixed by the rules the cache was built for. Most
    consecutive decisions merge the same active set with the same values, so the key is built
    from exactly those. A value's key is the value
    itself, except that zeros also carry their sign bit (0.0 == -0.0 but they are not the same
    argument); True/1/1.0 share a key and `Value.resolve` maps them to the same float. NaN never
    equals itself, so it is simply a miss. Bounded: the table is emptied when it is full.
    """

    def __init__(self, rules: Sequence[RuleSpec], limit: int = 4096) -> None:
        self.rules = tuple(rules)
        self.limit = limit
        self._reads: dict[tuple[int, ...], _Reads] = {}
        self._merged: dict[Hashable, Decision] = {}
        self.hits = 0
        self.misses = 0

    def merge(
        self, active: Sequence[int], results: Sequence[object], inventory_lots: int
    ) -> Decision:
        """Exactly `merge(rules, active, results, inventory_lots)`."""
        if not active:
            return EMPTY
        indexes = tuple(active)
        reads = self._reads.get(indexes)
        if reads is None:
            reads = self._reads[indexes] = _reads_of(self.rules, indexes)
        values = tuple([results[slot] for slot in reads.slots])
        key: Hashable = (indexes, values)
        if 0 in values:  # `in` compares by ==: catches 0, 0.0, -0.0 and False
            key = (indexes, values, _zero_signs(values))
        if reads.inventory_sign:
            key = (key, (inventory_lots > 0) - (inventory_lots < 0))
        decision = self._merged.get(key)
        if decision is not None:
            self.hits += 1
            return decision
        self.misses += 1
        decision = merge(self.rules, indexes, results, inventory_lots)
        if len(self._merged) >= self.limit:
            self._merged.clear()
        self._merged[key] = decision
        return decision


_FIXED_SIDES = (None, "both", "bid", "ask")  # the sides `sides_of` resolves without inventory


def _reads_of(rules: Sequence[RuleSpec], active: Sequence[int]) -> _Reads:
    slots: set[int] = set()
    adding = False
    for index in active:
        for action in rules[index].actions:
            adding |= action.side not in _FIXED_SIDES
            for _, value in action.values:
                if value.slot is not None:
                    slots.add(value.slot)
    return _Reads(tuple(sorted(slots)), adding)


def _zero_signs(values: tuple[object, ...]) -> tuple[bool, ...]:
    """Per value: is it a float zero with the sign bit set (-0.0)."""
    return tuple(
        isinstance(value, float) and value == 0 and math.copysign(1.0, value) < 0
        for value in values
    )
