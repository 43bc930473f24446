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


def test_help_pulls_no_heavy_library() -> None:
    loaded = modules_loaded_by(
        "from solbot.cli.main import main; "
        "[main([*command, '--help']) for command in "
        "([], ['simulate'], ['sweep'], ['compare'], ['metrics', 'window'], ['data', 'convert'], "
        "['record'], ['run'])]"
    )
    assert sorted(loaded & set(HEAVY)) == []
