"""Turn checked expressions into ONE generated Python function that evaluates them all."""

from __future__ import annotations

import ast
import keyword
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

from solbot.core.expressions_check import PARAMETER_OBJECT, CheckedExpression
from solbot.core.expressions_runtime import FUNCTION_ARITY, MISSING, RUNTIME_ERRORS, clamp

PARAMETER_PREFIX: Final = f"{PARAMETER_OBJECT}."
ProgramFunction = Callable[[Sequence[float], int, Sequence[float]], list[object]]

_RESERVED: Final = frozenset({"values", "ready", "params", "MISSING", "clamp", "abs", "min", "max"})
_SYMBOLS: Final[dict[type[ast.AST], str]] = {
    ast.USub: "-",
    ast.UAdd: "+",
    ast.Not: "not ",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.And: "and",
    ast.Or: "or",
}


class CompiledProgram:
    """The generated function for a ruleset and its source (for `explain --show-source`)."""

    def __init__(
        self,
        name: str,
        source: str,
        function: ProgramFunction,
        expressions: Sequence[CheckedExpression],
    ) -> None:
        self.name = name
        self.source = source
        # Hot loops should bind `program.function` once: it skips one Python-level call.
        self.function = function
        self.expressions = tuple(expressions)

    def __call__(
        self, values: Sequence[float], ready_mask: int, params: Sequence[float]
    ) -> list[object]:
        """Evaluate every expression; position i holds expression i's value or MISSING."""
        return self.function(values, ready_mask, params)

    def __repr__(self) -> str:
        return f"CompiledProgram({self.name!r}, {len(self.expressions)} expressions)"


def compile_expressions(
    expressions: Sequence[CheckedExpression],
    signal_index: Mapping[str, int],
    param_index: Mapping[str, int],
    name: str = "evaluate_ruleset",
) -> CompiledProgram:
    """Generate, compile and return one function evaluating all `expressions` in order."""
    if not name.isidentifier() or keyword.iskeyword(name) or name in _RESERVED:
        raise ValueError(f"program name {name!r} is not a usable Python identifier")
    used_signals = set().union(*(expression.signals for expression in expressions))
    used_params = set().union(*(expression.params for expression in expressions))
    signal_locals = _locals("s", used_signals, signal_index, "signal")
    param_locals = _locals("q", used_params, param_index, "parameter")
    lines = [f"def {name}(values, ready, params):"]
    lines += [f"    {local} = values[{signal_index[s]}]" for s, local in signal_locals.items()]
    lines += [f"    {local} = params[{param_index[p]}]" for p, local in param_locals.items()]
    emitter = _Emitter(signal_locals, param_locals)
    codes = [emitter.emit(expression.tree.body) for expression in expressions]
    masks = [_mask(expression, signal_index) for expression in expressions]
    all_ready = _mask_of(signal_locals, signal_index)
    returned = f"return [{', '.join(f'e{i}' for i in range(len(expressions)))}]"
    if all_ready:
        # Steady state (every signal warmed up): skip the per-expression mask tests.
        lines.append(f"    if (ready & {all_ready}) == {all_ready}:")
        for position, expression in enumerate(expressions):
            block = _expression_block(position, expression, codes[position], 0)
            lines += [f"    {line}" for line in block]
        lines.append(f"        {returned}")
    for position, expression in enumerate(expressions):
        lines += _expression_block(position, expression, codes[position], masks[position])
    lines.append(f"    {returned}")
    source = "\n".join(lines) + "\n"
    return CompiledProgram(name, source, _build(name, source), expressions)


def _mask(expression: CheckedExpression, signal_index: Mapping[str, int]) -> int:
    return _mask_of(expression.signals, signal_index)


def _mask_of(signals: Iterable[str], signal_index: Mapping[str, int]) -> int:
    mask = 0
    for signal in signals:
        mask |= 1 << signal_index[signal]
    return mask


