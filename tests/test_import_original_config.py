"""`solbot import original-config`: the original's config.yaml -> a profile extending base.

Fixtures (tests/fixtures/original/):
- config-head.yaml: every key of the original's config.yaml at HEAD (original-system.md §2).
- config-base.yaml: the same file with the seed notes' values where the shipped `base` took
  them instead of HEAD's (docs/rules.md records both).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from solbot.app.original_config import import_original_config, load_table
from solbot.cli.main import main
from solbot.config.loader import ConfigDir, resolve_profile, shipped_config_dir

FIXTURES = Path(__file__).parent / "fixtures" / "original"
HEAD = FIXTURES / "config-head.yaml"
BASE_VALUES = FIXTURES / "config-base.yaml"

# Where HEAD's config.yaml and the shipped base differ: HEAD ran a stripped-back baseline with
# most features off; base follows the seed notes (docs/rules.md, "where it came from").
HEAD_DIFFERS_FROM_BASE = {
    "quoting.spread_bps": 15.0,
    "quoting.volatility_band.enabled": False,
    "rules.override.vol.high_pause.enabled": False,
    "rules.override.vol.low_pause.enabled": False,
    "rules.override.vol.high_clip.enabled": False,
    "rules.override.trend.fast_down.enabled": False,
    "rules.override.trend.up.enabled": False,
    "rules.override.pnl.guard.enabled": False,
    "params.vol_low_pause_bps": 0.0,
    "params.vol_low_resume_bps": 0.1,
    "params.hedge_emergency_after_s": 8.0,
    "params.pnl_hedge_clip_multiplier": 0.35,
    "params.pnl_hedge_offset_bps": 9.0,
    "regimes.overlays.aggressive.params.trend_down_cooldown_s": 0.0,
    "regimes.overlays.defensive.quoting.size_multiplier": 1.0,
    "regimes.overlays.defensive.quoting.extra_full_spread_bps": 0.0,
    "regimes.overlays.defensive.params.trend_down_cooldown_s": 0.0,
    "hedger.trigger_units": 0.008,
    "hedger.target_units": 0.0005,
    "hedger.max_clip_units": 0.03,
    "hedger.emergency_clip_multiplier": 1.1,
    "limits.max_position_units": 0.3,
}


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def _resolved(folder: Path, name: str) -> dict[str, Any]:
    """Resolve profile `name` written into `folder`/profiles beside the shipped ones."""
    import shutil

    shipped = shipped_config_dir()
    for sub in ("profiles", "rules"):
        shutil.copytree(shipped / sub, folder / sub, dirs_exist_ok=True)
    resolved = resolve_profile(name, ConfigDir(folder))
    data = dict(resolved.data)
    data["rules_enabled"] = {item.rule.id: item.rule.enabled for item in resolved.rules}
    return data


def test_the_base_values_in_the_originals_keys_import_to_base_with_no_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "profiles" / "mine.yaml"
    code, stdout, _ = _run(
        ["import", "original-config", str(BASE_VALUES), "--out", str(out)], capsys
    )
    assert code == 0
    profile = _yaml(out)
    assert profile == {
        "schema": 2,
        "kind": "profile",
        "id": "mine",
        "extends": "base",
        "description": "Imported from the original bot's config-base.yaml",
    }
    mine = _resolved(tmp_path, "mine")
    base = _resolved(tmp_path, "base")
    for data in (mine, base):
        data.pop("id"), data.pop("extends"), data.pop("description")
    assert mine == base
    assert "0 value(s) differ from base" in stdout


def test_heads_config_imports_to_exactly_the_documented_head_vs_notes_differences(
    tmp_path: Path,
) -> None:
    imported = import_original_config(HEAD, "head")
    written = {".".join(path): value for path, value, _ in imported.overrides}
    assert written == HEAD_DIFFERS_FROM_BASE
    comments = {".".join(path): comment for path, _, comment in imported.overrides}
    assert comments["quoting.spread_bps"] == "original maker.spread_bps: 15.0"
    assert comments["rules.override.trend.up.enabled"] == "original maker.trend.enabled: false"


def test_every_key_of_heads_config_gets_a_home_or_a_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, stdout, _ = _run(["import", "original-config", str(HEAD), "--json"], capsys)
    assert code == 0
    rows = json.loads(stdout)["keys"]
    present = [row for row in rows if row["outcome"] != "absent"]
    assert not [row for row in present if row["outcome"] == "unknown"]
    for row in present:
        if row["outcome"] in ("dead", "not_needed"):
            assert row["solbot"] is None and row["note"], row
        else:
            assert row["solbot"], row
    outcome = {row["key"]: row for row in rows}
    assert outcome["maker.loop_delay"]["outcome"] == "dead"
    assert outcome["hedger.trigger_notional"]["outcome"] == "dead"
    assert outcome["api.key"]["outcome"] == "not_needed"
    assert "LIGHTER_API_PRIVATE_KEY" in outcome["api.key"]["note"]
    assert outcome["optimizer.*"]["value"] == "10 keys"


def test_the_mapping_tables_head_values_are_the_fixtures_values() -> None:
    head = import_original_config(HEAD, "head")
    values = {row.key: row.value for row in head.rows if row.outcome != "absent"}
    for entry in load_table():
        if entry.key in values:
            assert values[entry.key] == entry.head, entry.key


NON_HEAD = """\
maker:
  pair: market:1
  spread_bps: 9
  inventory_soft_cap: 0.1
  volatility:
    ema_halflife_seconds: 20
    resume_inventory_ratio: 0.5
  trend:
    down_threshold_bps: 5
    inventory_soft_cap_ratio: 0.4
  regimes:
    min_dwell_seconds: 90
  pnl_guard:
    trigger_consecutive: 3
    check_interval_seconds: 20
