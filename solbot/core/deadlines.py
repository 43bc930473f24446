"""When can time alone change a decision? The replay driver ticks only at those moments.

Live, the session decides on a wall-clock timer at the decision interval. Replaying a year of
bars on that grid would mean hundreds of millions of empty decisions, so the replay driver asks
the engine for the next moment at which a decision could differ from the last one with no new
market event: a rule timer running out (`hold`, `min_active`, `cooldown`), a clock signal
(`feed_age_s`, `exposure_s`, ...) reaching a threshold some rule compares it with, a regime's
minimum dwell ending, the guard's backoff or hard stale stop, the hedger's passive timeout or
cooldown, a fill leaving a rolling PnL window, or the UTC day rolling over.

Thresholds come from the rules themselves: for every comparison `clock_signal OP bound` where
`bound` reads only parameters and numbers, the crossing time is exact. A clock signal used in
any other way (inside arithmetic, compared with another signal) cannot be solved for, so the
policy marks it as needing the decision-interval grid while it runs.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

NS = 1_000_000_000
DAY_NS = 86_400 * NS
NEVER = 2**63 - 1

# Signals that grow by one second per second while running (value = (now - origin) / 1 s).
CLOCK_SIGNALS = frozenset(
    {"feed_age_s", "exposure_s", "over_trigger_s", "guard_block_s", "regime_age_s"}
)

_COMPARISONS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


@dataclass(frozen=True)
class ClockWatch:
    """Thresholds (seconds) some rule compares a clock signal with, per regime."""

    signal: str
    thresholds_by_regime: Mapping[str, tuple[float, ...]]


@dataclass(frozen=True)
class ClockPlan:
    """The clock signals a policy reads: solvable thresholds, and those needing the grid."""

    watches: tuple[ClockWatch, ...] = ()
    grid_signals: frozenset[str] = frozenset()

    def thresholds(self, regime: str) -> Iterable[tuple[str, tuple[float, ...]]]:
        for watch in self.watches:
            yield watch.signal, watch.thresholds_by_regime.get(regime, ())


def plan_clock(
    trees: Iterable[ast.Expression],
    param_names: Sequence[str],
    params_by_regime: Mapping[str, Sequence[float]],
) -> ClockPlan:
    """Find every clock-signal threshold in the rules' expressions (evaluated per regime)."""
    bounds: dict[str, list[ast.expr]] = {}
    grid: set[str] = set()
    for tree in trees:
        _collect(tree.body, bounds, grid)
    index = {name: position for position, name in enumerate(param_names)}
    watches = []
    for signal in sorted(bounds):
        per_regime: dict[str, tuple[float, ...]] = {}
        for regime, params in sorted(params_by_regime.items()):
            values = []
            lookup = _lookup(params, index)
            for node in bounds[signal]:
                value = _evaluate(node, lookup)
                if value is None:
                    grid.add(signal)
                elif math.isfinite(value) and value >= 0:
                    values.append(value)
            per_regime[regime] = tuple(sorted(set(values)))
        watches.append(ClockWatch(signal, per_regime))
    return ClockPlan(tuple(watches), frozenset(grid))


def _lookup(params: Sequence[float], index: Mapping[str, int]) -> Callable[[str], float]:
    return lambda name: params[index[name]]


def _collect(node: ast.AST, bounds: dict[str, list[ast.expr]], grid: set[str]) -> None:
    """Record `clock OP bound` comparisons; any other use of a clock signal needs the grid."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = node.left, node.comparators[0]
        clock_side = _clock_name(left) or _clock_name(right)
        other = right if _clock_name(left) else left
        if clock_side and isinstance(node.ops[0], _COMPARISONS) and not _reads_signal(other):
            bounds.setdefault(clock_side, []).append(other)
            return
    if isinstance(node, ast.Name) and node.id in CLOCK_SIGNALS:
        grid.add(node.id)
        return
    for child in ast.iter_child_nodes(node):
        _collect(child, bounds, grid)


def _clock_name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) and node.id in CLOCK_SIGNALS else None


def _reads_signal(node: ast.expr) -> bool:
    """True when the subtree reads a signal (parameters are Names spelled `p.x`)."""
    return any(
        isinstance(child, ast.Name) and not child.id.startswith("p.") for child in ast.walk(node)
    )


def _evaluate(node: ast.expr, param: Callable[[str], float]) -> float | None:
    """A bound made of numbers, parameters, + - * / and abs/min/max/clamp; None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id.startswith("p."):
        return float(param(node.id[2:]))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _evaluate(node.operand, param)
        if operand is None:
            return None
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        return _binary(node, param)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        arguments = [_evaluate(argument, param) for argument in node.args]
        if any(argument is None for argument in arguments):
            return None
        return _call(node.func.id, [a for a in arguments if a is not None])
    return None


def _binary(node: ast.BinOp, param: Callable[[str], float]) -> float | None:
    left, right = _evaluate(node.left, param), _evaluate(node.right, param)
    if left is None or right is None:
        return None
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    if isinstance(node.op, ast.Div) and right != 0:
        return left / right
    return None


def _call(name: str, arguments: list[float]) -> float | None:
    if name == "abs" and len(arguments) == 1:
        return abs(arguments[0])
    if name == "min" and arguments:
        return min(arguments)
    if name == "max" and arguments:
        return max(arguments)
    if name == "clamp" and len(arguments) == 3:
        return min(max(arguments[0], arguments[1]), arguments[2])
    return None


def crossing_times(origin_ns: int, thresholds: Iterable[float], now_ns: int) -> int:
    """The first moment after now at which (t - origin) passes one of the thresholds.

    One nanosecond past the exact crossing, so strict (`>`) comparisons hold there too.
    """
    best = NEVER
    for seconds in thresholds:
        at = origin_ns + math.ceil(seconds * NS) + 1
        if now_ns < at < best:
            best = at
    return best


def crossing_offsets(plan: ClockPlan) -> dict[str, tuple[tuple[str, tuple[int, ...]], ...]]:
    """Per regime: (clock signal, ns after its origin at which it passes each threshold).

    The offsets `crossing_times` adds to the origin, computed once per policy instead of on
    every decision; signals without a threshold in a regime are left out.
    """
    regimes = {regime for watch in plan.watches for regime in watch.thresholds_by_regime}
    return {
        regime: tuple(
            (signal, tuple(math.ceil(seconds * NS) + 1 for seconds in thresholds))
            for signal, thresholds in plan.thresholds(regime)
            if thresholds
        )
        for regime in sorted(regimes)
    }
