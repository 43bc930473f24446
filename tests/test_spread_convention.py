"""Every spread knob is a full-spread amount, as the original bot meant (issue 7 §4).

The original quoted each side at half of a full spread to which every extra was added
(original-system.md §3.2): trend.down put the ask (12 + 8) / 2 = 10 bps from mid and the PnL guard
quoted 12 + 6 = 18 bps. Schema 1 added `widen.add_bps` to each side, giving 14 and 24 bps.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from policy_helpers import REPO

from solbot.cli.main import main
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.config.migrate import SchemaMigrationWarning

CALM_AT_150 = {
    "mid": 150.0,
    "vol_ema_bps": 7.0,  # inside the volatility band's floor: the 12 bps baseline holds
    "ret_5m_bps": 0.0,
    "ret_45s_bps": 0.0,
    "inventory_units": 0.0,
    "realized_5m_usd": 0.0,
    "sigma_1m_bps": 5.0,
    "vol_percentile": 50,
    "feed_age_s": 0.1,
    "book_valid": 1,
    "trend_ema_bps": 0.0,
    "exposure_s": 0,
    "guard_block_s": 0,
}


def explain(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    signals: dict[str, float],
    *extra: str,
    profile: str = "defensive",
) -> tuple[dict, str]:
    """The explain report (JSON) and what went to stderr."""
    state = {
        "signals": {**CALM_AT_150, **signals},
        "book": {"bid": 149.99, "ask": 150.01},
        "regime": "aggressive",  # no regime extra: the baseline is the profile's 12 bps
    }
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    code = main(["explain", "--profile", profile, "--state", str(path), "--json", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out), captured.err


@pytest.mark.parametrize("profile", ["base", "defensive", "aggressive"])
def test_trend_down_puts_the_ask_10_bps_from_mid_at_150(
    profile: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, _ = explain(tmp_path, capsys, {"ret_5m_bps": -8.0}, profile=profile)
    assert report["decision"]["active_rules"][0] == "trend.down"
    spread = report["quotes"]["spread_bps"]
    assert report["quotes"]["bid"] is None
    ask = report["quotes"]["ask"]
    assert ask["bps_from_mid"] == pytest.approx((spread + 8.0) / 2)
    if profile != "aggressive":  # aggressive's own baseline is the notes' ~10 bps
        assert (spread, ask["price"], ask["bps_from_mid"]) == (12.0, 150.15, 10.0)


def test_pnl_guard_quotes_18_bps_full_spread_as_the_original(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, _ = explain(tmp_path, capsys, {"realized_5m_usd": -1.0})
    assert "pnl.guard" in report["decision"]["active_rules"]
    quotes = report["quotes"]
    assert quotes["spread_bps"] == 12.0
    assert quotes["bid"]["bps_from_mid"] == 9.0 and quotes["ask"]["bps_from_mid"] == 9.0
    assert (quotes["bid"]["price"], quotes["ask"]["price"]) == (149.865, 150.135)


def test_inventory_tier_extras_widen_the_full_spread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, _ = explain(tmp_path, capsys, {"inventory_units": 0.031})  # tier 3: +6 bps
    ask = report["quotes"]["ask"]  # long: the bid (adding side) is paused
    assert report["quotes"]["bid"] is None
    assert ask["bps_from_mid"] == pytest.approx((12.0 + 6.0) / 2)


def _user_config_with_schema_1_guards(root: Path) -> Path:
    """The user's copy of the rules, still in schema 1: `add_bps` moved each side by its value."""
    shutil.copytree(REPO / "profiles", root / "profiles")
    shutil.copytree(REPO / "rules", root / "rules")
    guards = root / "rules" / "guards.yaml"
    text = guards.read_text().replace("schema: 2", "schema: 1")
    guards.write_text(text.replace("add_full_spread_bps:", "add_bps:"))
    return root


def test_a_schema_1_rule_file_keeps_meaning_what_it_meant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _user_config_with_schema_1_guards(tmp_path / "config")
    arguments = ("--config-dir", str(config))
    report, err = explain(tmp_path, capsys, {"ret_5m_bps": -8.0}, *arguments)
    assert report["quotes"]["ask"]["bps_from_mid"] == 14.0  # 12 / 2 + 8, as schema 1 quoted
    # the CLI says where, like a compiler warning: one line for the one old file
    (line,) = err.splitlines()
    assert line.startswith("rules/guards.yaml:4:9: schema: ")


def test_a_schema_1_file_loads_with_a_migration_warning(tmp_path: Path) -> None:
    config = _user_config_with_schema_1_guards(tmp_path / "config")
    with pytest.warns(SchemaMigrationWarning):
        resolved = resolve_profile("base", ConfigDir(config))
    trend = next(rule for rule in resolved.rules if rule.rule.id == "trend.down")
    widen = trend.rule.actions[1].widen
    assert widen is not None and widen.add_full_spread_bps == "2 * (p.trend_down_extra_bps)"
    # errors in a migrated file still point at the line the user wrote
    assert trend.origin("actions", 1, "widen", "add_full_spread_bps").endswith("guards.yaml:23")
