"""`solbot run`'s operational alerts: reconnect bursts and the trace flushed every second."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from test_live_reload import FakeMonotonic, runner_in

from solbot.adapters.storage.trace import TraceWriter
from solbot.adapters.telemetry import AlertSender, Telemetry, health_report
from solbot.core.model import Command, FeedStatus

NS = 1_000_000_000


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


class NullVenue:
    def submit(self, commands: Sequence[Command], now_ns: int) -> None:
        pass


class RefusedAccountVenue:
    """What LighterVenue reports once the venue refused our account subscription."""

    def __init__(self) -> None:
        self.account_stale_s = 0.0
        self.account_alerts = ["account stream refused: ws error 20001: auth field is required"]

    def health(self) -> dict[str, Any]:
        return {
            "connected": True,
            "book_valid": True,
            "feed_age_s": 0.1,
            "book_age_s": 0.2,
            "account_live": False,
            "account_stream": "refused",
        }


def test_a_refused_account_stream_alerts_pauses_quoting_and_fails_health(
    tmp_path: Path,
) -> None:
    runner = runner_in(tmp_path)
    session = runner.session
    assert session is not None
    runner.telemetry = Telemetry("lighter:SOL", "defensive")
    alerts = RecordingAlerts()
    runner.alerts = alerts
    venue = RefusedAccountVenue()
    runner.venue = venue  # type: ignore[assignment]
    session.attach(NullVenue())
    for second in range(1, 4):
        session.on_book(second * NS, second * NS, 149_990, 1000, 150_010, 1000)
    session.on_feed_status(FeedStatus(4 * NS, True, True, "account refused", account_live=False))
    session.tick(4 * NS + NS // 2)
    runner._status(4 * NS + NS // 2)
    assert [(key, level) for key, level, _ in alerts.events] == [("account_stream", "critical")]
    assert venue.account_alerts == []  # drained: alerted once
    assert venue.account_stale_s == 10.0  # the profile's guard.stale_feed (base.yaml: 10s)
    healthy, body = health_report(runner.telemetry.status(), 10.0)
    assert not healthy and body["account_live"] is False and body["account_stream"] == "refused"
    plan = session.last_plan
    assert plan is not None and "feed.stale" in plan.decision.active_rules
    assert plan.quotes.bid is None and plan.quotes.ask is None
