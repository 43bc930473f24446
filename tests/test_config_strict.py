"""Nothing in a profile is silently ignored: unread parameters, expression types, units."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from solbot.cli.main import main
from solbot.config.loader import shipped_config_dir

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
