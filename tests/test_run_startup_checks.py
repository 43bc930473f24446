"""`solbot run` checks the profile's market and tier before it touches the venue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from policy_helpers import config_with_profile

TYPO_TIER = """\
schema: 2
kind: profile
id: typo
extends: naive
description: A tier name with a typo.
tier: premuim
"""


def test_run_refuses_an_unknown_tier_instead_of_trading_on_the_default(tmp_path: Path) -> None:
    config = config_with_profile(tmp_path / "config", "typo", TYPO_TIER)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "solbot",
            "run",
            "--profile",
            "typo",
            "--config-dir",
            str(config.root),
            "--rest-url",
            "http://127.0.0.1:9",  # nothing listens: the check must come first
            "--ws-url",
            "ws://127.0.0.1:9/stream",
            "--db",
            str(tmp_path / "ledger.db"),
            "--duration",
            "1s",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3, result.stderr
    assert "premuim" in result.stderr and "premium" in result.stderr
    assert "typo.yaml:6" in result.stderr
    assert "Traceback" not in result.stderr
