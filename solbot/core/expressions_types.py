"""Types of checked expressions: conditions are boolean, values numeric, units never mixed.

A number carries a unit (`bps`, `usd`, `s`, `units`, ... from the signal catalog and from a
parameter's name suffix) or none: literals, multipliers and ratios go with anything. Adding,
subtracting, comparing or choosing between two numbers with different units is an error, as is
a `when` that is a number or a value that is a condition.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from solbot.core.expressions_check import CheckedExpression, problem_at
from solbot.errors import Problem

PARAMETER_UNITS: Final = (
    ("_bps", "bps"),
    ("_usd", "usd"),
    ("_units", "units"),
    ("_ms", "ms"),
    ("_s", "s"),
    ("_percentile", "percent"),
)

Expect = Literal["condition", "number"]


@dataclass(frozen=True)
class ExpressionType:
    """`condition` (true/false) or `number` with an optional unit."""

    kind: Literal["condition", "number"]
    unit: str | None = None

    def describe(self) -> str:
        if self.kind == "condition":
            return "a condition (true/false)"
        return f"a number in {self.unit}" if self.unit else "a number"


CONDITION: Final = ExpressionType("condition")
NUMBER: Final = ExpressionType("number")


def parameter_unit(name: str) -> str | None:
    """The unit a parameter's name promises (`trend_down_trigger_bps` -> bps), if any."""
    for suffix, unit in PARAMETER_UNITS:
        if name.endswith(suffix):
            return unit
    return None


def type_problems(
    expression: CheckedExpression,
    signal_units: Mapping[str, str],
    expect: Expect,
    unit: str | None = None,
) -> list[Problem]:
    """Problems with the type of a checked expression that must be `expect` (in `unit`)."""
    typer = _Typer(expression, signal_units)
    found = typer.infer(expression.tree.body)
    root = expression.tree.body
    if found is not None and found.kind != expect:
        wanted = "a condition (true/false)" if expect == "condition" else "a number"
        typer.refuse(root, f"expected {wanted}, found {found.describe()}")
    elif found is not None and unit and found.unit and found.unit != unit:
        typer.refuse(root, f"expected a number in {unit}, found {found.describe()}")
    return typer.problems


class _Typer:
    def __init__(self, expression: CheckedExpression, signal_units: Mapping[str, str]) -> None:
        self.expression = expression
        self.signal_units = signal_units
        self.problems: list[Problem] = []

    def refuse(self, node: ast.AST, message: str) -> None:
        line = getattr(node, "lineno", 1)
        column = getattr(node, "col_offset", 0)
        self.problems.append(problem_at(self.expression.source, line, column, message))

    def text(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.expression.source.text, node)
        return " ".join((segment or ast.unparse(node)).split())

    def infer(self, node: ast.expr) -> ExpressionType | None:
        """The type of `node`, or None after recording a problem inside it."""
        if isinstance(node, ast.Constant):
            return CONDITION if isinstance(node.value, bool) else NUMBER
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return CONDITION if self.condition(node.operand) else None
            return self.number(node.operand)
        if isinstance(node, ast.BoolOp):
            results = [self.condition(value) for value in node.values]
            return CONDITION if all(results) else None
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.IfExp):
            return self._choice(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self._same_units(node, node.args, f"{node.func.id}()")
        return NUMBER  # the allow-list checker already refused anything else

    def _name(self, name: str) -> ExpressionType:
        if name.startswith("p."):
            return ExpressionType("number", parameter_unit(name[2:]))
        unit = self.signal_units.get(name)
        return ExpressionType("number", unit if unit not in (None, "ratio", "flag") else None)

    def condition(self, node: ast.expr) -> bool:
        found = self.infer(node)
        if found is not None and found.kind != "condition":
            self.refuse(node, f"'{self.text(node)}' is {found.describe()}, not a condition")
            return False
        return found is not None

    def number(self, node: ast.expr) -> ExpressionType | None:
        found = self.infer(node)
        if found is not None and found.kind != "number":
            self.refuse(node, f"'{self.text(node)}' is a condition, not a number")
            return None
        return found

    def _binary(self, node: ast.BinOp) -> ExpressionType | None:
        if isinstance(node.op, ast.Add | ast.Sub):
            return self._same_units(node, [node.left, node.right], "+/-")
        left, right = self.number(node.left), self.number(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Pow):
            return NUMBER
        if isinstance(node.op, ast.Mult):
            units = [unit for unit in (left.unit, right.unit) if unit]
            return ExpressionType("number", units[0] if len(units) == 1 else None)
        # Division and modulo: a unit divided by a plain number keeps the unit; a ratio of two
        # quantities (bps / bps) or an inverse (1 / s) is treated as unit-free.
        return ExpressionType("number", left.unit if right.unit is None else None)

    def _compare(self, node: ast.Compare) -> ExpressionType | None:
        operands = [node.left, *node.comparators]
        kinds = [self.infer(operand) for operand in operands]
        if any(kind is None for kind in kinds):
            return None
        ordered = any(not isinstance(op, ast.Eq | ast.NotEq) for op in node.ops)
        for operand, kind in zip(operands, kinds, strict=True):
            if kind is not None and kind.kind == "condition" and ordered:
                self.refuse(operand, f"'{self.text(operand)}' is a condition; < > need numbers")
                return None
        for (left, left_type), (right, right_type) in zip(
            zip(operands, kinds, strict=True),
            zip(operands[1:], kinds[1:], strict=True),
            strict=False,
        ):
            if left_type is None or right_type is None:
                continue
            if left_type.kind != right_type.kind:
                self.refuse(
                    node, f"cannot compare {left_type.describe()} with {right_type.describe()}"
                )
                return None
            if _clash(left_type.unit, right_type.unit):
                self.refuse(
                    right,
                    f"cannot compare '{self.text(left)}' ({left_type.unit}) with "
                    f"'{self.text(right)}' ({right_type.unit}): different units",
                )
                return None
        return CONDITION

    def _choice(self, node: ast.IfExp) -> ExpressionType | None:
        test = self.condition(node.test)
        body, orelse = self.infer(node.body), self.infer(node.orelse)
        if not test or body is None or orelse is None:
            return None
        if body.kind != orelse.kind:
            self.refuse(node, f"both branches must agree: {body.describe()} / {orelse.describe()}")
            return None
        if _clash(body.unit, orelse.unit):
            self.refuse(node, f"branches in different units: {body.unit} / {orelse.unit}")
            return None
        return ExpressionType(body.kind, body.unit or orelse.unit)

    def _same_units(
        self, node: ast.expr, operands: list[ast.expr], what: str
    ) -> ExpressionType | None:
        found = [self.number(operand) for operand in operands]
        if any(kind is None for kind in found):
            return None
        unit: str | None = None
        unit_source: ast.expr | None = None
        for operand, kind in zip(operands, found, strict=True):
            if kind is None or kind.unit is None:
                continue
            if unit is not None and unit_source is not None and kind.unit != unit:
                self.refuse(
                    operand,
                    f"'{self.text(operand)}' is in {kind.unit} but '{self.text(unit_source)}' "
                    f"is in {unit}: {what} needs the same unit",
                )
                return None
            unit, unit_source = kind.unit, operand
        return ExpressionType("number", unit)


def _clash(left: str | None, right: str | None) -> bool:
    return left is not None and right is not None and left != right
