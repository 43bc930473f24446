"""Realized-PnL windows and the PnL day have a profile home (issue 8: knobs only in Python).

`signals.realized_windows` names the rolling windows (`realized_<window>_usd: <window>`), and
`signals.pnl_day_start_utc` where the day of realized_day_usd / drawdown_day_usd starts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from policy_helpers import NS, REPO, SOL, at, config_with_profile

from solbot.adapters.telemetry.metrics import realized_windows
from solbot.app.session import Session
from solbot.cli.main import main
from solbot.config.compile import build_catalog, compile_policy, signal_settings
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.core.catalog import SignalCatalog
from solbot.core.seed import DAY_NS, SeedFills, SeedPoint
from solbot.core.signals import SignalSettings, SignalState

CANDLES_2022 = Path(__file__).parent / "fixtures" / "binance_spot_SOLUSDT_1m_20220922.csv.gz"

TWO_MINUTES = """\
schema: 2
kind: profile
id: two_minutes
extends: naive
signals:
  realized_windows: {realized_2m_usd: 2m}
rules:
  include: [rules/two_minutes.yaml]
"""

TWO_MINUTE_RULES = """\
schema: 2
kind: ruleset
id: two_minutes
revision: 1
description: Alert on any realized PnL in the last two minutes.
defaults: {hold: 0s, min_active: 0s, cooldown: 0s, on_error: ignore}
rules:
  - id: two_minutes.moved
    description: Realized PnL over the last two minutes is not zero.
    priority: 10
    when: realized_2m_usd > 0 or realized_2m_usd < 0
    actions:
      - alert: {level: info, message: realized PnL in the last two minutes}
