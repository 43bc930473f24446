"""Checker messages and positions, compiled values, MISSING semantics, reference and explain."""

from __future__ import annotations

import ast
import math
import pickle
from collections.abc import Mapping

import pytest

from solbot.core.expressions import (
    MISSING,
    CheckedExpression,
    ExpressionSource,
    check_expression,
    clamp,
    compile_expressions,
    evaluate_reference,
    explain_expression,
)
from solbot.errors import ConfigError, Problem

SIGNALS = ("ret_5m_bps", "inventory_units", "vol_ema_bps", "sigma_1m_bps", "mid", "spread_bps")
PARAMS = ("trend_down_trigger_bps", "one_sided_units", "clip_start_bps", "clip_full_bps", "fop")
SIGNAL_INDEX = {name: index for index, name in enumerate(SIGNALS)}
PARAM_INDEX = {name: index for index, name in enumerate(PARAMS)}
STATE: dict[str, float | None] = {
    "ret_5m_bps": -7.0,
    "inventory_units": -3.0,
    "vol_ema_bps": 12.0,
    "sigma_1m_bps": 20.0,
    "mid": 150.0,
    "spread_bps": 0.0,
}
PARAM_VALUES = {
    "trend_down_trigger_bps": -6.0,
    "one_sided_units": 2.0,
    "clip_start_bps": 10.0,
    "clip_full_bps": 30.0,
    "fop": 4.0,
}
ALL_READY = (1 << len(SIGNALS)) - 1
STATE_VALUES = [float(STATE[name] or 0.0) for name in SIGNALS]


def check(text: str, line: int = 27, column: int = 11) -> CheckedExpression:
    source = ExpressionSource(text, "rules/guards.yaml", line, column, "trend.down.when")
    return check_expression(source, SIGNALS, PARAMS)


def problems_of(text: str, line: int = 27, column: int = 11) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        check(text, line, column)
    return caught.value.problems


def run(text: str, state: Mapping[str, float | None] = STATE) -> object:
    values = [state.get(name) or 0.0 for name in SIGNALS]
    ready = 0
    for index, name in enumerate(SIGNALS):
        ready |= (state.get(name) is not None) << index
    params = [PARAM_VALUES[name] for name in PARAMS]
    program = compile_expressions([check(text)], SIGNAL_INDEX, PARAM_INDEX)
    return program(values, ready, params)[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ret_5m_bps < p.trend_down_trigger_bps", True),
        ("ret_5m_bps > p.trend_down_trigger_bps", False),
        ("abs(inventory_units) > p.one_sided_units and vol_ema_bps < 30", True),
        ("abs(inventory_units) > p.one_sided_units and vol_ema_bps < 10", False),
        (
            "clamp(1 - (sigma_1m_bps - p.clip_start_bps) / (p.clip_full_bps - p.clip_start_bps),"
            " 0.2, 1)",
            0.5,
        ),
        ("clamp(sigma_1m_bps, 0, 5)", 5),
        ("clamp(-sigma_1m_bps, 0, 5)", 0),
        ("min(mid, 100, 120)", 100),
        ("max(ret_5m_bps, -10, -8)", -7.0),
        ("-ret_5m_bps", 7.0),
        ("+ret_5m_bps", -7.0),
        ("not ret_5m_bps < 0", False),
        ("7 // 2 + 7 % 2", 4),
        ("mid ** 2", 22500.0),
        ("2 ** -2", 0.25),
        ("mid * 2 - 1", 299.0),
        ("1 < vol_ema_bps <= 12 < mid", True),
        ("1 < vol_ema_bps < 12", False),
        ("vol_ema_bps == 12 != 13", True),
        ("1 if ret_5m_bps < 0 else 2", 1),
        ("spread_bps or 5", 5),
        ("mid and 5", 5),
        ("True", True),
        ("False + 1", 1),
        ("1e15", 1e15),
    ],
)
def test_compiled_values(text: str, expected: object) -> None:
    result = run(text)
    assert result == expected
    assert type(result) is type(evaluate_reference(check(text), STATE, PARAM_VALUES))


