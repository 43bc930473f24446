"""Reference evaluation with simpleeval's interpreter, and per-sub-expression explanations."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Final

from simpleeval import SimpleEval

from solbot.core.expressions_check import PARAMETER_OBJECT, CheckedExpression
from solbot.core.expressions_runtime import (
    MISSING,
    RUNTIME_ERRORS,
    clamp,
    finite_comparison,
    is_finite_result,
    power,
)

# Only the operators the checker admits; everything else stays unavailable in the reference too.
_OPERATORS: Final[dict[type[ast.AST], Callable[..., object]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: power,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
    # A comparison with a non-finite operand (NaN, inf) is MISSING, as in the compiled program.
    ast.Lt: finite_comparison(operator.lt),
    ast.LtE: finite_comparison(operator.le),
    ast.Gt: finite_comparison(operator.gt),
    ast.GtE: finite_comparison(operator.ge),
    ast.Eq: finite_comparison(operator.eq),
    ast.NotEq: finite_comparison(operator.ne),
}
_FUNCTIONS: Final[dict[str, Callable[..., object]]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "clamp": clamp,
}


def evaluate_reference(
    expression: CheckedExpression,
    signals: Mapping[str, float | None],
    params: Mapping[str, float],
) -> object:
    """Evaluate with simpleeval; MISSING when a signal it reads is absent/None or it raises."""
    return _evaluate(expression, expression.tree.body, signals, params)


def explain_expression(
    expression: CheckedExpression,
    signals: Mapping[str, float | None],
    params: Mapping[str, float],
) -> list[tuple[str, object]]:
    """The whole expression, then each comparison and and/or/not inside it, with its value."""
    root = expression.tree.body
    parts = [root] + [node for node in _preorder(root) if node is not root and _is_logical(node)]
    text = expression.source.text
    explained: list[tuple[str, object]] = []
    for node in parts:
        segment = ast.get_source_segment(text, node) or ""
        explained.append((" ".join(segment.split()), _evaluate(expression, node, signals, params)))
    return explained


def _evaluate(
    expression: CheckedExpression,
    node: ast.expr,
    signals: Mapping[str, float | None],
    params: Mapping[str, float],
) -> object:
    read_signals = {
        n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in expression.signals
    }
    # Readiness is judged on every signal read, taken branch or not, as the compiled program does.
    if any(signals.get(name) is None for name in read_signals):
        return MISSING
    names: dict[str, object] = {name: signals[name] for name in read_signals}
    for param in expression.params:
        if param not in params:
            raise KeyError(f"no value for parameter 'p.{param}' of {expression.source.field}")
        names[f"{PARAMETER_OBJECT}.{param}"] = params[param]
    evaluator = SimpleEval(operators=_OPERATORS, functions=_FUNCTIONS, names=names)
    try:
        result: object = evaluator.eval(expression.source.text, previously_parsed=node)
    except RUNTIME_ERRORS:
        return MISSING
    return result if is_finite_result(result) else MISSING


def _preorder(node: ast.AST) -> list[ast.expr]:
    """Sub-expressions in source order, outer before inner."""
    found: list[ast.expr] = []
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.expr):
            found.append(current)
        stack.extend(reversed(list(ast.iter_child_nodes(current))))
    return found


def _is_logical(node: ast.expr) -> bool:
    return isinstance(node, ast.Compare | ast.BoolOp) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    )
