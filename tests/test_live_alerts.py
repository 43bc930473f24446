"""`solbot run`'s operational alerts: reconnect bursts and the trace flushed every second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_live_reload import FakeMonotonic, runner_in

from solbot.adapters.storage.trace import TraceWriter
from solbot.adapters.telemetry import AlertSender, Telemetry


class RecordingAlerts(AlertSender):
    def __init__(self) -> None:
        super().__init__(None)
        self.events: list[tuple[str, str, str]] = []

    def event(self, key: str, level: str, message: str) -> None:
        self.events.append((key, level, message))


def test_three_reconnects_within_a_minute_alert_even_one_per_status_tick(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    clock = FakeMonotonic()
    runner._monotonic = clock
    runner.telemetry = Telemetry("lighter:SOL", "defensive")
    alerts = RecordingAlerts()
    runner.alerts = alerts
    health: dict[str, Any] = {"reconnects": 0}
    runner._health = lambda: health  # type: ignore[method-assign]
    for reconnects in (1, 2):
        health["reconnects"] = reconnects
        runner._status(0)
        clock.now += 20.0
    assert [e for e in alerts.events if e[0] == "reconnects"] == []
    health["reconnects"] = 3  # the third drop, 40 s after the first
    runner._status(0)
    assert [e[0] for e in alerts.events] == ["reconnects"]


def test_reconnects_spread_over_more_than_a_minute_do_not_alert(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    clock = FakeMonotonic()
    runner._monotonic = clock
    runner.telemetry = Telemetry("lighter:SOL", "defensive")
    alerts = RecordingAlerts()
    runner.alerts = alerts
    health: dict[str, Any] = {"reconnects": 0}
    runner._health = lambda: health  # type: ignore[method-assign]
    for reconnects in (1, 2, 3, 4):
        health["reconnects"] = reconnects
        runner._status(0)
        clock.now += 31.0
    assert alerts.events == []


def test_the_trace_reaches_the_file_within_a_second_without_a_close(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    clock = FakeMonotonic()
    runner._monotonic = clock
    path = tmp_path / "run.trace.jsonl"
    trace = TraceWriter(path, {"profile": "defensive"})
    runner.trace = trace
    trace.write({"t": 1, "type": "decision"})
    runner._after_tick(0)
    lines = path.read_text().splitlines()  # what a kill -9 now would leave
    assert len(lines) == 2 and lines[-1].endswith("}")
    trace.write({"t": 2, "type": "decision"})
    clock.now += 1.1
    runner._after_tick(0)
    assert len(path.read_text().splitlines()) == 3
    trace.close()
