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


DOGE_PROFILE = """\
schema: 2
kind: profile
id: doge
extends: naive
description: A market that only the user's markets file knows.
market: lighter:DOGE
"""
DOGE_MARKETS = """\
schema: 1
markets:
  - key: lighter:DOGE
    venue: lighter
    symbol: DOGE
    market_id: 3
    price_decimals: 6
    size_decimals: 0
    min_base_amount: 10
    min_quote_amount: 10
"""


def _run(config: Path, profile: str, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "solbot", "run", "--profile", profile,
            "--config-dir", str(config), "--rest-url", "http://127.0.0.1:9",
            "--ws-url", "ws://127.0.0.1:9/stream", "--db", str(db), "--duration", "1s", *extra,
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_run_knows_the_markets_of_a_markets_file(tmp_path: Path) -> None:
    config = config_with_profile(tmp_path / "config", "doge", DOGE_PROFILE)
    markets = tmp_path / "markets.yaml"
    markets.write_text(DOGE_MARKETS, encoding="utf-8")
    unknown = _run(config.root, "doge", tmp_path / "a.db")
    assert unknown.returncode == 3 and "lighter:DOGE" in unknown.stderr
    known = _run(config.root, "doge", tmp_path / "b.db", "--markets", str(markets))
    # the market resolves: solbot goes on to the venue, which does not answer here
    assert known.returncode == 1, known.stderr
    assert "orderBookDetails" in known.stderr and "Traceback" not in known.stderr


def test_run_reads_the_config_dirs_markets_file(tmp_path: Path) -> None:
    config = config_with_profile(tmp_path / "config", "doge", DOGE_PROFILE)
    (config.root / "markets.yaml").write_text(DOGE_MARKETS, encoding="utf-8")
    known = _run(config.root, "doge", tmp_path / "c.db")
    assert known.returncode == 1 and "orderBookDetails" in known.stderr, known.stderr
