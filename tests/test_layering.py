"""Imports point inward only (DESIGN.md §2), and solbot/core stays pure: no wall clock, no
unseeded randomness, no asyncio, no I/O. Walks solbot/ with `ast`; no module is imported."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "solbot"

# layer of the importing module -> layers it may import (solbot.errors is "errors", the bare
# `solbot` package with its __version__ is "root")
ALLOWED: dict[str, frozenset[str]] = {
    "errors": frozenset({"errors"}),
    "root": frozenset({"root"}),
    "core": frozenset({"root", "errors", "core"}),
    "config": frozenset({"root", "errors", "core", "config"}),
    "adapters": frozenset({"root", "errors", "core", "config", "adapters"}),
    "app": frozenset({"root", "errors", "core", "config", "adapters", "app"}),
    "cli": frozenset({"root", "errors", "core", "config", "adapters", "app", "cli"}),
}
LAYER_PACKAGES = ("core", "config", "adapters", "app", "cli")

# Anything that reads the clock or an unseeded random source makes replays irreproducible.
CLOCK_CALLS = frozenset(
    {
        "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns", "time.perf_counter",
        "time.perf_counter_ns", "time.process_time", "time.process_time_ns", "time.thread_time",
        "time.thread_time_ns", "time.sleep", "datetime.datetime.now", "datetime.datetime.utcnow",
        "datetime.datetime.today", "datetime.date.today", "uuid.uuid1", "uuid.uuid4",
        "os.urandom", "os.getrandom",
    }
)  # fmt: skip
# These read the clock only when called without a time argument.
CLOCK_WITHOUT_ARGUMENT = {"time.localtime": 0, "time.gmtime": 0, "time.ctime": 0,
                          "time.asctime": 0, "time.strftime": 1}  # fmt: skip
RANDOM_MODULES = ("random", "numpy.random", "secrets")
SEEDED_CONSTRUCTORS = frozenset(
    {"random.Random", "numpy.random.default_rng", "numpy.random.Generator",
     "numpy.random.PCG64", "numpy.random.SeedSequence", "numpy.random.RandomState"}
)  # fmt: skip
# core does no I/O: no event loop, threads, files, sockets, processes, databases or HTTP.
CORE_FORBIDDEN_MODULES = frozenset(
    {"asyncio", "threading", "multiprocessing", "concurrent", "socket", "ssl", "selectors",
     "subprocess", "os", "pathlib", "shutil", "tempfile", "io", "sqlite3", "sqlite_utils",
     "httpx", "aiohttp", "websockets", "requests", "urllib", "http", "polars", "pyarrow",
     "ruamel", "signal"}
)  # fmt: skip
CORE_FORBIDDEN_BUILTINS = frozenset({"open", "print", "input", "breakpoint"})
IMPORT_FUNCTIONS = frozenset({"import_module", "importlib.import_module", "__import__"})


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """solbot.core.x -> core; solbot.errors -> errors; solbot -> root; solbot.__main__ -> cli."""
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    if parts[1] in LAYER_PACKAGES:
        return parts[1]
    if parts[1] == "errors":
        return "errors"
    if parts[1] == "__main__":
        return "cli"
    return "root"


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every import: `from X import y` gives X.y (y may be a module or
    a name in X); import_module("...") calls with a literal name count too."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                source = _resolve_relative(module, is_package, node.level, node.module)
            for alias in node.names:
                yield node.lineno, f"{source}.{alias.name}"
        elif isinstance(node, ast.Call) and _call_name(node.func) in IMPORT_FUNCTIONS:
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return f"{_call_name(func.value)}.{func.attr}"
    return ""


def _existing_module(name: str) -> str:
    """`from solbot.core import model` names solbot.core.model; `from solbot import
    __version__` names the solbot package itself."""
    parts = name.split(".")
    while len(parts) > 1:
        candidate = PACKAGE.parent.joinpath(*parts)
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return ".".join(parts)
        parts.pop()
    return ".".join(parts)


def layering_violations(path: Path, source: str, module: str) -> list[Violation]:
    """Imports of solbot modules from a layer this module may not depend on."""
    tree = ast.parse(source, filename=str(path))
    layer = layer_of(module)
    shown = _shown(path)
    found: list[Violation] = []
    seen: set[tuple[int, str]] = set()
    for line, name in imported_modules(tree, module, path.name == "__init__.py"):
        if name != "solbot" and not name.startswith("solbot."):
            continue
        target = _existing_module(name)
        target_layer = layer_of(target)
        if target_layer in ALLOWED[layer] or (line, target) in seen:
            continue
        seen.add((line, target))
        found.append(
            Violation(
                shown,
                line,
                f"{layer} module {module} imports {target} ({target_layer}); "
                f"{layer} may import only {', '.join(sorted(ALLOWED[layer]))}",
            )
        )
    return found


class _Aliases(ast.NodeVisitor):
    """Local name -> fully qualified name, from this module's imports."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.names[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.names[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return
        for alias in node.names:
            self.names[alias.asname or alias.name] = f"{node.module}.{alias.name}"


