"""Knowing the truth: through a venue that wants an auth token on the account stream, every fill
the venue makes is in the ledger and /health reports the account stream (issue 9)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fault_support import (
    BotRun,
    FakeVenue,
    StateSampler,
    assert_no_unknown_orders,
    config_dir,
    finish,
    free_port,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def venue() -> Iterator[FakeVenue]:
    with FakeVenue(require_auth=True) as fake:
        yield fake


def health(port: int) -> tuple[int, dict[str, object]]:
    response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    return response.status_code, response.json()


def test_a_venue_that_wants_auth_on_the_account_stream_books_every_fill(
    venue: FakeVenue, tmp_path: Path
) -> None:
    """Before: account_all went out without a token, the venue refused it, the bot quoted on,
    the venue held fills and a position the ledger never saw, and /health said 200."""
    config_dir(tmp_path)
    port = free_port()
    with (
        BotRun(venue, tmp_path, extra=["--metrics-port", str(port)]) as bot,
        StateSampler(venue) as sampler,
    ):
        bot.wait_quoting(30)
        wait_until(lambda: len(venue.state()["fills"]) >= 1, 40, "a fill", interval_s=0.25)
        subscribed = [
            name for session in venue.state()["ws"]["sessions"] for name in session["subscriptions"]
        ]
        assert "account_all/7" in subscribed
        wait_until(lambda: health(port)[0] == 200, 10, "/health 200")
        _, body = health(port)
        assert body["account_live"] is True and body["account_stream"] == "live"
        finish(bot, sampler)  # the ledger's fills equal the venue's
    assert_no_unknown_orders(sampler.samples, [bot.trace_records()])
