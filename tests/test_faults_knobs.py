"""Every fault knob of the fake venue against `solbot run --live` (a real subprocess).

Each test: the bot quotes, the fault hits, the bot keeps running (or recovers) as
docs/lighter-adapter.md says, then Ctrl-C: exit 0, no traceback, no order left on the venue,
the ledger's fills equal the venue's (same trade ids, none lost, none doubled), no order rested
on the venue that the bot did not know about, and the tx budget held. The periodic socket drop
(drop_socket=N) runs for a full minute in test_faults_budget.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_support import (
    TX_PER_MINUTE,
    BotRun,
    FakeVenue,
    StateSampler,
    active_orders,
    assert_no_unknown_orders,
    config_dir,
    finish,
    free_port,
    scrape,
    wait_until,
)

pytestmark = pytest.mark.integration


class Scenario:
    """A venue, a sampler and a quoting bot with /metrics; `close()` runs the common checks."""

    def __init__(self, tmp_path: Path, venue: FakeVenue, **bot_options: Any) -> None:
        config_dir(tmp_path)
        self.venue = venue
        self.metrics_port = free_port()
        extra = ["--metrics-port", str(self.metrics_port)]
        self.bot = BotRun(venue, tmp_path, extra=extra, **bot_options)
        self.sampler = StateSampler(venue)

    def start(self, fills: int = 0) -> None:
        self.bot.start()
        self.sampler.__enter__()
        self.bot.wait_quoting()
        if fills:
            wait_until(
                lambda: len(self.venue.state()["fills"]) >= fills,
                30,
                f"{fills} fill(s) on the venue",
                interval_s=0.25,
            )

    def metric(self, name: str) -> float:
        """A metric from the bot's /metrics, summed over its labels."""
        values = scrape(self.metrics_port)
        return sum(v for key, v in values.items() if key.partition("{")[0] == name)

    def keeps_trading(self, timeout_s: float = 15.0) -> None:
        """The bot is alive and the venue accepts new txs from it."""
        before = self.venue.state()["txs"]["accepted"]
        wait_until(
            lambda: not self.bot.alive or self.venue.state()["txs"]["accepted"] > before,
            timeout_s,
            "a new accepted tx",
            interval_s=0.2,
        )
        assert self.bot.alive, f"the bot exited:\n{self.bot.stderr()[-3000:]}"

    def close(self, *, refused_ok: bool = False) -> dict[str, Any]:
        state = finish(self.bot, self.sampler)
        assert_no_unknown_orders(self.sampler.samples, [self.bot.trace_records()])
        assert self.sampler.max_txs_per_minute() <= TX_PER_MINUTE
        if not refused_ok:
            assert state["http"]["refused_429"] == 0, "the bot ran into the venue's rate limit"
        return state


@pytest.fixture
def venue() -> Iterator[FakeVenue]:
    with FakeVenue() as fake:
        yield fake


@pytest.fixture
def scenario(tmp_path: Path, venue: FakeVenue) -> Iterator[Scenario]:
    running = Scenario(tmp_path, venue)
    try:
        yield running
    finally:
        running.bot.__exit__(None, None, None)
        running.sampler.__exit__(None, None, None)


def test_drop_socket_now_reconnects_and_keeps_trading(scenario: Scenario) -> None:
    scenario.start(fills=1)
    venue = scenario.venue
    armed_ms = wait_until(lambda: venue.state()["scheduled_cancel_all_ms"], 10, "dead-man armed")
    venue.faults(drop_socket="now")
    wait_until(lambda: venue.state()["ws"]["connections_total"] >= 2, 10, "a reconnect")
    wait_until(lambda: scenario.metric("solbot_ws_reconnects_total") >= 1, 5, "reconnect metric")
    scenario.keeps_trading()
    # armed less than a minute ago: the schedule at the venue stands, no tx spent re-arming it
    assert venue.state()["scheduled_cancel_all_ms"] == armed_ms
    scenario.close()


def test_skip_book_nonce_resyncs_the_book(scenario: Scenario) -> None:
    scenario.start()
    venue = scenario.venue
    venue.faults(skip_book_nonce=2)
    wait_until(lambda: venue.state()["book"]["gaps_injected"] >= 2, 5, "two injected gaps")
    wait_until(lambda: scenario.metric("solbot_book_resyncs_total") >= 1, 5, "a book resync")
    wait_until(lambda: scenario.metric("solbot_book_valid") == 1, 5, "a valid book again")
    scenario.keeps_trading()
    scenario.close()


