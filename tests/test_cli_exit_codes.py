"""One test per row of the exit-code table (DESIGN.md §6), through the real entry point
`solbot.cli.main.main`, plus the shape of `diff-profiles --json`."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import typer
from sqlite_utils import Database

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.migrations import MIGRATION_SET
from solbot.cli.main import app, main
from solbot.config.loader import shipped_config_dir

SHIPPED = shipped_config_dir()
BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"
ORIGIN = re.compile(r"^[^:]+\.yaml:\d+$")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def broken_config(case: str, target: Path) -> Path:
    shutil.copytree(BROKEN / "_base", target, dirs_exist_ok=True)
    shutil.copytree(BROKEN / case, target, dirs_exist_ok=True)
    return target


# ----- 0: ok -------------------------------------------------------------------------------------


def test_0_shipped_profiles_check_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["rules", "check", "--config-dir", str(SHIPPED)], capsys)
    assert (code, err) == (0, "")
    assert out.startswith("ok: ")


def test_0_diff_exit_code_when_profiles_resolve_the_same(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(["diff-profiles", "base", "base", "--exit-code",
                        "--config-dir", str(SHIPPED)], capsys)  # fmt: skip
    assert code == 0
    assert "same settings and rules" in out


def test_0_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0
    assert out.startswith("solbot ")


# ----- 1: runtime failure, and diff-profiles --exit-code on a difference -------------------------


def test_1_diff_exit_code_when_profiles_differ(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["diff-profiles", "defensive", "aggressive", "--config-dir", str(SHIPPED)]
    assert run(argv, capsys)[0] == 0  # without --exit-code a difference is not an error
    code, out, _ = run([*argv, "--exit-code"], capsys)
    assert code == 1
    assert "differences: defensive -> aggressive" in out


def test_1_ledger_in_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "no" / "such" / "folder" / "ledger.db"
    code, out, err = run(["metrics", "dump", "--db", str(db)], capsys)
    assert code == 1
    assert out == ""
    assert err.startswith("error: ") and str(db) in err
    assert not db.parent.exists()  # a reading command never creates the ledger


def test_1_ledger_that_cannot_be_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trades = tmp_path / "trades.json"
    trades.write_text("[]")
    db = tmp_path / "missing" / "ledger.db"
    argv = ["metrics", "import-json", str(trades), "--account-index", "1", "--db", str(db)]
    code, _, err = run(argv, capsys)
    assert code == 1
    assert err.startswith("error: ledger ") and str(db) in err


def test_3_ledger_that_is_not_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "notes.db"
    db.write_text("not sqlite " * 100)
    code, _, err = run(["metrics", "dump", "--db", str(db)], capsys)
    assert code == 3
    assert str(db) in err and "not a solbot ledger" in err


# ----- 2: usage error ----------------------------------------------------------------------------


def test_2_bad_argument_value(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["schema", "rulez"], capsys)
    assert code == 2
    assert out == ""
    assert "profile or ruleset" in err


def test_2_missing_required_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trades = tmp_path / "trades.json"
    trades.write_text("[]")
    argv = ["metrics", "import-json", str(trades), "--db", str(tmp_path / "ledger.db")]
    code, _, err = run(argv, capsys)
    assert code == 2
    assert "--account-index" in err
    assert not (tmp_path / "ledger.db").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["--no-such-option"],
        ["rules", "check", "--no-such-option"],
        ["no-such-command"],
        ["diff-profiles", "base"],  # missing argument
        ["metrics", "export", "--window", "five", "--db", "x.db"],  # not an integer
    ],
    ids=["unknown root option", "unknown option", "unknown command", "missing argument",
         "bad integer"],
)  # fmt: skip
def test_2_command_line_parse_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert err.strip()


def test_2_unknown_queue_model_names_the_choices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--queue-model", "foo", "--out", str(tmp_path / "out"), "--json"]
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert "--queue-model" in err and "risk_averse" in err and "probabilistic" in err


@pytest.mark.parametrize("spelling", ["--data", "positional"])
def test_2_missing_data_file_names_the_file(
    spelling: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "binance_usdm_SOLUSDT_bookticker.csv.gz"
    given = ["--data", str(missing)] if spelling == "--data" else [str(missing)]
    code, out, err = run(["simulate", *given, "--out", str(tmp_path / "out"), "--json"], capsys)
    assert code == 2
    assert out == ""
    assert missing.name in err and "does not exist" in err
    assert "which market" not in err


# ----- 3: invalid profile / rules / data file ----------------------------------------------------


def test_3_invalid_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_dir = broken_config("unknown_signal", tmp_path)
    code, out, err = run(["rules", "check", "--config-dir", str(config_dir)], capsys)
    assert code == 3
    assert out == ""
    assert re.match(r"^rules/guards\.yaml:\d+:\d+: trend\.down\.when: unknown signal", err)


def test_3_unknown_profile_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["profiles", "show", "defensiv", "--config-dir", str(SHIPPED)], capsys)
    assert code == 3
    assert "did you mean 'defensive'" in err


def test_3_data_file_with_a_bad_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "binance_usdm_SOLUSDT_bookticker.csv"
    data.write_text("time,bid,ask\n1715212800000,150.1,150.2\n")
    argv = ["simulate", "--profile", "base", "--data", str(data), "--out", str(tmp_path / "out"),
            "--config-dir", str(SHIPPED), "--json"]  # fmt: skip
    code, out, err = run(argv, capsys)
    assert code == 3
    assert out == ""
    assert re.match(rf"^{re.escape(str(data))}:1:\d+: header: ", err)


# ----- 4: newer schema ---------------------------------------------------------------------------


def test_4_profile_from_a_newer_solbot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_dir = broken_config("newer_schema", tmp_path)
    code, _, err = run(["rules", "check", "--config-dir", str(config_dir)], capsys)
    assert code == 4
    assert err.startswith("profiles/wide.yaml:2:9: schema: schema 3 is newer")


def test_4_ledger_from_a_newer_solbot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "ledger.db"
    Ledger(db_path).close()
    db = Database(db_path)
    db.table("_sqlite_migrations").insert(
        {"migration_set": MIGRATION_SET, "name": "m999_from_the_future", "applied_at": "later"}
    )
    db.close()
    code, _, err = run(["metrics", "dump", "--db", str(db_path)], capsys)
    assert code == 4
    assert "m999_from_the_future" in err


# ----- 10: a latched kill rule -------------------------------------------------------------------


# Should a command reach for the network before checking the latch, keep it on a closed
# loopback port and short-lived instead of mainnet.
SAFE_OPTIONS = {
    "--rest-url": "http://127.0.0.1:9",
    "--ws-url": "ws://127.0.0.1:9/stream",
    "--duration": "2s",
    "--config-dir": str(SHIPPED),
    "--profile": "base",
}


def _commands_checking_latches() -> dict[str, list[str]]:
    """Commands that take --ack-kill and --db (so must refuse to start while a kill is
    latched), each with the safe options it accepts."""
    root = typer.main.get_command(app)
    found: dict[str, list[str]] = {}
    for name, command in sorted(getattr(root, "commands", {}).items()):
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        if "--ack-kill" in options and "--db" in options:
            found[name] = [
                part
                for option, value in SAFE_OPTIONS.items()
                if option in options
                for part in (option, value)
            ]
    return found


def test_10_latched_kill_rule_refuses_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = _commands_checking_latches()
    if not commands:
        pytest.skip("no command checks kill latches yet: none takes --ack-kill and --db")
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        ledger.latch("pnl.daily_kill", 1_700_000_000 * 10**9, "kill daily realized loss limit")
    for command, options in commands.items():
        code, _, err = run([command, "--db", str(db), *options], capsys)
        assert code == 10, f"{command}: {err}"
        assert "pnl.daily_kill" in err


# ----- diff-profiles --json ----------------------------------------------------------------------


def test_diff_profiles_json_lists_paths_values_and_origins(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["diff-profiles", "defensive", "aggressive", "--json", "--config-dir", str(SHIPPED)]
    code, out, _ = run(argv, capsys)
    assert code == 0
    differences = json.loads(out)
    assert differences and isinstance(differences, list)
    for item in differences:
        assert set(item) >= {"path", "old", "new", "old_origin", "new_origin"}
        assert item["old"] != item["new"]
    by_path = {item["path"]: item for item in differences}
    spread = by_path["quoting.spread_bps"]
    assert (spread["old"], spread["new"]) == (12, 10)
    assert spread["old_origin"].startswith("profiles/base.yaml:")
    assert spread["new_origin"].startswith("profiles/aggressive.yaml:")
    assert ORIGIN.match(spread["old_origin"]) and ORIGIN.match(spread["new_origin"])
    dwell = by_path["regimes.min_dwell"]
    assert (dwell["old"], dwell["new"]) == (120, 30)
    tier1 = by_path["rules.inventory.tier1.enabled"]
    assert tier1["new_origin"].startswith("profiles/aggressive.yaml:")
