"""Rate limits with headroom, through `solbot run --live` against the strict fake venue:
a restart soon after a crash stays inside the venue's minute, a start-up cancel refused with
429 waits out the cooldown instead of hammering, and a server that greets then hangs up gets a
growing reconnect backoff instead of a storm.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fault_support import (
    TX_PER_MINUTE,
    BotRun,
    FakeVenue,
    StateSampler,
    active_orders,
    config_dir,
    finish,
    wait_until,
)

pytestmark = pytest.mark.integration


def requests_last_minute(venue: FakeVenue) -> int:
    return int(venue.state()["http"]["requests_last_minute"])


def test_restart_soon_after_a_crash_stays_within_the_venues_minute(tmp_path: Path) -> None:
    """The killed run's requests still count at the venue: the restart's budget starts with
    them (from the ledger), so the two together never meet a 429, and the restart stops clean."""
    config_dir(tmp_path)
    db = tmp_path / "ledger.db"
    with FakeVenue() as venue, StateSampler(venue, interval_s=0.2) as sampler:
        started = time.monotonic()
        with BotRun(venue, tmp_path, name="first", db=db) as first:
            first.wait_quoting()
            wait_until(lambda: requests_last_minute(venue) >= 30, 40, "30 requests", 0.2)
            first.kill9()
        with BotRun(venue, tmp_path, name="second", db=db) as second:
            second.wait_quoting()
            time.sleep(max(0.0, 62 - (time.monotonic() - started)))  # the whole shared minute
            assert second.alive
            state = finish(second, sampler)
    assert state["http"]["refused_429"] == 0
    busiest = sampler.max_requests_per_minute()
    assert busiest <= TX_PER_MINUTE, f"{busiest} requests in one venue minute"


def test_start_up_cancel_refused_429_waits_out_the_cooldown(tmp_path: Path) -> None:
    """Orphans of a killed run, and a venue that refuses every tx with 429: the restart's
    cancel goes again only after the venue's cooldown (not 3,079 times in 20 s)."""
    config_dir(tmp_path)
    db = tmp_path / "ledger.db"
    with FakeVenue() as venue:
        with BotRun(venue, tmp_path, name="first", db=db) as first:
            first.wait_quoting()
            first.kill9()
        assert active_orders(venue.state()), "nothing left to cancel at start-up"
        start_up_reads = 4  # orderBookDetails, nextNonce, account, accountActiveOrders
        venue.faults(rate_limit_after=requests_last_minute(venue) + start_up_reads)
        refused_before = venue.state()["http"]["refused_429"]
        with BotRun(venue, tmp_path, name="second", db=db) as second:
            wait_until(
                lambda: venue.state()["http"]["refused_429"] > refused_before, 20, "a 429", 0.2
            )
            time.sleep(8)
            refused = venue.state()["http"]["refused_429"] - refused_before
            assert second.alive  # still waiting for the cooldown, not crashed
            second.kill9()
        second.assert_clean()
    assert 1 <= refused <= 3, f"{refused} refused requests in 8 s"


def test_greet_then_close_server_gets_a_growing_backoff_not_a_storm(tmp_path: Path) -> None:
    config_dir(tmp_path)
    with FakeVenue() as venue, BotRun(venue, tmp_path) as bot:
        bot.wait_quoting()
        before = venue.state()["ws"]["connections_total"]
        venue.faults(close_after_greeting=True, drop_socket="now")
        time.sleep(10)
        storm = venue.state()["ws"]["connections_total"] - before
        venue.faults(close_after_greeting=False)
        assert storm <= 10, f"{storm} connections in 10 s"
        wait_until(lambda: venue.state()["ws"]["connections"] >= 1, 40, "a reconnect", 0.2)
        bot.wait_quoting()
        finish(bot)
