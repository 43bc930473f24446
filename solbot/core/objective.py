"""Sweep objectives: arithmetic over a run's summary figures, checked by an allow-list, no eval."""

from __future__ import annotations

import ast
import difflib
import math
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from solbot.errors import UsageError

MAX_LENGTH = 500
_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {"abs": abs, "min": min, "max": max}


@dataclass(frozen=True)
class Objective:
    """A checked expression such as `net_pnl_usd - 0.5 * max_abs_inventory`."""

    text: str
    tree: ast.expr
    names: frozenset[str]

    def evaluate(self, figures: Mapping[str, float | int | None]) -> float:
        """The objective's value; NaN when a figure it reads is missing (a failed point)."""
        try:
            value = _evaluate(self.tree, figures)
        except (KeyError, TypeError, ZeroDivisionError):
            return math.nan
        return value if math.isfinite(value) else math.nan


def compile_objective(text: str, names: Collection[str]) -> Objective:
    """Parse and check `text`: numbers, `+ - * /`, abs/min/max and the figure `names` only."""
    if len(text) > MAX_LENGTH:
        raise UsageError(f"--objective: longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        raise UsageError(f"--objective: cannot parse '{text}': {error.msg}") from None
    used: set[str] = set()
    _check(tree, set(names), used)
    return Objective(text, tree, frozenset(used))


def _check(node: ast.AST, names: set[str], used: set[str]) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise UsageError(f"--objective: only numbers are allowed, found {node.value!r}")
    elif isinstance(node, ast.Name):
        if node.id not in names:
            hint = difflib.get_close_matches(node.id, sorted(names), n=1)
            suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise UsageError(f"--objective: unknown summary figure '{node.id}'{suffix}")
        used.add(node.id)
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, names, used)
        _check(node.right, names, used)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check(node.operand, names, used)
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
        and node.args
    ):
        if node.func.id == "abs" and len(node.args) != 1:
            raise UsageError("--objective: abs takes one argument")
        for argument in node.args:
            _check(argument, names, used)
    else:
        found = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
        raise UsageError(
            f"--objective: '{found}' is not allowed; use summary figures, numbers, "
            "+ - * /, abs, min and max"
        )


def _evaluate(node: ast.expr, figures: Mapping[str, float | int | None]) -> float:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # _check allowed numbers only
        return float(node.value)
    if isinstance(node, ast.Name):
        value = figures[node.id]
        if value is None:
            raise TypeError(node.id)
        return float(value)
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, figures), _evaluate(node.right, figures)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, figures))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    return float(_FUNCTIONS[node.func.id](*(_evaluate(a, figures) for a in node.args)))
