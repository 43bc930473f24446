"""`solbot fake-venue`: exit codes for bad input, a short scripted run, the help text."""

from __future__ import annotations

from pathlib import Path

import pytest

from solbot.cli.main import main


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    [
        (["--host", "0.0.0.0"], 2, "binds 127.0.0.1 only"),
        (["--fault", "bogus=1"], 2, "unknown fault knob 'bogus'"),
        (["--fault", "delay_ms=-3"], 2, "delay_ms"),
        (["--market", "DOGE"], 2, "serves SOL"),
        (["--tier", "gold"], 2, "tier"),
        (["--api-key", "x=abc"], 2, "INDEX[=PUBLIC_KEY]"),
        (["--synthetic", "--data", "a.csv"], 2, "synthetic feed takes no data files"),
    ],
)
def test_bad_options_exit_2_with_a_reason(
    argv: list[str], code: int, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fake-venue", *argv]) == code
    assert fragment in capsys.readouterr().err


def test_unreadable_data_file_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing_bookticker.csv.gz"
    assert main(["fake-venue", "--data", str(missing), "--duration-s", "0.1"]) == 3
    assert str(missing) in capsys.readouterr().err


def test_short_synthetic_run_prints_where_to_connect(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "fake-venue",
        "--synthetic",
        "--seed",
        "5",
        "--account-index",
        "42",
        "--fault",
        "rate_limit_after=100",
        "--duration-s",
        "0.3",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "listening on 127.0.0.1:" in out and "/stream" in out
    assert "account 42" in out and "synthetic random walk from 150.000 (seed 5)" in out
    assert "signatures are NOT verified" in out


def test_recorded_run_states_the_rescaling(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fake-venue", "--start-price", "123.456", "--duration-s", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "recorded (" in out and "rescaled to start at 123.456" in out


def test_help_says_how_prices_are_mapped_and_that_sigs_are_not_checked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["fake-venue", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--start-price" in text and "keeps its size in bps" in text
    assert "Signatures are NOT verified" in text
    assert "POST /_fake/faults" in text and "GET /_fake/state" in text