@pytest.mark.parametrize(
    "text",
    [
        "mid / spread_bps",
        "mid // spread_bps",
        "mid % spread_bps",
        "spread_bps ** -1",
        "((1e15 ** 4) ** 4) ** 4",
        "clamp(mid, 10, 1)",
        "clamp(mid, 1, p.fop / spread_bps)",
        "mid < 1 or 1 / spread_bps > 0",
    ],
)
def test_runtime_errors_give_missing(text: str) -> None:
    assert run(text) is MISSING
    assert evaluate_reference(check(text), STATE, PARAM_VALUES) is MISSING


def test_short_circuit_still_avoids_runtime_errors() -> None:
    assert run("mid > 1 or 1 / spread_bps > 0") is True


def test_not_ready_signal_gives_missing_even_in_an_untaken_branch() -> None:
    state = dict(STATE, vol_ema_bps=None)
    text = "mid > 1 or vol_ema_bps > 1"
    assert run(text, state) is MISSING
    assert evaluate_reference(check(text), state, PARAM_VALUES) is MISSING
    assert run("mid > 1", state) is True


def test_reference_treats_absent_signal_as_missing() -> None:
    state = {name: value for name, value in STATE.items() if name != "mid"}
    assert evaluate_reference(check("mid > 1"), state, PARAM_VALUES) is MISSING


def test_comparisons_of_nan_and_inf_signals_are_missing() -> None:
    # NaN > 1 is False in Python: read as a value, a rule would silently not fire (issue 8).
    assert run("mid > 1", dict(STATE, mid=math.nan)) is MISSING
    assert run("mid > 1", dict(STATE, mid=math.inf)) is MISSING
    assert run("mid > 1", dict(STATE, mid=2.0)) is True


@pytest.mark.parametrize(
    ("text", "mid"),
    [
        ("mid - mid", math.inf),  # NaN
        ("mid * 1", math.inf),
        ("mid * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15", 1e150),
        ("1000000000000000 ** 4 * 1e15 ** 4 * mid", 1e200),
        ("max(mid, 1)", math.inf),
    ],
)
def test_a_non_finite_number_fails_closed_like_a_division_by_zero(text: str, mid: float) -> None:
    # An overflow made `run --live` exit 1 holding inventory; now it is MISSING (on_error).
    assert run(text, dict(STATE, mid=mid)) is MISSING


def test_constant_expression_needs_no_signal() -> None:
    program = compile_expressions([check("1 + 2")], SIGNAL_INDEX, PARAM_INDEX)
    assert program([], 0, []) == [3]


def test_program_evaluates_many_expressions_in_order_with_partial_readiness() -> None:
    texts = ["mid > 100", "vol_ema_bps * 2", "ret_5m_bps < p.trend_down_trigger_bps", "1 / 0"]
    program = compile_expressions([check(t) for t in texts], SIGNAL_INDEX, PARAM_INDEX)
    values = STATE_VALUES
    params = [PARAM_VALUES[name] for name in PARAMS]
    assert program(values, ALL_READY, params) == [True, 24.0, True, MISSING]
    not_vol = ALL_READY & ~(1 << SIGNAL_INDEX["vol_ema_bps"])
    assert program(values, not_vol, params) == [True, MISSING, True, MISSING]
    assert program(values, 0, params) == [MISSING, MISSING, MISSING, MISSING]


def test_params_are_read_at_call_time_not_folded() -> None:
    program = compile_expressions([check("mid > p.fop")], SIGNAL_INDEX, PARAM_INDEX)
    values = STATE_VALUES
    params = [PARAM_VALUES[name] for name in PARAMS]
    assert program(values, ALL_READY, params) == [True]
    params[PARAM_INDEX["fop"]] = 1000.0
    assert program(values, ALL_READY, params) == [False]


def test_generated_source_binds_only_used_signals_and_params() -> None:
    program = compile_expressions([check("mid > p.fop")], SIGNAL_INDEX, PARAM_INDEX)
    assert "s4 = values[4]" in program.source
    assert "q4 = params[4]" in program.source
    assert "values[0]" not in program.source
    assert "params[0]" not in program.source
    assert "def evaluate_ruleset(values, ready, params):" in program.source


