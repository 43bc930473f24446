"""The CLI on a real terminal: commands run under a pseudo-terminal draw their progress bars."""

from __future__ import annotations

import json
import os
import pty
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAR = "━"  # rich's bar character


def run_in_terminal(args: list[str], cwd: Path, columns: int = 120) -> tuple[int, str]:
    """Run `python -m solbot ARGS` with stdin/stdout/stderr on a pty; exit code and output."""
    env = os.environ | {
        "TERM": "xterm",
        "COLUMNS": str(columns),
        "LINES": "40",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("NO_COLOR", None)
    env.pop("CI", None)
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-m", "solbot", *args], env)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_simulate_on_a_terminal_draws_a_progress_bar_and_exits_0(tmp_path: Path) -> None:
    code, output = run_in_terminal(
        ["simulate", "--profile", "naive", "--out", str(tmp_path / "run")], tmp_path
    )
    assert code == 0, output[-2000:]
    assert "Traceback" not in output
    assert BAR in output and "100%" in output
    assert "events/s" in output or "68068/68068" in output
    assert "trace sha256" in output


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_data_convert_on_a_terminal_draws_a_progress_bar(tmp_path: Path) -> None:
    from solbot.adapters.data import sample_paths

    out = tmp_path / "sample.parquet"
    code, output = run_in_terminal(
        ["data", "convert", *(str(path) for path in sample_paths()), "--out", str(out)], tmp_path
    )
    assert code == 0, output[-2000:]
    assert BAR in output and "100%" in output and "events" in output
    assert out.exists()


def write_trades(path: Path, count: int) -> Path:
    """A Lighter /api/v1/trades file with `count` trades in which account 4 is the buyer."""
    trades = [
        {"trade_id": index, "price": "150", "size": "0.1", "ask_account_id": 3,
         "bid_account_id": 4, "is_maker_ask": True, "timestamp": 1_700_000_000_000 + index}
        for index in range(1, count + 1)
    ]  # fmt: skip
    path.write_text(json.dumps(trades))
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_import_json_on_a_terminal_draws_a_progress_bar(tmp_path: Path) -> None:
    trades = write_trades(tmp_path / "trades.json", 12_000)
    argv = ["metrics", "import-json", str(trades), "--account-index", "4",
            "--db", str(tmp_path / "ledger.db")]  # fmt: skip
    code, output = run_in_terminal(argv, tmp_path)
    assert code == 0, output[-2000:]
    assert BAR in output and "fills" in output and "12000/12000" in output
    assert "12000 inserted" in output


def test_import_reports_progress_after_each_batch(tmp_path: Path) -> None:
    from solbot.app.metrics import IMPORT_BATCH_FILLS, import_trades

    count = 2 * IMPORT_BATCH_FILLS + 7
    trades = write_trades(tmp_path / "trades.json", count)
    calls: list[tuple[int, int | None]] = []
    summary = import_trades(
        tmp_path / "ledger.db", trades, account_index=4, progress=lambda *c: calls.append(c)
    )
    assert calls == [(IMPORT_BATCH_FILLS, count), (2 * IMPORT_BATCH_FILLS, count), (count, count)]
    assert (summary.inserted, summary.duplicates) == (count, 0)
    again = import_trades(tmp_path / "ledger.db", trades, account_index=4)
    assert (again.inserted, again.duplicates) == (0, count)


def test_record_progress_estimates_the_total_from_the_duration() -> None:
    from solbot.cli.venue import _expected_events, _record_progress

    assert _expected_events(1_000, elapsed_s=10.0, duration_s=60.0) == 6_000
    assert _expected_events(1_000, elapsed_s=10.0, duration_s=None) is None
    assert _expected_events(1_000, elapsed_s=70.0, duration_s=60.0) == 1_000  # never below done
    calls: list[tuple[int, int | None]] = []
    report = _record_progress(lambda done, total: calls.append((done, total)), None, quiet=False)
    report({"book_events": 30, "trade_events": 12, "row_groups": 1})
    assert calls == [(42, None)]
