"""Differential: the fused generated program agrees with simpleeval on random expressions."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solbot.core.expressions import (
    MISSING,
    CheckedExpression,
    ExpressionSource,
    check_expression,
    compile_expressions,
    evaluate_reference,
)
from solbot.errors import ConfigError

SIGNALS = ("a", "b", "c", "d")
PARAMS = ("x", "y")
SIGNAL_INDEX = {"a": 0, "b": 3, "c": 1, "d": 5}  # sparse on purpose
PARAM_INDEX = {"x": 1, "y": 0}

SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, math.nan, math.inf, -math.inf, 1e308, -1e-308, 3.0]
signal_values = st.one_of(
    st.none(),
    st.sampled_from(SPECIAL_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-2, 2).map(float),  # small pool: equal operands make <= differ from <
)
param_values = st.one_of(
    st.sampled_from(SPECIAL_FLOATS), st.floats(-1e6, 1e6), st.integers(-2, 2).map(float)
)

literals = st.one_of(
    st.integers(0, 10).map(str),
    st.sampled_from(["0.5", "1e15", "1e-9", "2.5", "True", "False", "0", "0.0", "1e3"]),
)
leaves = st.one_of(
    st.sampled_from(SIGNALS), st.sampled_from([f"p.{name}" for name in PARAMS]), literals
)


def _maybe_parenthesised(draw: st.DrawFn, text: str) -> str:
    return f"({text})" if draw(st.booleans()) else text


@st.composite
def _binary(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    operator = draw(st.sampled_from(["+", "-", "*", "/", "//", "%"]))
    left = _maybe_parenthesised(draw, draw(children))
    right = _maybe_parenthesised(draw, draw(children))
    return f"{left} {operator} {right}"


@st.composite
def _power(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    exponent = draw(st.sampled_from(["0", "1", "2", "3", "4", "-1", "-2", "-4", "2.0", "+3"]))
    return f"({draw(children)}) ** {exponent}"


@st.composite
def _comparison(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    operators = draw(
        st.lists(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), min_size=1, max_size=3)
    )
    parts = [f"({draw(children)})"]
    for operator in operators:
        parts += [operator, f"({draw(children)})"]
    return " ".join(parts)


@st.composite
def _boolean(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    joiner = draw(st.sampled_from([" and ", " or "]))
    return joiner.join(f"({draw(children)})" for _ in range(draw(st.integers(2, 3))))


@st.composite
def _unary(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    operator = draw(st.sampled_from(["-", "+", "not "]))
    text = f"{operator}({draw(children)})"
    # `not` binds looser than arithmetic, so `a + not b` would not parse.
    return f"({text})" if operator == "not " else text


@st.composite
def _conditional(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    body, test, orelse = draw(children), draw(children), draw(children)
    return f"({body}) if ({test}) else ({orelse})"


@st.composite
def _call(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    function = draw(st.sampled_from(["abs", "min", "max", "clamp"]))
    count = {"abs": 1, "clamp": 3}.get(function) or draw(st.integers(2, 4))
    arguments = ", ".join(draw(children) for _ in range(count))
    return f"{function}({arguments})"


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        _binary(children),
        _power(children),
        _comparison(children),
        _boolean(children),
        _unary(children),
        _conditional(children),
        _call(children),
    )


expressions = st.recursive(leaves, _extend, max_leaves=12)
# Small trees too: in big ones, comparisons and min/max often hide a wrong operator.
small_expressions = st.recursive(leaves, _extend, max_leaves=3)


def _check(text: str, position: int) -> CheckedExpression | None:
    source = ExpressionSource(text, "random.yaml", position + 1, 1, f"random.{position}")
    try:
        return check_expression(source, SIGNALS, PARAMS)
    except ConfigError as error:
        # Only the size limits may refuse a grammar-generated expression.
        for problem in error.problems:
            assert "deeper than" in problem.message or "characters long" in problem.message, error
        return None


def _same(compiled: object, reference: object) -> bool:
    if compiled is MISSING or reference is MISSING:
        return compiled is reference
    # repr() separates 1 from 1.0 from True and -0.0 from 0.0, and makes nan equal to nan.
    return type(compiled) is type(reference) and repr(compiled) == repr(reference)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(expressions, min_size=1, max_size=4),
    state=st.fixed_dictionaries({name: signal_values for name in SIGNALS}),
    params=st.fixed_dictionaries({name: param_values for name in PARAMS}),
)
def test_compiled_program_matches_reference(
    texts: list[str], state: dict[str, float | None], params: dict[str, float]
) -> None:
    _assert_agree(texts, state, params)


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(small_expressions, min_size=1, max_size=6),
    state=st.fixed_dictionaries({name: signal_values for name in SIGNALS}),
    params=st.fixed_dictionaries({name: param_values for name in PARAMS}),
)
def test_compiled_program_matches_reference_on_small_expressions(
    texts: list[str], state: dict[str, float | None], params: dict[str, float]
) -> None:
    _assert_agree(texts, state, params)


def _assert_agree(
    texts: list[str], state: dict[str, float | None], params: dict[str, float]
) -> None:
    checked = [c for i, text in enumerate(texts) if (c := _check(text, i)) is not None]
    program = compile_expressions(checked, SIGNAL_INDEX, PARAM_INDEX)
    values = [-12345.0] * 6  # slots of signals that are not ready hold junk
    ready = 0
    for name, value in state.items():
        if value is not None:
            values[SIGNAL_INDEX[name]] = value
            ready |= 1 << SIGNAL_INDEX[name]
    param_list = [0.0, 0.0]
    for name, value in params.items():
        param_list[PARAM_INDEX[name]] = value
    results = program(values, ready, param_list)
    assert len(results) == len(checked)
    for expression, result in zip(checked, results, strict=True):
        expected = evaluate_reference(expression, state, params)
        assert _same(result, expected), (expression.source.text, result, expected)


@settings(max_examples=100, deadline=None)
@given(text=expressions, state=st.fixed_dictionaries({name: signal_values for name in SIGNALS}))
def test_missing_exactly_when_a_read_signal_is_not_ready(
    text: str, state: dict[str, float | None]
) -> None:
    checked = _check(text, 0)
    if checked is None:
        return
    result = evaluate_reference(checked, state, {"x": 1.0, "y": 2.0})
    if any(state[name] is None for name in checked.signals):
        assert result is MISSING


GRID = [0.0, -0.0, 1.0, -1.0, 2.5, 3.0, math.nan, math.inf, -math.inf, 1e308, None]
TEMPLATES = [
    *(f"a {operator} b" for operator in ["+", "-", "*", "/", "//", "%"]),
    *(f"a {operator} b" for operator in ["<", "<=", ">", ">=", "==", "!="]),
    "a and b",
    "a or b",
    "not a",
    "-a",
    "+a",
    *(f"a ** {exponent}" for exponent in range(-4, 5)),
    "abs(a)",
    "min(a, b)",
    "max(a, b)",
    "min(a, b, 1)",
    "max(b, a, 1)",
    "clamp(p.x, a, b)",
    "a if b else p.x",
    "a < b <= p.x",
    "a - a > 3",
    "a * 1e15 * 1e15 >= b",  # 1e308 * 1e15 overflows to inf in the middle
    "1 < a < b",
    "(a < b) == (b < a)",
    "(a > 1) and b",
    "not (a != b)",
]


def test_every_operator_on_a_grid_of_awkward_values() -> None:
    # Deterministic complement to the random tests: each construct alone, on every value pair.
    checked = [_check(text, i) for i, text in enumerate(TEMPLATES)]
    assert all(c is not None for c in checked)
    expressions = [c for c in checked if c is not None]
    program = compile_expressions(expressions, SIGNAL_INDEX, PARAM_INDEX)
    for a in GRID:
        for b in GRID:
            state = {"a": a, "b": b, "c": None, "d": None}
            values = [-12345.0] * 6
            values[SIGNAL_INDEX["a"]] = -12345.0 if a is None else a
            values[SIGNAL_INDEX["b"]] = -12345.0 if b is None else b
            ready = (a is not None) << SIGNAL_INDEX["a"] | (b is not None) << SIGNAL_INDEX["b"]
            results = program(values, ready, [0.0, 0.5])
            for expression, result in zip(expressions, results, strict=True):
                expected = evaluate_reference(expression, state, {"x": 0.5, "y": 0.0})
                assert _same(result, expected), (expression.source.text, a, b, result, expected)
