"""A stale feed pauses quoting: once market data stops, no order is placed after the profile's
stale limit (feed.stale at stale_feed_s = 5 s) plus decision latency, and the resting quotes go.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fault_support import (
    BotRun,
    FakeVenue,
    FeedGate,
    StateSampler,
    active_orders,
    assert_no_unknown_orders,
    config_dir,
    finish,
    free_port,
    wait_until,
)

pytestmark = pytest.mark.integration

STALE_FEED_S = 5.0  # profiles/base.yaml params.stale_feed_s, inherited by `faults`
LATENCY_S = 1.5  # a decision is due at most every 0.1 s (timer); the request takes a few ms


@pytest.fixture
def gate() -> FeedGate:
    return FeedGate()


@pytest.fixture
def venue(gate: FeedGate) -> Iterator[FakeVenue]:
    with FakeVenue(gate) as fake:
        yield fake


def health_status(port: int) -> int:
    return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code


def created_after(state: dict[str, Any], wall_ns: int) -> list[dict[str, Any]]:
    """Orders the venue received after `wall_ns`."""
    return [order for order in state["orders"] if order["created_at"] * 1_000_000 > wall_ns]


@pytest.mark.parametrize("silent", [False, True], ids=["pings-continue", "socket-silent"])
def test_quoting_pauses_within_the_stale_limit(
    venue: FakeVenue, gate: FeedGate, tmp_path: Path, silent: bool
) -> None:
    config_dir(tmp_path)
    port = free_port()
    extra = ["--metrics-port", str(port)]
    with (
        BotRun(venue, tmp_path, profile="faults", extra=extra) as bot,
        StateSampler(venue) as sampler,
    ):
        bot.wait_quoting(30)
        assert health_status(port) == 200
        if silent:
            venue.faults(stop_pings=True)  # nothing at all arrives on the socket any more
        gate.close()
        stopped_ns = time.time_ns()
        wait_until(lambda: venue.state()["feed"]["exhausted"], 2, "the feed to end")
        deadline_ns = stopped_ns + int((STALE_FEED_S + LATENCY_S) * 1e9)
        wait_until(lambda: time.time_ns() > deadline_ns, 10, "the stale limit")
        assert active_orders(venue.state()) == [], "quotes still rest on a stale feed"
        time.sleep(2)  # and nothing new goes out while it stays stale
        state = venue.state()
        assert created_after(state, deadline_ns) == []
        assert active_orders(state) == []
        status = bot.last_status()
        assert status is not None and "feed.stale" in status["active_rules"]
        # a frozen book is unhealthy, however many pings and market stats still arrive
        wait_until(lambda: health_status(port) == 503, 10, "/health 503 on a frozen book")
        finish(bot, sampler)
    assert_no_unknown_orders(sampler.samples, [bot.trace_records()])


def test_a_frozen_book_pauses_quoting_although_trades_and_stats_flow(
    venue: FakeVenue, tmp_path: Path
) -> None:
    """The venue stops sending book updates (order book and ticker) but keeps trades, market stats
    and pings flowing: only book freshness counts, so the quotes go within the stale limit and
    /health says 503. A reduce-only passive hedge may keep resting: it can only reduce inventory."""
    config_dir(tmp_path)
    port = free_port()
    extra = ["--metrics-port", str(port)]
    with (
        BotRun(venue, tmp_path, profile="faults", extra=extra) as bot,
        StateSampler(venue) as sampler,
    ):
        bot.wait_quoting(30)
        assert health_status(port) == 200
        venue.faults(frozen_book=True)
        frozen_ns = time.time_ns()
        deadline_ns = frozen_ns + int((STALE_FEED_S + LATENCY_S) * 1e9)
        wait_until(lambda: time.time_ns() > deadline_ns, 10, "the stale limit")
        quotes = [o for o in active_orders(venue.state()) if not o["reduce_only"]]
        assert quotes == [], "quotes still rest on a frozen book"
        time.sleep(2)
        state = venue.state()
        # no new quote; hedges may still go: reduce-only, limit-priced (an IOC cross fills at
        # its limit or better, so a stale price cannot make it fill worse)
        assert [o for o in created_after(state, deadline_ns) if not o["reduce_only"]] == []
        assert not state["feed"]["exhausted"]  # the venue's market kept going underneath
        status = bot.last_status()
        assert status is not None and "feed.stale" in status["active_rules"]
        wait_until(lambda: health_status(port) == 503, 10, "/health 503 on a frozen book")
        finish(bot, sampler)
    assert_no_unknown_orders(sampler.samples, [bot.trace_records()])
