"""`solbot simulate` command line: several files after one `--data`, a summary that fits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from solbot.adapters.data import sample_paths
from solbot.cli.main import main


def simulate_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code = main(["simulate", "--profile", "naive", "--json", *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The naive profile on the sample, files given as `--data A --data B`."""
    out = tmp_path_factory.mktemp("reference")
    bookticker, trades = sample_paths()
    argv = ["simulate", "--profile", "naive", "--json", "--out", str(out)]
    assert main([*argv, "--data", str(bookticker), "--data", str(trades)]) == 0
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("spelling", ["--data A B", "A B"], ids=["one flag", "arguments"])
def test_data_files_after_one_flag_replay_the_same_events(
    spelling: str, reference: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bookticker, trades = (str(path) for path in sample_paths())
    given = {
        "--data A B": ["--data", bookticker, trades],
        "A B": [bookticker, trades],
    }[spelling]
    summary = simulate_json([*given, "--out", str(tmp_path)], capsys)
    assert summary["events"] == reference["events"]
    assert summary["trace_sha256"] == reference["trace_sha256"]


@pytest.mark.parametrize("columns", [60, 200])
def test_summary_fits_the_terminal_and_keeps_the_whole_trace_hash(
    columns: int,
    reference: dict,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    code = main(["simulate", "--profile", "naive", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(rf"\b{reference['trace_sha256']}\b", out), out
    table_lines = [line for line in out.splitlines() if line[:1] in "┌│├└"]
    assert table_lines
    assert max(len(line) for line in table_lines) <= columns
