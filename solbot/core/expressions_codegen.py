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
    emitter.finite_inputs = True
    steady_codes = [emitter.emit(expression.tree.body) for expression in expressions]
    masks = [_mask(expression, signal_index) for expression in expressions]
    all_ready = _mask_of(signal_locals, signal_index)
    returned = f"return [{', '.join(f'e{i}' for i in range(len(expressions)))}]"
    if all_ready:
        # Steady state (every signal warmed up, every input finite: their sum is, and a NaN or
        # inf makes it not): skip the per-expression mask tests and the finiteness checks of
        # comparison operands that only pass inputs on (a signal, min(a, b), ...).
        finite = "_LOWEST <= _sum(values) + _sum(params) <= _HIGHEST"
        lines.append(f"    if (ready & {all_ready}) == {all_ready} and {finite}:")
        for position, expression in enumerate(expressions):
            block = _expression_block(
                position,
                expression,
                steady_codes[position],
                0,
                checked=not _finite_when_inputs_are(expression.tree.body),
            )
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
    position: int, expression: CheckedExpression, code: str, mask: int, checked: bool = True
) -> list[str]:
    """`checked=False`: the value is finite (or a bool) by construction, no range test."""
    source = expression.source
    where = f"{source.path}:{source.line}:{source.column} {source.field}"
    # repr() keeps user text inert inside the comment (no newline can end it).
    comment = f"    # [{position}] {where!r} {' '.join(source.text.split())!r}"
    body = ["try:", f"    e{position} = {code}"]
    if checked:
        # An overflow (inf) or inf - inf (NaN) fails closed like x / 0: one chained comparison.
        body += [
            f"    if not (_LOWEST <= e{position} <= _HIGHEST):",
            f"        e{position} = MISSING",
        ]
    body += ["except _RUNTIME_ERRORS:", f"    e{position} = MISSING"]
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
        "_sum": sum,
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
        self.temporaries = 0
        # True while emitting the steady-state block, where every signal and parameter is finite.
        self.finite_inputs = False

    def _compare(self, node: ast.Compare) -> str:
        """A (chained) comparison that is MISSING when an operand it compares is not finite.

        `a < b <= c` becomes, with each operand evaluated once into a temporary and checked
        (`LO <= t <= HI` is False for NaN and +-inf, and raises TypeError for MISSING):
        `(MISSING if not LO <= (t0 := a) <= HI else MISSING if not LO <= (t1 := b) <= HI
        else ((t0 < t1) and (MISSING if not ... else (t1 <= t2))))`. Python's chain stops at the
        first False link, and so does `and`. Finite literals need no check.
        """
        operands = [node.left, *node.comparators]
        names: list[str] = []
        checks: list[str] = []
        for operand in operands:
            code = self.emit(operand)
            if isinstance(operand, ast.Constant) or (
                self.finite_inputs and _passes_inputs_on(operand)
            ):
                names.append(code)
                checks.append("")
                continue
            name = f"_t{self.temporaries}"
            self.temporaries += 1
            names.append(name)
            checks.append(f"MISSING if not (_LOWEST <= ({name} := {code}) <= _HIGHEST) else ")
        tail = ""
        for position in range(len(node.ops), 0, -1):
            symbol = _SYMBOLS[type(node.ops[position - 1])]
            link = f"({names[position - 1]} {symbol} {names[position]})"
            tail = (
                f"{checks[position]}({link} and ({tail}))" if tail else f"{checks[position]}{link}"
            )
        return f"({checks[0]}{tail})"

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
            return self._compare(node)
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


def _passes_inputs_on(node: ast.expr) -> bool:
    """True when `node` is finite whenever the signals and parameters it reads are: it returns
    one of them, a literal, or their absolute value, never an arithmetic result (1e300 * 1e300)
    nor a comparison (MISSING when one of its own operands was not finite)."""
    if isinstance(node, ast.Constant | ast.Name):
        return True
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.Not) or _passes_inputs_on(node.operand)
    if isinstance(node, ast.BoolOp):
        return all(_passes_inputs_on(value) for value in node.values)
    if isinstance(node, ast.IfExp):
        return _passes_inputs_on(node.body) and _passes_inputs_on(node.orelse)
    if isinstance(node, ast.Call):
        return all(_passes_inputs_on(argument) for argument in node.args)
    return False


def _finite_when_inputs_are(node: ast.expr) -> bool:
    """True when `node`, as the steady-state block emits it (every signal and parameter finite),
    can only give a finite number or a bool, so testing its range could change nothing: it
    passes an input on (`_passes_inputs_on`), or it is a comparison whose operands all do (the
    block emits it unguarded: a bool), or `not`, `and`/`or`, `x if c else y`, a sign or
    abs/min/max/clamp over such values. Arithmetic (`a * b` may overflow) is never."""
    if isinstance(node, ast.Constant | ast.Name):
        return True
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.Not) or (
            isinstance(node.op, ast.USub | ast.UAdd) and _finite_when_inputs_are(node.operand)
        )
    if isinstance(node, ast.Compare):
        return all(_passes_inputs_on(operand) for operand in (node.left, *node.comparators))
    if isinstance(node, ast.BoolOp):
        return all(_finite_when_inputs_are(value) for value in node.values)
    if isinstance(node, ast.IfExp):
        return _finite_when_inputs_are(node.body) and _finite_when_inputs_are(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in FUNCTION_ARITY and all(
            _finite_when_inputs_are(argument) for argument in node.args
        )
    return False


def _literal(value: object) -> str:
    if isinstance(value, bool) or (isinstance(value, int | float) and math.isfinite(value)):
        return f"({value!r})"
    raise ValueError(f"unchecked literal {value!r} reached the code generator")