hedger:
  cooldown_seconds: 2.5
  price_offset_bps: 11
fees:
  taker_actual_rate: 0.0002
guard:
  backoff_seconds_on_block: 7
  max_inventory_notional: 80
"""


def test_non_head_values_convert_units_and_conventions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(NON_HEAD)
    out = tmp_path / "profiles" / "mine.yaml"
    assert main(["import", "original-config", str(config), "--out", str(out)]) == 0
    capsys.readouterr()
    data = _resolved(tmp_path, "mine")
    assert data["market"] == "lighter:BTC"  # market:1
    assert data["tier"] == "premium"  # a non-zero taker rate
    assert data["quoting"]["spread_bps"] == 9  # full spread in both bots
    assert data["quoting"]["inventory_soft_cap_units"] == 0.1
    assert data["signals"]["vol_halflife"] == 20.0  # seconds -> duration
    assert data["params"]["vol_resume_inventory_units"] == pytest.approx(0.05)  # 0.5 x 0.1
    assert data["params"]["trend_fast_down_trigger_bps"] == -5  # a down move is negative
    assert data["params"]["trend_override_units"] == pytest.approx(0.04)  # 0.4 x 0.1
    assert data["regimes"]["min_dwell"] == 90.0
    assert data["params"]["pnl_confirm_s"] == 40  # 3 checks 20 s apart: 2 x 20 s
    assert data["hedger"]["cooldown"] == 2.5
    assert data["hedger"]["cross_offset_bps"] == 11
    assert data["guard"]["backoff"] == 7.0
    assert data["limits"]["max_position_usd"] == 80
    assert data["quoting"]["size_max_units"] == 0.072  # absent: base kept


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("maker:\n  spread_bps: wide\n", 2, "maker.spread_bps", "expected a number"),
        ("maker:\n  pair: market:99\n", 2, "maker.pair", "no Lighter market with id 99"),
        ("maker:\n  trend:\n    enabled: 1\n", 3, "maker.trend.enabled", "true or false"),
        ("maker: [\n", 2, "", "invalid YAML"),
        ("- a\n", 1, "", "expected a mapping"),
    ],
)
def test_bad_config_is_an_error_naming_file_line_and_key(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    line: int,
    field: str,
    message: str,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    out = tmp_path / "profiles" / "mine.yaml"
    code, _, err = _run(["import", "original-config", str(config), "--out", str(out)], capsys)
    assert code == 3
    assert err.startswith(f"{config}:{line}:")
    assert field in err and message in err
    assert "Traceback" not in err
    assert not out.exists()


def test_an_existing_profile_is_not_replaced_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine.yaml"
    out.write_text("keep me\n")
    args = ["import", "original-config", str(HEAD), "--out", str(out)]
    code, _, err = _run(args, capsys)
    assert code == 2 and "--force" in err
    assert out.read_text() == "keep me\n"
    assert _run([*args, "--force"], capsys)[0] == 0
    assert _yaml(out)["extends"] == "base"


def test_an_out_name_that_is_no_profile_id_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "My Profile.yaml"
    code, _, err = _run(["import", "original-config", str(HEAD), "--out", str(out)], capsys)
    assert code == 2 and "profile id" in err


def test_import_commands_have_help(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["import", "--help"], ["import", "original-config", "--help"]):
        code, out, _ = _run(args, capsys)
        assert code == 0 and "original" in out
    code, out, _ = _run(["metrics", "import-original", "--help"], capsys)
    assert code == 0 and "fills.jsonl" in out


def test_docs_migrating_lists_every_key_of_the_mapping_table() -> None:
    text = (Path(__file__).parent.parent / "docs" / "migrating.md").read_text()
    missing = [entry.key for entry in load_table() if f"| `{entry.key}` |" not in text]
    assert missing == []


def test_null_is_accepted_only_where_base_has_no_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("guard:\n  max_position_units: null\n")
    imported = import_original_config(config, "mine")
    assert imported.overrides == []  # base has no unit limit either
    config.write_text("maker:\n  spread_bps: null\n")
    out = tmp_path / "mine.yaml"
    code, _, err = _run(["import", "original-config", str(config), "--out", str(out)], capsys)
    assert code == 3
    assert err.startswith(f"{config}:2:") and "maker.spread_bps: expected a number" in err
