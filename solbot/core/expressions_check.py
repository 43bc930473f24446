"""Parse an expression once and accept only an allow-listed subset of Python expressions."""

from __future__ import annotations

import ast
import bisect
import difflib
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from solbot.core.expressions_runtime import FUNCTION_ARITY
from solbot.errors import ConfigError, Problem

MAX_EXPRESSION_CHARS: Final = 1000
MAX_NESTING_DEPTH: Final = 50
MAX_LITERAL_MAGNITUDE: Final = 1e15
MAX_POWER_EXPONENT: Final = 4
PARAMETER_OBJECT: Final = "p"

EXPECTED: Final = (
    "expected numbers, signal names, p.<parameter>, + - * / // % **, comparisons, "
    "and/or/not, 'x if c else y' and abs/min/max/clamp"
)
FUNCTIONS_TEXT: Final = "abs, min, max or clamp"

_UNARY_OPERATORS: Final = (ast.USub, ast.UAdd, ast.Not)
_BINARY_OPERATORS: Final = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_COMPARISON_OPERATORS: Final = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
_OPERATOR_SYMBOLS: Final[dict[type[ast.AST], str]] = {
    ast.Invert: "~",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_NODE_NAMES: Final[dict[type[ast.AST], str]] = {
    ast.Subscript: "subscript",
    ast.Slice: "slice",
    ast.Lambda: "lambda",
    ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Dict: "dict",
    ast.Set: "set",
    ast.Starred: "starred expression",
    ast.NamedExpr: "assignment expression ':='",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield from",
}


@dataclass(frozen=True)
class ExpressionSource:
    """An expression as written, with where it came from (1-based line and column)."""

    text: str
    path: str
    line: int
    column: int
    field: str


@dataclass(frozen=True)
class CheckedExpression:
    """An expression that passed the allow-list; node positions are relative to `source.text`.

    In `tree`, each `p.x` is a Name whose id is "p.x" (no identifier can spell it), so
    signals and parameters are both plain names to the evaluators.
    """

    source: ExpressionSource
    tree: ast.Expression
    signals: frozenset[str]
    params: frozenset[str]


def check_expression(
    source: ExpressionSource, signals: Collection[str], params: Collection[str]
) -> CheckedExpression:
    """Parse and allow-list-check one expression; raise ConfigError listing every problem."""
    tree = _parse(source)
    checker = _Checker(source, frozenset(signals), frozenset(params))
    checker.check(tree.body)
    if checker.problems:
        raise ConfigError(sorted(checker.problems, key=lambda p: (p.line, p.column)))
    _ParameterNames().visit(tree)
    return CheckedExpression(
        source, tree, frozenset(checker.found_signals), frozenset(checker.found_params)
    )


def problem_at(source: ExpressionSource, line: int, column: int, message: str) -> Problem:
    """A Problem at a 1-based line and 0-based column of `source.text`, located in the file."""
    # Later lines of a YAML block scalar share the indentation of its first character,
    # so every line of the expression is offset by the same file column.
    return Problem(
        source.path, source.line + line - 1, source.column + column, source.field, message
    )


def _parse(source: ExpressionSource) -> ast.Expression:
    text = source.text
    _check_characters(source)
    # Newlines become spaces so a multi-line expression needs no brackets; the character
    # offsets stay the same, so positions map back to (line, column) of the original text.
    flat = text.replace("\r", " ").replace("\n", " ")
    start = len(flat) - len(flat.lstrip(" \t"))
    if start == len(flat):
        raise ConfigError(problem_at(source, 1, 0, "empty expression; " + EXPECTED))
    try:
        with warnings.catch_warnings():
            # Validity must not depend on the process's warning filters: the parser's
            # warnings (e.g. invalid escapes, '1if x') refuse the expression.
            warnings.simplefilter("error")
            tree = ast.parse(flat[start:], filename=source.path, mode="eval")
    except SyntaxError as error:
        raise ConfigError(_syntax_problem(source, error, start)) from None
    _relocate(tree, text, start)
    return tree


def _syntax_problem(source: ExpressionSource, error: SyntaxError, start: int) -> Problem:
    text = source.text
    where = ""
    if error.offset:
        offset = start + error.offset - 1
    else:
        # The parser reports an unfinished expression at offset 0; point at its end instead.
        offset = len(text.rstrip())
        where = " at the end"
    line, column = _Locator(text).locate(min(offset, len(text)))
    message = f"cannot parse expression: {error.msg}{where}; expected one Python-style expression"
    return problem_at(source, line, column, message)


def _check_characters(source: ExpressionSource) -> None:
    text = source.text
    if len(text) > MAX_EXPRESSION_CHARS:
        message = (
            f"expression is {len(text)} characters long; expected at most {MAX_EXPRESSION_CHARS}"
        )
        raise ConfigError(problem_at(source, 1, 0, message))
    brackets = 0
    for offset, character in enumerate(text):
        brackets += character in "([{"
        if character == "#":
            message = "found '#': comments are not allowed inside an expression"
        elif not (character.isascii() and (character.isprintable() or character in "\t\r\n")):
            message = (
                f"found character {character!r} (U+{ord(character):04X}); "
                "expected ASCII letters, digits, operators and spaces"
            )
        elif brackets > MAX_NESTING_DEPTH:
            # Brackets leave no trace in the tree, so the depth limit is applied to them here.
            message = f"brackets nest deeper than {MAX_NESTING_DEPTH} levels; simplify it"
        else:
            brackets -= character in ")]}"
            continue
        line, column = _Locator(text).locate(offset)
        raise ConfigError(problem_at(source, line, column, message))


class _Locator:
    """Maps a character offset in a multi-line text to a 1-based line and 0-based column."""

    def __init__(self, text: str) -> None:
        self.line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def locate(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index]


def _relocate(tree: ast.Expression, text: str, start: int) -> None:
    """Rewrite node positions from the flattened one-line text to lines of the original."""
    locator = _Locator(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.expr | ast.keyword | ast.arg):
            node.lineno, node.col_offset = locator.locate(start + node.col_offset)
            end = start + (node.end_col_offset or 0) - 1
            end_line, end_column = locator.locate(max(end, 0))
            node.end_lineno, node.end_col_offset = end_line, end_column + 1


def _suggest(name: str, candidates: Collection[str]) -> str:
    match = difflib.get_close_matches(name, sorted(candidates), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


class _Checker:
    """Walks a parsed tree, recording problems and the signals and parameters it reads."""

    def __init__(
        self, source: ExpressionSource, signals: frozenset[str], params: frozenset[str]
    ) -> None:
        self.source = source
        self.signals = signals
        self.params = params
        self.problems: list[Problem] = []
        self.found_signals: set[str] = set()
        self.found_params: set[str] = set()

    def check(self, root: ast.expr) -> None:
        if self._check_depth(root):
            self._visit(root)

    def _refuse(self, node: ast.AST, message: str) -> None:
        line = getattr(node, "lineno", 1)
        column = getattr(node, "col_offset", 0)
        self.problems.append(problem_at(self.source, line, column, message))

    def _segment(self, node: ast.AST) -> str:
        text = ast.get_source_segment(self.source.text, node) or _describe(node)
        return " ".join(text.split())

    def _check_depth(self, root: ast.expr) -> bool:
        # Iterative, so a pathologically deep tree cannot exhaust the Python stack here.
        stack: list[tuple[ast.AST, int]] = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_NESTING_DEPTH:
                message = f"expression nests deeper than {MAX_NESTING_DEPTH} levels; simplify it"
                self._refuse(node, message)
                return False
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    stack.append((child, depth + 1))
        return True

    def _visit(self, node: ast.expr) -> None:
        if isinstance(node, ast.Constant):
            self._constant(node)
        elif isinstance(node, ast.Name):
            self._name(node)
        elif isinstance(node, ast.Attribute):
            self._attribute(node)
        elif isinstance(node, ast.UnaryOp):
            self._operator(node, node.op, _UNARY_OPERATORS)
            self._visit(node.operand)
        elif isinstance(node, ast.BinOp):
            self._binary(node)
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                self._visit(value)
        elif isinstance(node, ast.Compare):
            self._compare(node)
        elif isinstance(node, ast.IfExp):
            for part in (node.test, node.body, node.orelse):
                self._visit(part)
        elif isinstance(node, ast.Call):
            self._call(node)
        else:
            self._refuse(node, f"{_describe(node)} is not allowed; {EXPECTED}")

    def _constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            return
        if not isinstance(value, int | float):
            self._refuse(node, f"{_describe(node)} is not allowed; {EXPECTED}")
        elif not abs(value) <= MAX_LITERAL_MAGNITUDE:
            message = (
                f"number {self._segment(node)} is too large; expected a magnitude of at most 1e15"
            )
            self._refuse(node, message)

    def _name(self, node: ast.Name) -> None:
        name = node.id
        if name in self.signals and not name.startswith("_"):
            self.found_signals.add(name)
        elif name == PARAMETER_OBJECT:
            self._refuse(node, "'p' alone is not a value; expected p.<parameter>")
        elif name in FUNCTION_ARITY:
            self._refuse(node, f"function '{name}' is not called; expected {name}(...)")
        elif name.startswith("_"):
            self._refuse(node, f"name '{name}' is not allowed; names starting with '_' are refused")
        else:
            candidates = set(self.signals) | {f"p.{param}" for param in self.params}
            self._refuse(node, f"unknown signal '{name}'{_suggest(name, candidates)}")

    def _attribute(self, node: ast.Attribute) -> None:
        base = node.value
        if not (isinstance(base, ast.Name) and base.id == PARAMETER_OBJECT):
            if isinstance(base, ast.Attribute) and _is_parameter(base):
                text = f"p.{base.attr}.{node.attr}"
                message = f"nested attribute '{text}' is not allowed; expected p.<parameter>"
                self._refuse(node, message)
            else:
                message = (
                    f"attribute '.{node.attr}' is not allowed; only p.<parameter> may use a dot"
                )
                self._refuse(node, message)
        elif node.attr.startswith("_"):
            self._refuse(node, f"attribute 'p.{node.attr}' is not allowed; expected p.<parameter>")
        elif node.attr in self.params:
            self.found_params.add(node.attr)
        else:
            candidates = {f"p.{param}" for param in self.params} | set(self.signals)
            suggestion = _suggest(f"p.{node.attr}", candidates)
            self._refuse(node, f"unknown parameter 'p.{node.attr}'{suggestion}")

    def _operator(
        self, node: ast.expr, operator: ast.AST, allowed: tuple[type[ast.AST], ...]
    ) -> bool:
        if isinstance(operator, allowed):
            return True
        symbol = _OPERATOR_SYMBOLS.get(type(operator), type(operator).__name__)
        self._refuse(node, f"operator '{symbol}' is not allowed; {EXPECTED}")
        return False

    def _binary(self, node: ast.BinOp) -> None:
        self._operator(node, node.op, _BINARY_OPERATORS)
        self._visit(node.left)
        if isinstance(node.op, ast.Pow) and not _small_exponent(node.right):
            message = (
                "exponent must be a whole-number literal between "
                f"-{MAX_POWER_EXPONENT} and {MAX_POWER_EXPONENT}; found "
                f"'{self._segment(node.right)}'"
            )
            self._refuse(node.right, message)
            return
        self._visit(node.right)

    def _compare(self, node: ast.Compare) -> None:
        for operator in node.ops:
            if not self._operator(node, operator, _COMPARISON_OPERATORS):
                break
        self._visit(node.left)
        for comparator in node.comparators:
            self._visit(comparator)

    def _call(self, node: ast.Call) -> None:
        function = node.func
        if not isinstance(function, ast.Name):
            found = self._segment(function)
            message = f"call of '{found}' is not allowed; only {FUNCTIONS_TEXT} may be called"
            self._refuse(node, message)
            return
        if function.id not in FUNCTION_ARITY:
            suggestion = _suggest(function.id, FUNCTION_ARITY)
            message = (
                f"call of '{function.id}' is not allowed{suggestion}; expected {FUNCTIONS_TEXT}"
            )
            self._refuse(node, message)
            return
        if node.keywords:
            self._refuse(node.keywords[0], f"keyword arguments are not allowed in {function.id}()")
        self._arity(node, function.id)
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                self._refuse(argument, f"starred argument is not allowed in {function.id}()")
            else:
                self._visit(argument)

    def _arity(self, node: ast.Call, name: str) -> None:
        low, high = FUNCTION_ARITY[name]
        count = len(node.args)
        if low <= count and (high is None or count <= high):
            return
        if high is None:
            expected = f"at least {low}"
        else:
            expected = f"exactly {low}" if low == high else f"{low} to {high}"
        noun = "argument" if expected == "exactly 1" else "arguments"
        self._refuse(node, f"{name}() takes {expected} {noun}; found {count}")


class _ParameterNames(ast.NodeTransformer):
    """Rewrites checked `p.x` attributes, in place, as names "p.x" at the same position."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        name = ast.Name(id=f"{PARAMETER_OBJECT}.{node.attr}", ctx=ast.Load())
        return ast.copy_location(name, node)


def _is_parameter(node: ast.Attribute) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id == PARAMETER_OBJECT


def _small_exponent(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    if not isinstance(node, ast.Constant) or not isinstance(node.value, int | float):
        return False
    if isinstance(node.value, bool):
        return False
    value = float(node.value)
    return value.is_integer() and abs(value) <= MAX_POWER_EXPONENT


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        kind = {str: "string", bytes: "bytes", complex: "complex number"}.get(type(node.value))
        return f"{kind} literal" if kind else repr(node.value)
    if isinstance(node, ast.Name):
        return f"'{node.id}'"
    if isinstance(node, ast.Attribute):
        return f"attribute '.{node.attr}'"
    return _NODE_NAMES.get(type(node), type(node).__name__)
