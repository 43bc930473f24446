"""The CLI on a real terminal: commands run under a pseudo-terminal draw their progress bars."""

from __future__ import annotations

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
