"""Knowing the truth: through a venue that wants an auth token on the account stream, every fill
the venue makes is in the ledger and /health reports the account stream (issue 9)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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


class Webhook:
    """A loopback webhook in a thread that records every alert posted to it."""

    def __init__(self) -> None:
        bodies: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.bodies = bodies
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def alert_keys(self) -> list[str]:
        return [str(body["rule"]) for body in self.bodies]


def test_three_socket_drops_within_a_minute_raise_the_reconnects_alert(tmp_path: Path) -> None:
    """Before: the alert needed three reconnects inside one status tick (1 s), so three drops
    a few seconds apart never raised it."""
    config_dir(tmp_path)
    with FakeVenue() as venue, Webhook() as hook:
        extra = ["--alert-webhook", hook.url]
        with BotRun(venue, tmp_path, extra=extra) as bot:
            bot.wait_quoting(30)
            for drop in range(1, 4):
                venue.faults(drop_socket="now")
                wait_until(
                    lambda drop=drop: (
                        venue.state()["ws"]["connections_total"] >= drop + 1
                        and venue.state()["ws"]["connections"] >= 1
                    ),
                    15,
                    f"reconnect #{drop}",
                )
                time.sleep(2.0)  # a few status ticks between drops
            wait_until(lambda: "reconnects" in hook.alert_keys(), 5, "the reconnects alert")
            assert hook.alert_keys().count("reconnects") == 1
            assert bot.interrupt() == 0
        bot.assert_clean()