def _locals(prefix: str, used: set[str], index: Mapping[str, int], kind: str) -> dict[str, str]:
    """Local variable per used name, ordered by index so the source is deterministic."""
    unknown = sorted(used - set(index))
    if unknown:
        raise ValueError(f"no index for {kind} {', '.join(map(repr, unknown))}")
    for used_name in used:
        if not isinstance(index[used_name], int) or index[used_name] < 0:
            raise ValueError(f"{kind} {used_name!r} has invalid index {index[used_name]!r}")
    ordered = sorted(used, key=lambda used_name: (index[used_name], used_name))
    return {used_name: f"{prefix}{index[used_name]}" for used_name in ordered}


def _expression_block(
    position: int, expression: CheckedExpression, code: str, mask: int
) -> list[str]:
    source = expression.source
    where = f"{source.path}:{source.line}:{source.column} {source.field}"
    # repr() keeps user text inert inside the comment (no newline can end it).
    comment = f"    # [{position}] {where!r} {' '.join(source.text.split())!r}"
    body = [
        "try:",
        f"    e{position} = {code}",
        # An overflow (inf) or inf - inf (NaN) fails closed like x / 0: one chained comparison.
        f"    if not (_LOWEST <= e{position} <= _HIGHEST):",
        f"        e{position} = MISSING",
        "except _RUNTIME_ERRORS:",
        f"    e{position} = MISSING",
    ]
    if mask == 0:
        return [comment] + [f"    {line}" for line in body]
    # One mask test decides readiness up front, whatever branches the expression takes.
    guarded = [f"if (ready & {mask}) == {mask}:"] + [f"    {line}" for line in body]
    guarded += ["else:", f"    e{position} = MISSING"]
    return [comment] + [f"    {line}" for line in guarded]


def _build(name: str, source: str) -> ProgramFunction:
    namespace: dict[str, object] = {
        "__builtins__": {},
        "MISSING": MISSING,
        "_RUNTIME_ERRORS": RUNTIME_ERRORS,
        "_LOWEST": -sys.float_info.max,
        "_HIGHEST": sys.float_info.max,
        "abs": abs,
        "min": min,
        "max": max,
        "clamp": clamp,
    }
    exec(compile(source, f"<solbot expressions {name}>", "exec"), namespace)
    function = namespace[name]
    assert callable(function)
    return function


class _Emitter:
    """Writes a checked tree as fully parenthesised Python over the local variables."""

    def __init__(self, signal_locals: Mapping[str, str], param_locals: Mapping[str, str]) -> None:
        self.signal_locals = signal_locals
        self.param_locals = param_locals

    def emit(self, node: ast.expr) -> str:
        if isinstance(node, ast.Constant):
            return _literal(node.value)
        if isinstance(node, ast.Name):
            parameter = node.id.removeprefix(PARAMETER_PREFIX)
            if parameter != node.id:
                return self.param_locals[parameter]
            return self.signal_locals[node.id]
        if isinstance(node, ast.UnaryOp):
            return f"({_SYMBOLS[type(node.op)]}{self.emit(node.operand)})"
        if isinstance(node, ast.BinOp):
            left, right = self.emit(node.left), self.emit(node.right)
            if isinstance(node.op, ast.Pow):
                # Same as runtime.power: float base, so no huge integers from nested powers.
                return f"(({left} * 1.0) ** {right})"
            return f"({left} {_SYMBOLS[type(node.op)]} {right})"
        if isinstance(node, ast.BoolOp):
            joiner = f" {_SYMBOLS[type(node.op)]} "
            return f"({joiner.join(self.emit(value) for value in node.values)})"
        if isinstance(node, ast.Compare):
            parts = [self.emit(node.left)]
            for operator, comparator in zip(node.ops, node.comparators, strict=True):
                parts += [_SYMBOLS[type(operator)], self.emit(comparator)]
            return f"({' '.join(parts)})"
        if isinstance(node, ast.IfExp):
            body, test, orelse = (self.emit(n) for n in (node.body, node.test, node.orelse))
            return f"({body} if {test} else {orelse})"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in FUNCTION_ARITY
        ):
            return f"{node.func.id}({', '.join(self.emit(a) for a in node.args)})"
        raise ValueError(f"unchecked node {type(node).__name__} reached the code generator")


def _literal(value: object) -> str:
    if isinstance(value, bool) or (isinstance(value, int | float) and math.isfinite(value)):
        return f"({value!r})"
    raise ValueError(f"unchecked literal {value!r} reached the code generator")
