"""Nothing in a profile is silently ignored: unread parameters, expression types, units."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from solbot.cli.main import main
from solbot.config.compile import compile_policy
from solbot.config.loader import ConfigDir, resolve_profile, shipped_config_dir
from solbot.config.markets import resolve_market
from solbot.core.engine import Engine

SHIPPED = shipped_config_dir()


def edited_config(root: Path, file: str, edit: Callable[[str], str]) -> Path:
    for folder in ("profiles", "rules"):
        shutil.copytree(SHIPPED / folder, root / folder)
    target = root / file
    text = target.read_text(encoding="utf-8")
    edited = edit(text)
    assert edited != text, "the edit must change the file"
    target.write_text(edited, encoding="utf-8")
    return root


def check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["rules", "check", "--config-dir", str(root)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def line_of(file: str, needle: str) -> int:
    lines = (SHIPPED / file).read_text(encoding="utf-8").splitlines()
    return next(number for number, text in enumerate(lines, 1) if needle in text)


def test_a_misspelt_parameter_is_an_error_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = edited_config(
        tmp_path,
        "profiles/defensive.yaml",
        lambda t: t.replace("  vol_low_pause_bps: 1.0", "  vol_low_pause_bpz: 1.0"),
    )
    code, err = check(root, capsys)
    line = line_of("profiles/defensive.yaml", "vol_low_pause_bps: 1.0")
    assert code == 3
    assert (
        f"profiles/defensive.yaml:{line}:22: params.vol_low_pause_bpz: parameter "
        "'vol_low_pause_bpz' is not read by any rule of this profile "
        "(did you mean 'vol_low_pause_bps'?)"
    ) in err


def test_a_parameter_read_only_by_a_disabled_rule_is_still_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def disable(text: str) -> str:
        return text.replace(
            "  include:", "  override: {vol.low_pause: {enabled: false}}\n  include:"
        )

    root = edited_config(tmp_path, "profiles/base.yaml", disable)
    assert check(root, capsys) == (0, "")


def test_a_profile_without_rules_may_not_declare_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = edited_config(
        tmp_path,
        "profiles/naive.yaml",
        lambda t: t.replace("quoting:\n", "params: {spread_x: 3}\nquoting:\n", 1),
    )
    code, err = check(root, capsys)
    assert code == 3
    assert re.search(
        r"profiles/naive\.yaml:\d+:\d+: params\.spread_x: parameter 'spread_x' is not read", err
    )


# ----- expression types ---------------------------------------------------------------------------

TYPE_CASES = [
    (
        "when: vol_ema_bps >= p.vol_high_clip_bps",
        "when: ret_45s_bps",
        "vol.high_clip.when: expected a condition (true/false), found a number in bps",
    ),
    (
        "add_full_spread_bps: p.trend_down_extra_bps}",
        'add_full_spread_bps: "spread_bps > 3"}',
        "trend.down.widen.add_full_spread_bps: expected a number, found a condition (true/false)",
    ),
    (
        "when: feed_age_s > p.stale_feed_s or book_valid < 1",
        "when: feed_age_s > p.stale_feed_s or spread_bps < p.pnl_floor_usd",
        "feed.stale.when: cannot compare 'spread_bps' (bps) with 'p.pnl_floor_usd' (usd)",
    ),
    (
        "until: vol_ema_bps >= p.vol_low_resume_bps",
        "until: vol_ema_bps + realized_5m_usd >= 3",
        "vol.low_pause.until: 'realized_5m_usd' is in usd but 'vol_ema_bps' is in bps",
    ),
    (
        "until: vol_ema_bps >= p.vol_low_resume_bps",
        "until: vol_ema_bps >= 3 and spread_bps",
        "vol.low_pause.until: 'spread_bps' is a number in bps, not a condition",
    ),
    (
        "add_full_spread_bps: p.trend_down_extra_bps}",
        "add_full_spread_bps: p.pnl_floor_usd}",
        "trend.down.widen.add_full_spread_bps: expected a number in bps, found a number in usd",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), TYPE_CASES, ids=lambda v: str(v)[:30])
def test_expression_types_and_units_are_checked_with_the_position(
    old: str, new: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = edited_config(tmp_path, "rules/guards.yaml", lambda t: t.replace(old, new, 1))
    code, err = check(root, capsys)
    line = line_of("rules/guards.yaml", old)
    assert code == 3
    found = [text for text in err.splitlines() if message in text]
    assert found, err
    assert found[0].startswith(f"rules/guards.yaml:{line}:")


def test_the_column_points_at_the_offending_operand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, _ = TYPE_CASES[2]
    root = edited_config(tmp_path, "rules/guards.yaml", lambda t: t.replace(old, new, 1))
    _, err = check(root, capsys)
    text = new.removeprefix("when: ")
    line_text = next(t for t in (root / "rules/guards.yaml").read_text().splitlines() if new in t)
    column = line_text.index(text) + text.index("p.pnl_floor_usd") + 1
    assert f":{column}: feed.stale.when: cannot compare" in err


@pytest.mark.parametrize(
    ("new", "field", "message"),
    [
        ("size_multiplier: -0.7", "size_multiplier", "Input should be greater than 0"),
        ("size_multiplier: 0.7, bogus_key: 1", "bogus_key", "unknown quoting key 'bogus_key'"),
    ],
)
def test_an_overlay_error_is_blamed_on_the_child_line(
    new: str, field: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = "size_multiplier: 0.7, extra_full_spread_bps: 3.0"
    root = edited_config(
        tmp_path,
        "profiles/defensive.yaml",
        lambda t: t.replace(old, new + ", extra_spread_bps: 3.0"),
    )
    code, err = check(root, capsys)
    line = line_of("profiles/defensive.yaml", old)
    assert code == 3
    assert f"regimes.overlays.defensive.quoting.{field}: {message}" in err
    assert err.startswith(f"profiles/defensive.yaml:{line}:"), err
    assert "base.yaml" not in err


def test_profiles_show_attributes_a_python_default_to_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["profiles", "show", "defensive", "--config-dir", str(SHIPPED)]) == 0
    lines = capsys.readouterr().out.splitlines()
    multiplier = next(line for line in lines if line.startswith("quoting.size_multiplier = "))
    assert multiplier.endswith("# default")  # was the `quoting:` section's line in base.yaml
    spread = next(line for line in lines if line.startswith("quoting.spread_bps = "))
    assert spread.endswith(
        f"# profiles/base.yaml:{line_of('profiles/base.yaml', 'spread_bps: 12')}"
    )


def test_warm_up_sample_counts_and_the_decision_interval_have_profile_homes(
    tmp_path: Path,
) -> None:
    def edit(text: str) -> str:
        text = text.replace("sigma_warmup_samples: 30", "sigma_warmup_samples: 45")
        return text.replace("decision_interval: 250ms", "decision_interval: 500ms")

    root = edited_config(tmp_path, "profiles/base.yaml", edit)
    resolved = resolve_profile("defensive", ConfigDir(root))
    policy = compile_policy(resolved, resolve_market(resolved.profile.market).spec)
    assert policy.signal_settings.sigma_warmup_samples == 45
    assert policy.decision_interval_ns == 500_000_000


def test_a_timer_bound_to_a_negative_parameter_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = "    min_active: p.trend_down_cooldown_s\n    on_error: ignore        # the 5-minute"
    new = "    min_active: p.trend_down_trigger_bps\n    on_error: ignore        # the 5-minute"
    root = edited_config(tmp_path, "rules/guards.yaml", lambda t: t.replace(old, new, 1))
    code, err = check(root, capsys)
    line = line_of("rules/guards.yaml", "min_active: p.trend_down_cooldown_s")
    assert code == 3
    message = "trend.down.min_active: timer p.trend_down_trigger_bps is -6 s"
    assert f"rules/guards.yaml:{line}:17: {message}" in err


@pytest.mark.parametrize(("flagged", "expected"), [("aggressive", 0.0), ("defensive", 1.0)])
def test_the_flagged_regime_drives_the_regime_aggressive_signal(
    flagged: str, expected: float, tmp_path: Path
) -> None:
    def edit(text: str) -> str:
        return text.replace("flagged: aggressive ", f"flagged: {flagged} ")

    # "\n": edited_config wants a change even when the flagged regime stays the same
    root = edited_config(tmp_path, "profiles/base.yaml", lambda t: edit(t) + "\n")
    resolved = resolve_profile("defensive", ConfigDir(root))  # starts in the defensive regime
    policy = compile_policy(resolved, resolve_market(resolved.profile.market).spec)
    engine = Engine(policy)
    engine.decide(1_000_000_000)
    assert engine.regime == "defensive"
    assert engine.signals.values[policy.catalog.index()["regime_aggressive"]] == expected


def test_a_flagged_regime_that_is_not_an_overlay_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit = "flagged: aggressive ", "flagged: agressive "
    root = edited_config(tmp_path, "profiles/base.yaml", lambda t: t.replace(*edit))
    code, err = check(root, capsys)
    assert code == 3
    assert "regimes.flagged: 'agressive' is not an overlay name" in err
