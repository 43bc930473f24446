"""A rule that fails closed (its condition could not be evaluated) is marked, never mistaken for
a real trigger: in the rule machines, in the decision trace and in the simulate summary."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from solbot.adapters.storage.trace import read_trace
from solbot.cli.main import main
from solbot.config.loader import shipped_config_dir
from solbot.core.expressions import (
    MISSING,
    ExpressionSource,
    check_expression,
    compile_expressions,
    evaluate_reference,
)
from solbot.core.rules import ActionSpec, RuleMachines, RuleSpec, Value

NS = 1_000_000_000


def spec(on_error: str = "trigger") -> RuleSpec:
    return RuleSpec(
        id="zero.divide",
        priority=50,
        hold_ns=0,
        min_active_ns=0,
        cooldown_ns=0,
        on_error=on_error,
        when_slot=0,
        until_slot=None,
        actions=(ActionSpec(kind="pause", side="both"),),
    )


def test_a_rule_active_because_evaluation_failed_is_marked_and_counted() -> None:
    machines = RuleMachines([spec()])
    assert machines.step(1 * NS, [MISSING], MISSING) == [0]
    assert machines.failed_closed == [0]
    assert machines.failed_closed_activations == [1]
    assert machines.step(2 * NS, [True], MISSING) == [0]  # now a real trigger: not marked
    assert machines.failed_closed == []
    assert (machines.activations, machines.failed_closed_activations) == ([1], [1])


def test_ignore_and_hold_never_fail_closed() -> None:
    for on_error in ("ignore", "hold"):
        machines = RuleMachines([spec(on_error)])
        assert machines.step(1 * NS, [MISSING], MISSING) == []
        assert machines.failed_closed == [] and machines.failed_closed_activations == [0]


def test_a_non_finite_action_value_is_never_handed_on() -> None:
    value = Value(slot=0)
    for bad in (float("inf"), float("-inf"), float("nan"), MISSING):
        assert value.resolve([bad]) is None
    assert value.resolve([2.5]) == 2.5


def test_simulate_traces_and_counts_a_division_by_zero_that_fails_closed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "config"
    for folder in ("profiles", "rules"):
        shutil.copytree(shipped_config_dir() / folder, root / folder)
    (root / "rules" / "zero.yaml").write_text(
        "schema: 1\nkind: ruleset\nid: zero\nrevision: 1\nrules:\n"
        "  - id: zero.divide\n    description: divides by zero at run time\n"
        "    when: spread_bps / (p.zero_bps - p.zero_bps) > 1\n"
        "    on_error: trigger\n    actions: [{widen: {add_bps: 1}}]\n",
        encoding="utf-8",
    )
    naive = (root / "profiles" / "naive.yaml").read_text(encoding="utf-8")
    naive = naive.replace("id: naive", "id: zero") + "params: {zero_bps: 1}\n"
    naive += "rules: {include: [rules/zero.yaml]}\n"
    (root / "profiles" / "zero.yaml").write_text(naive, encoding="utf-8")
    out = tmp_path / "out"
    argv = ["simulate", "--profile", "zero", "--config-dir", str(root), "--out", str(out)]
    assert main([*argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rules"]["zero.divide"]["failed_closed_activations"] == 1
    assert summary["failed_closed_activations"] == 1
    decisions = [row for row in read_trace(Path(summary["trace"])) if row["type"] == "decision"]
    marked = [row for row in decisions if "zero.divide" in row["rules"]]
    assert marked and all(row["failed_closed"] == ["zero.divide"] for row in marked)


# ----- a comparison with a NaN or inf operand is MISSING, not False --------------------------


@pytest.mark.parametrize("text", ["a - a > 3", "a - a <= 3", "a - a == a - a", "a - a != 3"])
def test_inf_minus_inf_compared_is_missing_in_both_evaluators(text: str) -> None:
    expression = check_expression(ExpressionSource(text, "nan.yaml", 1, 1, "nan.when"), ("a",), ())
    program = compile_expressions([expression], {"a": 0}, {})
    assert program([math.inf], 1, []) == [MISSING]
    assert evaluate_reference(expression, {"a": math.inf}, {}) is MISSING
    assert program([2.0], 1, [])[0] is not MISSING  # finite operands still compare


def test_a_nan_comparison_inside_a_chain_or_condition_is_missing() -> None:
    texts = ["1 < a < 3", "(a > 1) or (b > 1)", "not (a > 1)", "b if a > 1 else 0"]
    checked = [
        check_expression(ExpressionSource(text, "nan.yaml", i + 1, 1, f"nan.{i}"), ("a", "b"), ())
        for i, text in enumerate(texts)
    ]
    program = compile_expressions(checked, {"a": 0, "b": 1}, {})
    assert program([math.nan, 2.0], 3, []) == [MISSING] * len(texts)
    for expression in checked:
        assert evaluate_reference(expression, {"a": math.nan, "b": 2.0}, {}) is MISSING


def test_simulate_fails_closed_on_an_overflow_compared_in_the_middle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Literals are capped at 1e15, so the overflow comes from a parameter: mid * 1e300 * 1e300
    # is inf, inf - inf is NaN, and NaN > 0 used to read False (the rule silently never fired).
    root = tmp_path / "config"
    for folder in ("profiles", "rules"):
        shutil.copytree(shipped_config_dir() / folder, root / folder)
    (root / "rules" / "overflow.yaml").write_text(
        "schema: 2\nkind: ruleset\nid: overflow\nrevision: 1\nrules:\n"
        "  - id: overflow.nan\n    description: compares inf - inf at run time\n"
        "    when: (mid * p.huge * p.huge - mid * p.huge * p.huge) > 0\n"
        "    on_error: trigger\n    actions: [{widen: {side: both, add_full_spread_bps: 1}}]\n",
        encoding="utf-8",
    )
    naive = (root / "profiles" / "naive.yaml").read_text(encoding="utf-8")
    naive = naive.replace("id: naive", "id: overflow") + "params: {huge: 1.0e300}\n"
    naive += "rules: {include: [rules/overflow.yaml]}\n"
    (root / "profiles" / "overflow.yaml").write_text(naive, encoding="utf-8")
    out = tmp_path / "out"
    argv = ["simulate", "--profile", "overflow", "--config-dir", str(root), "--out", str(out)]
    assert main([*argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rules"]["overflow.nan"]["failed_closed_activations"] == 1
    assert summary["rules"]["overflow.nan"]["activations"] == 1
    decisions = [row for row in read_trace(Path(summary["trace"])) if row["type"] == "decision"]
    marked = [row for row in decisions if "overflow.nan" in row["rules"]]
    assert marked and all(row["failed_closed"] == ["overflow.nan"] for row in marked)
