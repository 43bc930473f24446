"""Rule expressions: allow-list checked at load, compiled into one function, run per tick.

`check_expression` parses one `when`/`until`/value string and refuses anything outside a small
language, reporting file:line:column. `compile_expressions` fuses a ruleset's checked expressions
into ONE generated function run with empty builtins. `evaluate_reference` interprets an
expression with simpleeval, the slow but obviously right twin the differential tests compare
against; `explain_expression` uses it to show the value of every comparison inside a rule.

The language: int/float/bool literals (|x| <= 1e15), catalog signal names, `p.<parameter>`,
unary - + not, + - * / // %, `x ** k` with a whole literal |k| <= 4 (computed in floating point),
< <= > >= == != (chained), and/or, `a if c else b`, abs(x), min(a, b, ...), max(a, b, ...),
clamp(x, lo, hi) (lo > hi or NaN bounds -> MISSING). Text is ASCII without '#', at most 1000
characters, at most 50 levels of nodes or brackets. Newlines count as spaces, so a YAML block
scalar may span lines without brackets; its later lines are assumed to start at the column of
the first character (true of block scalars). An expression is MISSING when a signal it reads is
not ready (one mask test, whatever branch is taken) or it raises an arithmetic, value or type
error. MISSING has no truth value: test it with `is MISSING`.
"""

from __future__ import annotations

from solbot.core.expressions_check import (
    MAX_EXPRESSION_CHARS,
    MAX_LITERAL_MAGNITUDE,
    MAX_NESTING_DEPTH,
    MAX_POWER_EXPONENT,
    CheckedExpression,
    ExpressionSource,
    check_expression,
)
from solbot.core.expressions_codegen import CompiledProgram, ProgramFunction, compile_expressions
from solbot.core.expressions_reference import evaluate_reference, explain_expression
from solbot.core.expressions_runtime import (
    FUNCTION_ARITY,
    MISSING,
    RUNTIME_ERRORS,
    Missing,
    clamp,
)

__all__ = [
    "FUNCTION_ARITY",
    "MAX_EXPRESSION_CHARS",
    "MAX_LITERAL_MAGNITUDE",
    "MAX_NESTING_DEPTH",
    "MAX_POWER_EXPONENT",
    "MISSING",
    "RUNTIME_ERRORS",
    "CheckedExpression",
    "CompiledProgram",
    "ExpressionSource",
    "Missing",
    "ProgramFunction",
    "check_expression",
    "clamp",
    "compile_expressions",
    "evaluate_reference",
    "explain_expression",
]
