"""Snapshots of what users read: every --help, diff-profiles output, and config error listings.

Update after an intended change with `.venv/bin/pytest tests/test_cli_snapshots.py
--snapshot-update` and review the diff of tests/__snapshots__/test_cli_snapshots.ambr.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner

from solbot.cli.main import app, main
from solbot.config.loader import shipped_config_dir

# Fixed width and no colour, so rich renders help the same on every terminal and in CI.
STABLE_ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"
BASELINE = BROKEN / "_base"
SCHEMA_CASES = {"newer_schema", "older_schema"}  # exit 4; every other case exits 3
PROBLEM_LINE = re.compile(r"^[^:]+:\d+:\d+: ")
LOCATION = re.compile(r"^([^:]+):(\d+):(\d+): ")
CONFIG_DIR_TOKEN = "<config-dir>"


def command_paths() -> list[tuple[str, ...]]:
    """Every command and sub-command of `solbot`, found by walking the click tree."""
    paths: list[tuple[str, ...]] = [()]

    def walk(command: Any, prefix: tuple[str, ...]) -> None:
        # typer vendors its own click, so test for sub-commands rather than click.Group
        children = getattr(command, "commands", None) or {}
        for name in sorted(children):
            paths.append((*prefix, name))
            walk(children[name], (*prefix, name))

    walk(typer.main.get_command(app), ())
    return paths


def broken_cases() -> list[str]:
    return sorted(p.name for p in BROKEN.iterdir() if p.is_dir() and not p.name.startswith("_"))


def build_config_dir(case: str, target: Path) -> Path:
    """The valid baseline with the case's files laid over it (same names replace)."""
    shutil.copytree(BASELINE, target, dirs_exist_ok=True)
    shutil.copytree(BROKEN / case, target, dirs_exist_ok=True)
    return target


@dataclass(frozen=True)
class Checked:
    config_dir: Path
    code: int
    out: str
    err: str


def run_check(config_dir: Path) -> Checked:
    """`solbot rules check --config-dir DIR` through the real entry point, output captured."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["rules", "check", "--config-dir", str(config_dir)])
    return Checked(config_dir, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Checked]:
    """Check each case once per module; several tests look at the same listing."""
    root = tmp_path_factory.mktemp("broken")
    results: dict[str, Checked] = {}

    def get(case: str) -> Checked:
        if case not in results:
            results[case] = run_check(build_config_dir(case, root / case))
        return results[case]

    return get


def location_key(line: str) -> tuple[str, int, int, str]:
    match = LOCATION.match(line)
    assert match, line
    return match.group(1), int(match.group(2)), int(match.group(3)), line


# ----- help texts --------------------------------------------------------------------------------


def test_every_command_group_is_walked() -> None:
    paths = command_paths()
    assert ("rules", "check") in paths and ("diff-profiles",) in paths
    assert ("metrics", "window") in paths and ("data", "info") in paths


@pytest.fixture
def stable_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """typer reads TERMINAL_WIDTH and FORCE_COLOR once at import; pin what it derived from them."""
    rich_utils = pytest.importorskip("typer.rich_utils")
    monkeypatch.setattr(rich_utils, "MAX_WIDTH", int(STABLE_ENV["COLUMNS"] or 100), raising=False)
    monkeypatch.setattr(rich_utils, "FORCE_TERMINAL", False, raising=False)


@pytest.mark.usefixtures("stable_rich")
@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(("solbot", *p)))
def test_help(path: tuple[str, ...], snapshot: SnapshotAssertion) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env=STABLE_ENV)
    assert result.exit_code == 0, result.output
    assert ANSI.sub("", result.stdout) == snapshot


# ----- diff-profiles -----------------------------------------------------------------------------


def test_diff_profiles_defensive_aggressive(snapshot: SnapshotAssertion) -> None:
    arguments = [
        "diff-profiles",
        "defensive",
        "aggressive",
        "--config-dir",
        str(shipped_config_dir()),
    ]
    result = CliRunner().invoke(app, arguments, env=STABLE_ENV)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{result.stdout.count(chr(10)) // 2} differences:")
    assert ANSI.sub("", result.stdout) == snapshot


# ----- broken config files -----------------------------------------------------------------------


def test_there_are_at_least_fifteen_distinct_broken_configs() -> None:
    cases = broken_cases()
    assert len(cases) >= 15
    for case in cases:
        assert list((BROKEN / case).rglob("*.yaml")), f"{case} has no YAML file"


def test_the_baseline_is_valid(checked: Callable[[str], Checked]) -> None:
    result = checked("_base")
    assert (result.code, result.err) == (0, "")
    assert result.out.startswith("ok: 1 profile(s) checked")


@pytest.mark.parametrize("case", broken_cases())
def test_broken_config_listing(
    case: str, checked: Callable[[str], Checked], snapshot: SnapshotAssertion
) -> None:
    result = checked(case)
    assert result.code == (4 if case in SCHEMA_CASES else 3)
    assert result.out == ""
    lines = result.err.replace(str(result.config_dir), CONFIG_DIR_TOKEN).splitlines()
    assert lines, "a broken config must report at least one problem"
    for line in lines:
        assert PROBLEM_LINE.match(line), f"not path:line:col: {line!r}"
        assert "Traceback" not in line
    assert lines == sorted(lines, key=location_key)  # check.py sorts by path, line, column
    assert lines == snapshot


@pytest.mark.parametrize("case", broken_cases())
def test_problems_point_into_the_broken_files(case: str, checked: Callable[[str], Checked]) -> None:
    provided = {str(p.relative_to(BROKEN / case)) for p in (BROKEN / case).rglob("*.yaml")}
    named = {location_key(line)[0] for line in checked(case).err.splitlines()}
    assert named & provided, (
        f"problems name {sorted(named)}, the mistakes are in {sorted(provided)}"
    )


@pytest.mark.parametrize("case", broken_cases())
def test_listing_does_not_show_the_config_dir(case: str, checked: Callable[[str], Checked]) -> None:
    result = checked(case)
    assert str(result.config_dir.parent) not in result.err


def test_problems_on_one_line_come_out_in_column_order(tmp_path: Path) -> None:
    # PYTHONHASHSEED=1 is a seed under which the set order differs from column order.
    config_dir = build_config_dir("forbidden_expression", tmp_path / "config")
    code = "import sys; from solbot.cli.main import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONHASHSEED": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code, "rules", "check", "--config-dir", str(config_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert len(lines) >= 2
    assert lines == sorted(lines, key=location_key)