def test_resend_old_trades_is_not_double_counted(scenario: Scenario) -> None:
    scenario.start(fills=2)
    venue = scenario.venue
    venue.faults(resend_old_trades=50)
    # one-shot: the knob is back at 0 once the venue re-sent trades and fills to the bot
    wait_until(lambda: venue.state()["faults"]["resend_old_trades"] == 0, 5, "the resend")
    ours = len(venue.state()["fills"])  # every fill of ours was among the last 50 trades
    wait_until(
        lambda: scenario.metric("solbot_duplicate_fills_total") >= min(ours, 50),
        5,
        "the re-sent fills counted as duplicates",
    )
    scenario.keeps_trading()
    scenario.close()  # ledger == venue: each re-sent fill booked once


def test_rate_limit_backs_off_then_ctrl_c_still_cancels_everything(scenario: Scenario) -> None:
    scenario.start()
    venue = scenario.venue
    used = venue.state()["http"]["requests_last_minute"]
    venue.faults(rate_limit_after=used + 2)
    wait_until(lambda: venue.state()["http"]["refused_429"] >= 1, 20, "a 429")
    refused = venue.state()["http"]["refused_429"]
    time.sleep(3)
    assert scenario.bot.alive
    # backing off: after a 429 the bot sends nothing for its cooldown (60 s)
    assert venue.state()["http"]["refused_429"] == refused
    venue.faults(rate_limit_after="off")
    started = time.monotonic()
    scenario.close(refused_ok=True)  # Ctrl-C inside the cooldown: the cancel-all goes anyway
    assert time.monotonic() - started < 10


def test_venue_still_refusing_at_ctrl_c_leaves_the_dead_man_switch(scenario: Scenario) -> None:
    scenario.start()
    venue = scenario.venue
    armed_ms = wait_until(lambda: venue.state()["scheduled_cancel_all_ms"], 10, "dead-man armed")
    used = venue.state()["http"]["requests_last_minute"]
    venue.faults(rate_limit_after=used)
    started = time.monotonic()
    code = scenario.bot.interrupt()
    scenario.bot.assert_clean()
    assert time.monotonic() - started < 10  # bounded attempts, no 30 s hang
    state = venue.state()
    assert code == (
        1 if active_orders(state) else 0
    )  # orders may still rest: say so with the exit code
    assert state["http"]["refused_429"] >= 1
    # what still rests is cancelled by the venue itself at the scheduled time (<= 6 min ahead)
    assert state["scheduled_cancel_all_ms"] >= armed_ms
    assert state["scheduled_cancel_all_ms"] <= state["now_ms"] + 6 * 60_000


def test_nonce_error_once_refetches_and_retries(scenario: Scenario) -> None:
    scenario.start()
    venue = scenario.venue
    venue.faults(nonce_error_once=True)
    wait_until(
        lambda: any(r["code"] == 21104 for r in venue.state()["txs"]["rejected"]),
        15,
        "the injected 21104",
    )
    scenario.keeps_trading()
    scenario.close()


def test_slow_rest_answers_keep_the_bot_trading(scenario: Scenario) -> None:
    scenario.start()
    scenario.venue.faults(delay_ms=400)
    scenario.keeps_trading()
    scenario.keeps_trading()
    scenario.close()


def test_shutdown_notice_reconnects(scenario: Scenario) -> None:
    scenario.start()
    venue = scenario.venue
    venue.faults(shutdown=300)
    wait_until(lambda: venue.state()["ws"]["connections_total"] >= 2, 10, "a reconnect")
    wait_until(lambda: venue.state()["ws"]["connections"] >= 1, 10, "a live connection")
    scenario.keeps_trading()
    scenario.close()


def test_stop_pings_while_data_flows_keeps_the_connection(scenario: Scenario) -> None:
    scenario.start()
    venue = scenario.venue
    venue.faults(stop_pings=True)
    time.sleep(3)
    scenario.keeps_trading()
    assert venue.state()["ws"]["connections_total"] == 1
    scenario.close()


def test_fast_pings_are_answered_before_the_no_pong_close(scenario: Scenario) -> None:
    scenario.start()
    venue = scenario.venue
    venue.faults(ping_interval_s=0.3, no_pong_close_s=1)
    time.sleep(4)
    ws = venue.state()["ws"]
    assert ws["connections_total"] == 1 and "no pong" not in ws["closed"]
    (session,) = ws["sessions"]
    assert session["pings_sent"] >= 5 and session["pongs_received"] >= session["pings_sent"] - 1
    scenario.keeps_trading()
    scenario.close()
