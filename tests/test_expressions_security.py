"""Sandbox-escape attempts: every one must be refused at load time with a located ConfigError."""

from __future__ import annotations

import pytest

from solbot.core.expressions import (
    ExpressionSource,
    check_expression,
    compile_expressions,
)
from solbot.errors import ConfigError

SIGNALS = ("mid", "spread_bps", "ret_5m_bps", "inventory_units")
PARAMS = ("spread_floor_bps", "x")

ESCAPES = [
    "__import__('os')",
    "__import__('os').system('true')",
    "().__class__.__bases__[0].__subclasses__()",
    "().__class__",
    "(1).__class__",
    "True.__class__",
    "mid.__class__.__mro__",
    "p.__class__",
    "p.__dict__",
    "p.__init__.__globals__",
    "p.x.__globals__",
    "p.x.y",
    "p._x",
    "p",
    "p()",
    "p.x()",
    "mid.real",
    "mid.hex()",
    "(lambda: 1)()",
    "lambda: 1",
    "[x for x in range(9)]",
    "{x for x in (1, 2)}",
    "{x: 1 for x in (1, 2)}",
    "(x for x in (1, 2))",
    "sum(x for x in (1, 2))",
    "{1: 2}",
    "[1, 2]",
    "(1, 2)",
    "{1, 2}",
    "'a' * 10**9",
    "'abc'",
    "b'abc'",
    "f'{mid}'",
    "f'{mid.__class__}'",
    "2 ** 10 ** 10",
    "9 ** 999999",
    "mid ** 5",
    "mid ** 0.5",
    "mid ** p.x",
    "mid ** mid",
    "10 ** 16",
    "1e16 + mid",
    "1e999",
    "12345678901234567890",
    "1j",
    "None",
    "...",
    "open('x')",
    "eval('1')",
    "exec('1')",
    "exec",
    "compile('1', 'x', 'eval')",
    "getattr(p, 'x')",
    "setattr(p, 'x', 1)",
    "globals()",
    "locals()",
    "vars()",
    "dir()",
    "type(1)",
    "int('9' * 5000)",
    "float('nan')",
    "print(1)",
    "breakpoint()",
    "abs.__self__",
    "min.__self__.open",
    "(y := 1)",
    "min(*(1, 2))",
    "max(**{'a': 1})",
    "abs(x=1)",
    "clamp(mid, lo=1, hi=2)",
    "mid[0]",
    "mid[1:2]",
    "p['x']",
    "not_a_signal",
    "ret_5m_bsp < 0",
    "__builtins__",
    "__builtins__['eval']('1')",
    "__name__",
    "_",
    "import os",
    "from os import system",
    "1; 2",
    "a = 1",
    "mid += 1",
    "del mid",
    "yield",
    "(yield)",
    "(yield from mid)",
    "await mid",
    "assert mid",
    "raise SystemExit",
    "if mid: 1",
    "def f(): pass",
    "mid\n__import__('os')",
    "mid if mid else __import__('os')",
    "mid or open('x')",
    "mid in (1, 2)",
    "mid is None",
    "mid is not mid",
    "mid not in (1,)",
    "~mid",
    "mid << 99999",
    "mid >> 1",
    "mid & 1",
    "mid | 1",
    "mid ^ 1",
    "mid @ mid",
    "ｍｉｄ",
    "ｏｐｅｎ('x')",
    "mіd",  # Cyrillic i
    "ℙ.x",
    "mid\x00",
    "mid # __import__('os')",
    "mid < 1 \\\n or open('x')",
    "mid + " * 2000 + "1",
    "(" * 200 + "mid" + ")" * 200,
    "-" * 60 + "mid",
    "abs(" * 60 + "mid" + ")" * 60,
    "",
    "   ",
    "'\\d'",
    "1if mid else 2",
]


def _source(text: str) -> ExpressionSource:
    return ExpressionSource(text, "rules/escape.yaml", 4, 11, "escape.when")


@pytest.mark.parametrize("text", ESCAPES, ids=[repr(text)[:50] for text in ESCAPES])
def test_escape_attempt_is_refused_at_load_time(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_expression(_source(text), SIGNALS, PARAMS)
    problems = caught.value.problems
    assert problems, "a refusal must carry at least one located problem"
    for problem in problems:
        assert problem.path == "rules/escape.yaml"
        assert problem.field == "escape.when"
        assert problem.line >= 4
        assert problem.column >= 11
        assert problem.message


def test_catalogue_is_large_and_distinct() -> None:
    assert len(set(ESCAPES)) == len(ESCAPES) >= 40


def test_compiled_namespace_has_empty_builtins() -> None:
    checked = [
        check_expression(_source(text), SIGNALS, PARAMS)
        for text in ("mid > p.x", "abs(inventory_units) * 2", "clamp(spread_bps, 1, 9)")
    ]
    program = compile_expressions(checked, {s: i for i, s in enumerate(SIGNALS)}, {"x": 0})
    namespace = program.function.__globals__
    assert namespace["__builtins__"] == {}
    assert set(namespace) == {
        "__builtins__",
        "MISSING",
        "_RUNTIME_ERRORS",
        "_LOWEST",  # float bounds: a non-finite result is MISSING
        "_HIGHEST",
        "_sum",  # the steady-state guard: every input finite (sum of values and params)
        "abs",
        "min",
        "max",
        "clamp",
        program.name,
    }


def test_user_text_reaches_generated_code_only_inside_comments() -> None:
    text = "mid > 1 and spread_bps < 2"
    checked = check_expression(_source(text), SIGNALS, PARAMS)
    program = compile_expressions([checked], {s: i for i, s in enumerate(SIGNALS)}, {})
    for line in program.source.splitlines():
        if "mid" in line or "spread_bps" in line:
            assert line.lstrip().startswith("#")


def test_comment_text_cannot_break_out_of_its_line() -> None:
    # A path with a newline (not possible from YAML, but the generator must not trust it).
    source = ExpressionSource("mid > 1", "evil\n__import__('os')\n", 1, 1, "f\nx = 1")
    checked = check_expression(source, SIGNALS, PARAMS)
    program = compile_expressions([checked], {s: i for i, s in enumerate(SIGNALS)}, {})
    assert "\n__import__" not in program.source
    assert program([2.0, 0.0, 0.0, 0.0], 1, []) == [True]


def test_program_name_must_be_a_plain_identifier() -> None:
    for name in ("x(); import os", "class", "values", "1abc", ""):
        with pytest.raises(ValueError):
            compile_expressions([], {}, {}, name=name)
