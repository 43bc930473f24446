"""Rule expressions: allow-list checked at load, compiled into one function, run per tick.

`check_expression` parses one `when`/`until`/value string and refuses anything outside a small
language (numbers, signals, `p.<parameter>`, arithmetic, comparisons, and/or/not, conditionals,
abs/min/max/clamp), reporting file:line:column. `compile_expressions` fuses a ruleset's checked
expressions into ONE generated function run with empty builtins. `evaluate_reference` interprets
an expression with simpleeval, the slow but obviously right twin the differential tests compare
against; `explain_expression` uses it to show the value of every comparison inside a rule.
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
