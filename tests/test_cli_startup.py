"""`solbot --help` starts fast: importing the CLI pulls no heavy library (they load in commands)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("polars", "pyarrow", "numpy", "httpx", "websockets", "aiohttp", "ray", "optuna")


def modules_loaded_by(statement: str) -> set[str]:
    """Top-level module names in sys.modules after `statement` in a fresh interpreter."""
    report = "print(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    probe = f"import json, sys; {statement}; {report}"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    return {name.split(".")[0] for name in json.loads(result.stderr.splitlines()[-1])}


def test_importing_the_cli_pulls_no_heavy_library() -> None:
    loaded = modules_loaded_by("import solbot.cli.main")
    assert "solbot" in loaded
    assert sorted(loaded & set(HEAVY)) == []
    assert "pydantic" not in loaded  # the schemas load with the commands that read profiles
    assert "rich" not in loaded  # progress bars import it when one may be drawn
    assert "asyncio" not in loaded  # `venue size` and `venue rank` import it when they run


def test_help_pulls_no_heavy_library() -> None:
    loaded = modules_loaded_by(
        "from solbot.cli.main import main; "
        "[main([*command, '--help']) for command in "
        "([], ['simulate'], ['sweep'], ['compare'], ['metrics', 'window'], ['data', 'convert'], "
        "['record'], ['run'])]"
    )
    assert sorted(loaded & set(HEAVY)) == []


def test_simulate_json_loads_no_progress_bar_or_network_library(tmp_path: Path) -> None:
    """`simulate --json` (what benchmarks, sweeps and scripts run) draws no bar: rich stays out,
    and so do the live venue's network libraries and the HTML report's plotly (no --report).
    (asyncio is still loaded: app/driver.py, shared with live, imports it.)"""
    out = tmp_path / "run"
    loaded = modules_loaded_by(
        "from solbot.cli.main import main; "
        f"code = main(['simulate', '--profile', 'defensive', '--out', {str(out)!r}, '--json']); "
        "assert code == 0, code"
    )
    assert "solbot" in loaded and "polars" in loaded  # it did replay the bundled sample
    assert (out / "summary.json").is_file()
    assert sorted(loaded & {"rich", "httpx", "websockets", "aiohttp", "plotly"}) == []


def test_each_command_name_is_owned_by_the_module_that_registers_it() -> None:
    import typer.main

    from solbot.cli.main import COMMAND_MODULES, COMMAND_OWNERS, build_app

    for module in COMMAND_MODULES:
        command = typer.main.get_command(build_app((module,)))
        registered = set(getattr(command, "commands", {}))
        owned = {name for name, owner in COMMAND_OWNERS.items() if owner == module}
        assert registered == owned, module
    assert set(COMMAND_OWNERS.values()) == set(COMMAND_MODULES)


def test_a_command_line_loads_only_the_module_of_the_command_it_names() -> None:
    report = "print(json.dumps(sorted(m for m in sys.modules if m.startswith('solbot.cli'))))"
    probe = (
        "import json, sys; from solbot.cli.main import main; "
        "code = main(['rules', 'check']); assert code == 0, code; " + report
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert "solbot.cli.config_commands" in loaded
    others = {"simulate", "sweep", "compare", "metrics", "run", "sizing", "venue", "data"}
    assert sorted(loaded & {f"solbot.cli.{name}" for name in others}) == []
