"""`solbot init`, `--config-dir` discovery and `profiles list/show`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from solbot.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_init_writes_an_editable_copy_that_checks_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "mybot"
    code, out, _ = run(capsys, "init", str(target))
    assert code == 0 and "wrote" in out
    assert (target / "profiles" / "defensive.yaml").is_file()
    assert (target / "rules" / "guards.yaml").is_file()
    schema = json.loads((target / "docs" / "schema" / "profile.json").read_text())
    assert schema["title"] == "Profile"  # what the files' yaml-language-server comment points at
    code, out, _ = run(capsys, "rules", "check", "--config-dir", str(target))
    assert code == 0 and "defensive" in out
    code, _, err = run(capsys, "init", str(target))
    assert code == 2 and "--force" in err  # never overwrites an edited copy silently


def test_the_current_directory_is_used_when_it_has_profiles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path)]) == 0
    capsys.readouterr()
    profile = tmp_path / "profiles" / "defensive.yaml"
    profile.write_text(
        profile.read_text().replace("trend_down_cooldown_s: 90", "trend_down_cooldown_s: 77")
    )
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        code, out, _ = run(capsys, "profiles", "show", "defensive", "--json")
    finally:
        os.chdir(cwd)
    assert code == 0
    shown = json.loads(out)
    assert shown["profile"]["params"]["trend_down_cooldown_s"] == 77
    assert shown["origins"]["params.trend_down_cooldown_s"].startswith("profiles/defensive.yaml:")


def test_profiles_list_and_show_with_origins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "profiles", "list")
    assert code == 0
    assert out.split() == ["aggressive", "base", "defensive", "naive"]
    code, out, _ = run(capsys, "profiles", "show", "aggressive")
    assert code == 0
    assert "quoting.spread_bps = 10.0    # profiles/aggressive.yaml:" in out
    assert "hedger.trigger_units = 0.05    # profiles/base.yaml:" in out


def test_unknown_profile_suggests_a_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "profiles", "show", "defensiv")
    assert code == 3
    assert "did you mean 'defensive'?" in err
