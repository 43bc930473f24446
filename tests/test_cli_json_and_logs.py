"""Machine-readable output (`--json`), JSON logs that keep tracebacks, shell completion."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from solbot.cli.main import main
from solbot.cli.run import JsonFormatter
from solbot.config.loader import shipped_config_dir

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = str(shipped_config_dir())
SHIPPED_PROFILES = ["aggressive", "base", "defensive", "naive"]


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_rules_check_json_lists_the_checked_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    payload = run_json(["rules", "check", "--json", "--config-dir", SHIPPED], capsys)
    assert payload == {"ok": True, "config_dir": SHIPPED, "profiles": SHIPPED_PROFILES}


def test_profiles_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    payload = run_json(["profiles", "list", "--json", "--config-dir", SHIPPED], capsys)
    assert payload == {"config_dir": SHIPPED, "profiles": SHIPPED_PROFILES}


def test_import_json_json_counts_inserted_and_duplicates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trades = tmp_path / "trades.json"
    trade = {"trade_id": 5, "price": "150", "size": "0.1", "ask_account_id": 3,
             "bid_account_id": 4, "is_maker_ask": True, "timestamp": 1_700_000_000_000}  # fmt: skip
    trades.write_text(json.dumps([trade, trade | {"trade_id": 6, "bid_account_id": 9}]))
    argv = ["metrics", "import-json", str(trades), "--account-index", "4", "--json",
            "--db", str(tmp_path / "ledger.db")]  # fmt: skip
    first = run_json(argv, capsys)
    assert first == {
        "path": str(trades),
        "db": str(tmp_path / "ledger.db"),
        "trades": 2,
        "ours": 1,
        "inserted": 1,
        "duplicates": 0,
        "not_ours": 1,
        "other_market": 0,
        "self_trades": 0,
    }
    second = run_json(argv, capsys)
    assert isinstance(second, dict)
    assert (second["inserted"], second["duplicates"]) == (0, 1)


def test_json_log_lines_keep_the_traceback() -> None:
    try:
        raise ValueError("boom in the venue loop")
    except ValueError:
        record = logging.getLogger("solbot.test").makeRecord(
            "solbot.test", logging.ERROR, __file__, 1, "session failed", (), sys.exc_info()
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "session failed"
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert "ValueError: boom in the venue loop" in line["exc_info"]


def test_json_log_lines_without_an_exception_have_no_traceback_field() -> None:
    record = logging.getLogger("solbot.test").makeRecord(
        "solbot.test", logging.INFO, __file__, 1, "quoting %s", ("SOL",), None
    )
    assert json.loads(JsonFormatter().format(record))["message"] == "quoting SOL"
    assert "exc_info" not in json.loads(JsonFormatter().format(record))


def solbot(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m solbot ARGS` in a fresh interpreter (completion exits the process)."""
    return subprocess.run(
        [sys.executable, "-m", "solbot", *args],
        env=os.environ | {"PYTHONPATH": str(ROOT)} | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_show_completion_prints_a_bash_script() -> None:
    result = solbot(["--show-completion", "bash"])
    assert result.returncode == 0, result.stderr
    assert "_SOLBOT_COMPLETE=complete_bash" in result.stdout


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("solbot sim", "simulate"),
        ("solbot simulate --prof", "--profile"),
        ("solbot simulate --profile def", "defensive"),
        ("solbot profiles show agg", "aggressive"),
    ],
)
def test_bash_completion_completes_commands_and_options(words: str, expected: str) -> None:
    cword = str(len(words.split()) - 1)
    result = solbot([], _SOLBOT_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=cword)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout.split()


def test_log_format_json_writes_logged_exceptions_with_their_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from solbot.cli.run import _configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        _configure_logging("json")
        try:
            {}["missing"]
        except KeyError:
            logging.getLogger("solbot.app.live").exception("event loop failed")
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    (line,) = capsys.readouterr().err.splitlines()[-1:]
    record = json.loads(line)
    assert (record["level"], record["message"]) == ("error", "event loop failed")
    assert "KeyError: 'missing'" in record["exc_info"]
