"""The live adapter's request budget follows the account tier the profile names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from solbot.app.live import LiveRunner, RunRequest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("tier", "per_minute"), [("standard", 60), ("premium", 4000)])
def test_the_request_budget_is_the_profile_tiers(
    tmp_path: Path, tier: str, per_minute: int
) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "profiles", config / "profiles")
    shutil.copytree(REPO / "rules", config / "rules")
    (config / "profiles" / "tiered.yaml").write_text(
        f"schema: 2\nkind: profile\nid: tiered\nextends: naive\ntier: {tier}\n", encoding="utf-8"
    )
    request = RunRequest(
        profile="tiered",
        rest_url="http://127.0.0.1:1",
        ws_url="ws://127.0.0.1:1/stream",
        db=tmp_path / "ledger.db",
        config_dir=config,
        live=True,
    )
    runner = LiveRunner(request, lambda status: None)
    assert runner.account_tier(runner._entry()).tx_per_minute == per_minute