def _qualified(node: ast.expr, aliases: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _qualified(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


def purity_violations(path: Path, source: str) -> list[Violation]:
    """Wall clock, unseeded randomness, asyncio and I/O in a core module."""
    tree = ast.parse(source, filename=str(path))
    aliases = _Aliases()
    aliases.visit(tree)
    shown = _shown(path)
    found: list[Violation] = []
    for line, name in imported_modules(tree, "solbot.core._", False):
        top = name.split(".")[0]
        if top in CORE_FORBIDDEN_MODULES:
            found.append(
                Violation(shown, line, f"core imports {name} (core does no I/O, no asyncio)")
            )
    calls = {id(node.func): node for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name | ast.Attribute) or not isinstance(node.ctx, ast.Load):
            continue
        call = calls.get(id(node))
        if isinstance(node, ast.Name) and node.id in CORE_FORBIDDEN_BUILTINS and call is not None:
            if node.id not in aliases.names:
                found.append(Violation(shown, node.lineno, f"core calls {node.id}() (I/O)"))
            continue
        name = _qualified(node, aliases.names)
        if name is None:
            continue
        problem = _impure(name, call)
        if problem:
            found.append(Violation(shown, node.lineno, problem))
    return found


def _impure(name: str, call: ast.Call | None) -> str:
    arguments = 0 if call is None else len(call.args) + len(call.keywords)
    if name in CLOCK_CALLS:
        return f"core reads the wall clock or an OS random source: {name} (use event time)"
    if (
        name in CLOCK_WITHOUT_ARGUMENT
        and call is not None
        and arguments <= CLOCK_WITHOUT_ARGUMENT[name]
    ):
        return f"core reads the wall clock: {name} without a time argument"
    if name in SEEDED_CONSTRUCTORS:
        if call is not None and arguments == 0:
            return f"core creates an unseeded random generator: {name}() (pass a seed)"
        return ""
    if any(name == module or name.startswith(module + ".") for module in RANDOM_MODULES):
        if name in RANDOM_MODULES and call is None:
            return ""  # the bare module name, e.g. inside `random.Random(seed)` resolution
        return f"core uses the global random state: {name} (use a seeded generator)"
    return ""


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(PACKAGE.parent))
    except ValueError:
        return str(path)


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


# ----- the checks on solbot/ --------------------------------------------------------------------


def test_there_are_modules_in_every_layer() -> None:
    layers = {layer_of(module_name(path, PACKAGE)) for path in _sources()}
    assert layers >= {"core", "config", "adapters", "app", "cli", "errors", "root"}


def test_imports_point_inward() -> None:
    found: list[Violation] = []
    for path in _sources():
        module = module_name(path, PACKAGE)
        found.extend(layering_violations(path, path.read_text(encoding="utf-8"), module))
    assert not found, "imports pointing outward:\n" + "\n".join(map(str, found))


def test_core_is_pure() -> None:
    found: list[Violation] = []
    for path in sorted((PACKAGE / "core").rglob("*.py")):
        found.extend(purity_violations(path, path.read_text(encoding="utf-8")))
    assert not found, "solbot/core must not do this:\n" + "\n".join(map(str, found))


# ----- the checker itself, on small sources (so the checks above can fail) ------------------------


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("solbot.core.x", "from solbot.adapters.storage import ledger\n",
         "solbot.adapters.storage.ledger"),
        ("solbot.core.x", "import solbot.config.loader\n", "solbot.config.loader"),
        ("solbot.core.x", "from solbot.app import session\n", "solbot.app.session"),
        ("solbot.config.x", "from solbot.adapters.data import events\n", "solbot.adapters.data"),
        ("solbot.adapters.x", "from solbot.app.metrics import open_existing\n", "solbot.app"),
        ("solbot.app.x", "from solbot.cli.main import main\n", "solbot.cli.main"),
        ("solbot.errors", "from solbot.core.model import Side\n", "solbot.core.model"),
        ("solbot.core.x", "from ..config import loader\n", "solbot.config.loader"),
        ("solbot.core.x", "from importlib import import_module\nimport_module('solbot.cli')\n",
         "solbot.cli"),
        ("solbot.core.x", "if TYPE_CHECKING:\n    from solbot.app.session import Session\n",
         "solbot.app.session"),
    ],
)  # fmt: skip
def test_outward_imports_are_reported_with_file_line_and_import(
    module: str, source: str, expected: str
) -> None:
    path = PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")
    found = layering_violations(path, source, module)
    assert found, f"{source!r} in {module} should be reported"
    assert str(found[0]).startswith(f"{_shown(path)}:{source.count(chr(10))}:")
    assert expected in str(found[0])