"""


def two_minute_state(**settings: float) -> SignalState:
    windows = (("realized_2m_usd", 120.0),)
    catalog = SignalCatalog.build((("ret_45s_bps", 45.0),), windows)
    return SignalState(catalog, SignalSettings(realized_windows=windows, **settings), 0.001)


def test_a_profile_window_becomes_a_signal_that_rules_read_in_simulate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with_profile(tmp_path / "config", "two_minutes", TWO_MINUTES)
    (config.root / "rules" / "two_minutes.yaml").write_text(TWO_MINUTE_RULES, encoding="utf-8")
    args = ["simulate", "--data", str(CANDLES_2022), "--profile", "two_minutes"]
    args += ["--config-dir", str(config.root), "--out", str(tmp_path / "out"), "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["fills"] > 0
    moved = summary["rules"]["two_minutes.moved"]
    assert moved["activations"] > 0
    assert moved["failed_closed_activations"] == 0


def test_the_default_windows_stay_five_minutes_and_one_hour() -> None:
    resolved = resolve_profile("naive", ConfigDir(REPO))
    catalog = build_catalog(resolved.profile)
    assert "realized_5m_usd" in catalog.names and "realized_1h_usd" in catalog.names
    assert signal_settings(resolved.profile).realized_windows == (
        ("realized_5m_usd", 300.0),
        ("realized_1h_usd", 3600.0),
    )


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ("{realized_2m_usd: 5m}", "realized_2m_usd names a 120 s window but is set to 300 s"),
        ("{realised_2m_usd: 2m}", "realized window names look like realized_<window>_usd"),
        ("{realized_day_usd: 1d}", "realized window names look like realized_<window>_usd"),
    ],
)
def test_a_misnamed_window_is_exit_3_with_file_line_and_column(
    windows: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TWO_MINUTES.replace("{realized_2m_usd: 2m}", windows).replace(
        "  include: [rules/two_minutes.yaml]\n", "  include: []\n"
    )
    config = config_with_profile(tmp_path / "config", "two_minutes", text)
    args = ["simulate", "--data", str(CANDLES_2022), "--profile", "two_minutes"]
    code = main([*args, "--config-dir", str(config.root), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 3
    output = captured.out + captured.err
    assert message in output
    assert re.search(r"two_minutes\.yaml:\d+:\d+", output), output
    assert "Traceback" not in output


def test_a_rule_reading_a_window_the_profile_does_not_have_is_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with_profile(tmp_path / "config", "two_minutes", TWO_MINUTES)
    rules = TWO_MINUTE_RULES.replace("realized_2m_usd", "realized_3m_usd")
    (config.root / "rules" / "two_minutes.yaml").write_text(rules, encoding="utf-8")
    args = ["simulate", "--data", str(CANDLES_2022), "--profile", "two_minutes"]
    code = main([*args, "--config-dir", str(config.root), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 3
    assert "realized_3m_usd" in captured.out + captured.err


def test_a_fill_leaves_a_two_minute_window_at_two_minutes() -> None:
    state = two_minute_state()
    state.on_fill(at(10), 0, -1.5)
    assert state.next_expiry_ns() == at(70)  # fills_1m first
    state.refresh(at(70))
    assert state.next_expiry_ns() == at(130)  # the replay wakes when the fill leaves 2 minutes
    state.refresh(at(130) - 1)
    assert state.get("realized_2m_usd") == pytest.approx(-1.5)
    state.refresh(at(130))
    assert state.get("realized_2m_usd") == 0.0


def test_the_seed_reaches_back_the_longest_configured_window(tmp_path: Path) -> None:
    text = TWO_MINUTES.replace("{realized_2m_usd: 2m}", "{realized_2h_usd: 2h}").replace(
        "  include: [rules/two_minutes.yaml]\n", "  include: []\n"
    )
    config = config_with_profile(tmp_path / "config", "two_minutes", text)
    policy = compile_policy(resolve_profile("two_minutes", config), SOL)
    now = (at(0) // DAY_NS + 1) * DAY_NS + 3600 * NS  # 01:00 UTC: 2 h back is yesterday
    session = Session(policy, market_key=SOL.symbol)
    asked: list[int] = []

    class Source:
        def fills_for_seed(self, market: str, since_ns: int, venue_family: str) -> SeedFills:
            asked.append(since_ns)
            return SeedFills(since_ns, 0.0, (), ())

    session.seed_from_ledger(Source(), "paper", now)
    assert asked == [now - 7200 * NS]  # not 1 h back (the old constant), nor the day's start


def test_seeded_points_fill_the_configured_window() -> None:
    state = two_minute_state()
    now = at(1000)
    state.seed(now, [SeedPoint(at(870), -9.0, 0.0), SeedPoint(at(900), -2.0, 0.0)])
    state.refresh(now)
    assert state.get("realized_2m_usd") == pytest.approx(-2.0)  # 130 s ago is out of 2 minutes


def test_the_pnl_day_starts_at_the_configured_offset_from_utc_midnight() -> None:
    state = two_minute_state(pnl_day_start_s=22 * 3600.0)
    midnight = (at(0) // DAY_NS + 1) * DAY_NS
    before = midnight - 2 * 3600 * NS - NS  # 21:59:59 UTC
    state.on_fill(before, 0, -4.0)
    state.refresh(before)
    assert state.get("realized_day_usd") == pytest.approx(-4.0)
    assert state.next_day_start_ns(before) == midnight - 2 * 3600 * NS
    state.refresh(midnight - 2 * 3600 * NS)  # 22:00 UTC: a new PnL day
    assert state.get("realized_day_usd") == 0.0
    state.on_fill(midnight - NS, 0, -1.0)  # 23:59:59
    state.refresh(midnight + NS)  # 00:00:01: still the same PnL day
    assert state.get("realized_day_usd") == pytest.approx(-1.0)


def test_the_realized_window_gauge_is_labelled_by_the_profile_windows() -> None:
    settings = SignalSettings(
        realized_windows=(("realized_2h_usd", 7200.0), ("realized_2m_usd", 120.0))
    )
    assert realized_windows(settings) == [
        ("2m", "realized_2m_usd"),
        ("2h", "realized_2h_usd"),
        ("day", "realized_day_usd"),
    ]


def test_rules_check_knows_the_windows_the_profiles_declare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with_profile(tmp_path / "config", "two_minutes", TWO_MINUTES)
    (config.root / "rules" / "two_minutes.yaml").write_text(TWO_MINUTE_RULES, encoding="utf-8")
    assert main(["rules", "check", "--config-dir", str(config.root)]) == 0
    capsys.readouterr()
    (config.root / "profiles" / "two_minutes.yaml").unlink()  # nobody declares realized_2m_usd
    assert main(["rules", "check", "--config-dir", str(config.root)]) == 3
    captured = capsys.readouterr()
    assert "realized_2m_usd" in captured.out + captured.err


def test_fill_count_windows_come_from_the_profile_too() -> None:
    windows = (("fills_30s", 30.0),)
    catalog = SignalCatalog.build((("ret_45s_bps", 45.0),), (), windows)
    assert "fills_30s" in catalog.names and "fills_1m" not in catalog.names
    state = SignalState(catalog, SignalSettings(realized_windows=(), fill_windows=windows), 0.001)
    state.on_fill(at(10), 1, 0.0)
    assert state.next_expiry_ns() == at(40)
    state.refresh(at(40) - 1)
    assert state.get("fills_30s") == 1.0
    state.refresh(at(40))
    assert state.get("fills_30s") == 0.0


def test_a_misnamed_fill_window_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TWO_MINUTES.replace(
        "realized_windows: {realized_2m_usd: 2m}", "fill_windows: {fills_1m: 2m}"
    )
    text = text.replace("  include: [rules/two_minutes.yaml]\n", "  include: []\n")
    config = config_with_profile(tmp_path / "config", "two_minutes", text)
    args = ["simulate", "--data", str(CANDLES_2022), "--profile", "two_minutes"]
    code = main([*args, "--config-dir", str(config.root), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 3
    assert "fills_1m names a 60 s window but is set to 120 s" in captured.out + captured.err


def test_a_reload_that_changes_a_window_rebuilds_it_from_the_old_windows() -> None:
    old = SignalState(SignalCatalog.build((("ret_45s_bps", 45.0),)), SignalSettings(), 0.001)
    old.on_fill(at(0), 0, -3.0)
    old.on_fill(at(100), 0, -1.0)
    new = two_minute_state()
    new.carry_own_state(old)
    new.refresh(at(150))
    assert new.get("realized_2m_usd") == pytest.approx(-1.0)  # the fill at 0 s is 150 s old
    new.refresh(at(220))
    assert new.get("realized_2m_usd") == 0.0


def test_a_reload_that_moves_the_day_start_keeps_the_days_pnl_until_the_new_start() -> None:
    midnight = (at(0) // DAY_NS + 1) * DAY_NS
    old = two_minute_state()
    old.on_fill(midnight + 3600 * NS, 0, -20.0)  # 01:00 UTC
    old.on_book(midnight + 3601 * NS, midnight + 3601 * NS, 100.0, 100.1)
    new = two_minute_state(pnl_day_start_s=2 * 3600.0)  # the day now starts at 02:00 UTC
    new.carry_own_state(old)
    new.refresh(midnight + 3700 * NS)
    assert new.get("realized_day_usd") == pytest.approx(-20.0)  # not reset by the reload
    new.refresh(midnight + 2 * 3600 * NS)
    assert new.get("realized_day_usd") == 0.0  # the new day starts at 02:00