def test_generated_source_is_deterministic() -> None:
    texts = ["mid > p.fop and vol_ema_bps < 3", "max(spread_bps, sigma_1m_bps)"]
    first = compile_expressions([check(t) for t in texts], SIGNAL_INDEX, PARAM_INDEX).source
    second = compile_expressions([check(t) for t in texts], SIGNAL_INDEX, PARAM_INDEX).source
    assert first == second


def test_compile_rejects_names_without_an_index() -> None:
    with pytest.raises(ValueError, match="mid"):
        compile_expressions([check("mid > 1")], {"spread_bps": 0}, PARAM_INDEX)
    with pytest.raises(ValueError, match="fop"):
        compile_expressions([check("p.fop > 1")], SIGNAL_INDEX, {})


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        (
            "ret_5m_bsp < p.trend_down_trigger_bps",
            27,
            11,
            "unknown signal 'ret_5m_bsp' (did you mean 'ret_5m_bps'?)",
        ),
        ("mid > p.foo", 27, 17, "unknown parameter 'p.foo' (did you mean 'p.fop'?)"),
        ("mid > p.zzzzzz", 27, 17, "unknown parameter 'p.zzzzzz'"),
        ("mid > qqqqqqq", 27, 17, "unknown signal 'qqqqqqq'"),
        (
            "trend_down_trigger_bps < 0",
            27,
            11,
            "unknown signal 'trend_down_trigger_bps' (did you mean 'p.trend_down_trigger_bps'?)",
        ),
        ("  mid > nope", 27, 19, "unknown signal 'nope'"),
        ("abs(mid, 1)", 27, 11, "abs() takes exactly 1 argument; found 2"),
        ("min(mid)", 27, 11, "min() takes at least 2 arguments; found 1"),
        ("max()", 27, 11, "max() takes at least 2 arguments; found 0"),
        ("clamp(mid, 1)", 27, 11, "clamp() takes exactly 3 arguments; found 2"),
        ("mid + mn(1, 2)", 27, 17, "call of 'mn' is not allowed (did you mean 'min'?)"),
        ("mid > 1 and", 27, 22, "cannot parse expression: invalid syntax at the end"),
        ("mid > 1 2", 27, 19, "cannot parse expression: invalid syntax"),
        ("(mid", 27, 11, "'(' was never closed"),
        ("mid ** 5", 27, 18, "exponent must be a whole-number literal between -4 and 4"),
        ("1e16 < mid", 27, 11, "number 1e16 is too large"),
        ("mid.real", 27, 11, "attribute '.real' is not allowed"),
        ("p", 27, 11, "'p' alone is not a value; expected p.<parameter>"),
        ("mid[0]", 27, 11, "subscript is not allowed"),
        ("mid > 'a'", 27, 17, "string literal is not allowed"),
        ("mid in (1, 2)", 27, 11, "operator 'in' is not allowed"),
    ],
)
def test_single_line_problem_positions_and_messages(
    text: str, line: int, column: int, message: str
) -> None:
    problems = problems_of(text)
    assert (problems[0].line, problems[0].column) == (line, column)
    assert problems[0].path == "rules/guards.yaml"
    assert problems[0].field == "trend.down.when"
    assert message in problems[0].message


def test_problem_prints_like_a_compiler() -> None:
    problems = problems_of("ret_5m_bsp < p.trend_down_trigger_bps")
    assert str(problems[0]) == (
        "rules/guards.yaml:27:11: trend.down.when: unknown signal 'ret_5m_bsp' "
        "(did you mean 'ret_5m_bps'?)"
    )


def test_multi_line_positions_point_into_later_lines() -> None:
    # A YAML block scalar: every line starts at the column of the first character.
    text = "ret_5m_bps < p.trend_down_trigger_bps\nand vol_ema_bsp < 30\n  or mid.real > 1"
    problems = problems_of(text, line=8, column=7)
    assert [(p.line, p.column) for p in problems] == [(9, 11), (10, 12)]
    assert "unknown signal 'vol_ema_bsp' (did you mean 'vol_ema_bps'?)" in problems[0].message
    assert "attribute '.real'" in problems[1].message


def test_multi_line_expression_needs_no_brackets() -> None:
    text = "abs(inventory_units) > p.one_sided_units\n  and vol_ema_bps < 30\n"
    assert run(text) is True