@pytest.mark.parametrize(
    ("module", "source"),
    [
        (
            "solbot.core.x",
            "from solbot.core.model import Side\nfrom solbot.errors import Problem\n",
        ),
        ("solbot.core.x", "from . import model\nfrom .rules import RuleSpec\n"),
        ("solbot.config.x", "from solbot.core.catalog import SignalCatalog\n"),
        ("solbot.adapters.x", "from solbot.config.markets import resolve_market\n"),
        ("solbot.app.x", "from solbot.adapters.storage.ledger import Ledger\n"),
        ("solbot.cli.x", "from solbot import __version__\nfrom solbot.app import metrics\n"),
        ("solbot.core.x", "import math\nfrom collections import deque\n"),
    ],
)
def test_inward_imports_pass(module: str, source: str) -> None:
    path = PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")
    assert layering_violations(path, source, module) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import time\nt = time.time()\n", "time.time"),
        ("import time as t\nnow = t.monotonic_ns()\n", "time.monotonic_ns"),
        ("from time import perf_counter\nx = perf_counter()\n", "time.perf_counter"),
        ("from time import time as now\nx = now()\n", "time.time"),
        ("from datetime import datetime\nx = datetime.now()\n", "datetime.datetime.now"),
        ("import datetime\nx = datetime.datetime.utcnow()\n", "datetime.datetime.utcnow"),
        ("from datetime import date\nx = date.today()\n", "datetime.date.today"),
        ("import uuid\nx = uuid.uuid4()\n", "uuid.uuid4"),
        ("import random\nx = random.random()\n", "random.random"),
        ("from random import choice\nx = choice([1, 2])\n", "random.choice"),
        ("import random\nrng = random.Random()\n", "random.Random"),
        ("import numpy as np\nx = np.random.rand()\n", "numpy.random.rand"),
        ("import numpy as np\nrng = np.random.default_rng()\n", "numpy.random.default_rng"),
        ("import time\nclock = time.monotonic\n", "time.monotonic"),
        ("import time\nx = time.gmtime()\n", "time.gmtime"),
        ("import asyncio\n", "asyncio"),
        ("from asyncio import Queue\n", "asyncio"),
        ("from pathlib import Path\n", "pathlib"),
        ("with open('x') as f:\n    pass\n", "open()"),
        ("print('hello')\n", "print()"),
    ],
)
def test_impure_core_code_is_reported(source: str, expected: str) -> None:
    path = PACKAGE / "core" / "example.py"
    found = purity_violations(path, source)
    assert found, f"{source!r} should be reported"
    assert expected in str(found[0])
    assert str(found[0]).startswith("solbot/core/example.py:")


@pytest.mark.parametrize(
    "source",
    [
        "import random\nrng = random.Random(7)\nx = rng.random()\n",
        "import random\ndef f(rng: random.Random) -> float:\n    return rng.random()\n",
        "import numpy as np\nrng = np.random.default_rng(seed=3)\n",
        "import time\nx = time.gmtime(0)\n",
        "from datetime import UTC, datetime\nx = datetime.fromtimestamp(0, UTC)\n",
        "import math\nx = math.exp(1.0)\n",
        "def now(clock):\n    return clock.now_ns()\n",
    ],
)
def test_pure_core_code_passes(source: str) -> None:
    assert purity_violations(PACKAGE / "core" / "example.py", source) == []