def test_multi_line_syntax_error_position() -> None:
    problems = problems_of("mid > 1 and\nvol_ema_bps <", line=3, column=5)
    assert (problems[0].line, problems[0].column) == (4, 18)


def test_windows_line_endings_are_whitespace() -> None:
    assert run("mid > 1\r\nand spread_bps < 1") is True


def test_all_problems_of_one_expression_are_listed_in_order() -> None:
    problems = problems_of("ret_5m_bsp < p.fob or max(mid) > sprad_bps")
    assert [p.column for p in problems] == [11, 24, 33, 44]
    assert "ret_5m_bsp" in problems[0].message
    assert "p.fob" in problems[1].message
    assert "max()" in problems[2].message
    assert "sprad_bps" in problems[3].message


def test_checked_expression_records_what_it_reads() -> None:
    checked = check("abs(inventory_units) > p.one_sided_units and mid > p.one_sided_units")
    assert checked.signals == {"inventory_units", "mid"}
    assert checked.params == {"one_sided_units"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("x" * 1001, "expected at most 1000"),
        ("(" * 51 + "mid" + ")" * 51, "brackets nest deeper than 50"),
        ("-" * 51 + "mid", "nests deeper than 50"),
        ("mid # note", "comments are not allowed"),
        ("mіd", "U+0456"),
        ("", "empty expression"),
    ],
)
def test_limits(text: str, reason: str) -> None:
    assert reason in problems_of(text)[0].message


def test_limits_allow_what_they_promise() -> None:
    assert run("(" * 50 + "mid" + ")" * 50) == 150.0
    assert run("-" * 48 + "mid") == 150.0
    assert check("mid + " * 48 + "1").signals == {"mid"}
    assert check(" and ".join(["mid > 1"] * 80)).signals == {"mid"}


def test_explain_lists_whole_expression_then_each_comparison() -> None:
    text = "abs(inventory_units) > p.one_sided_units and\n  not vol_ema_bps < 30"
    explained = explain_expression(check(text), STATE, PARAM_VALUES)
    assert explained == [
        ("abs(inventory_units) > p.one_sided_units and not vol_ema_bps < 30", False),
        ("abs(inventory_units) > p.one_sided_units", True),
        ("not vol_ema_bps < 30", False),
        ("vol_ema_bps < 30", True),
    ]


def test_explain_marks_parts_with_missing_signals() -> None:
    state = dict(STATE, vol_ema_bps=None)
    explained = explain_expression(check("mid > 1 or vol_ema_bps < 30"), state, PARAM_VALUES)
    assert explained == [
        ("mid > 1 or vol_ema_bps < 30", MISSING),
        ("mid > 1", True),
        ("vol_ema_bps < 30", MISSING),
    ]


def test_explain_of_a_value_expression_gives_its_value() -> None:
    assert explain_expression(check("mid * 2"), STATE, PARAM_VALUES) == [("mid * 2", 300.0)]


def test_reference_needs_every_parameter() -> None:
    with pytest.raises(KeyError, match=r"p\.fop"):
        evaluate_reference(check("mid > p.fop"), STATE, {})


def test_missing_is_a_named_singleton_without_truth_value() -> None:
    assert repr(MISSING) == "MISSING"
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING
    with pytest.raises(TypeError):
        bool(MISSING)


@pytest.mark.parametrize(
    ("value", "low", "high", "expected"),
    [(5.0, 0.0, 1.0, 1.0), (-5.0, 0.0, 1.0, 0.0), (0.5, 0.0, 1.0, 0.5), (2.0, 2.0, 2.0, 2.0)],
)
def test_clamp(value: float, low: float, high: float, expected: float) -> None:
    assert clamp(value, low, high) == expected


@pytest.mark.parametrize(("low", "high"), [(1.0, 0.0), (math.nan, 1.0), (0.0, math.nan)])
def test_clamp_refuses_unordered_bounds(low: float, high: float) -> None:
    with pytest.raises(ValueError):
        clamp(0.5, low, high)


def test_checked_tree_reads_parameters_as_dotted_names() -> None:
    tree = check("mid > p.fop").tree
    assert {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} == {"mid", "p.fop"}
    assert ast.unparse(tree) == "mid > p.fop"
    assert not any(isinstance(node, ast.Attribute) for node in ast.walk(tree))
