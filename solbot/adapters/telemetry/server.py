"""GET /metrics (Prometheus text) and GET /health (200 or 503 JSON) for one run.

Healthy means: the order book is fresh (its last frame is no older than the profile's stale
limit; pings, market stats and other frames do not count), the account stream that carries our
fills is live, the venue is connected, and no kill rule is latched. The original reported healthy
whenever any heartbeat ticked, including its synthetic feed; here the ages come from the venue,
keep growing if the reporting loop stalls, and an unknown age is not fresh.
"""

from __future__ import annotations

import math
import socket
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from solbot.adapters.telemetry.metrics import Telemetry, TelemetryStatus
from solbot.errors import RuntimeFailure


def health_report(status: TelemetryStatus, stale_after_s: float) -> tuple[bool, dict[str, Any]]:
    """(healthy, JSON body) for a status snapshot."""
    age = status.book_age_s
    book_fresh = age is not None and age <= stale_after_s
    healthy = book_fresh and status.account_live and status.venue_connected and not status.latched
    body: dict[str, Any] = {
        "status": "ok" if healthy else "unhealthy",
        "feed_fresh": book_fresh,
        "account_live": status.account_live,
        "account_stream": status.account_stream,
        "venue_connected": status.venue_connected,
        "latched": status.latched,
        "book_age_s": _rounded(age),
        "feed_age_s": _rounded(status.feed_age_s),
        "stale_after_s": stale_after_s,
        "book_valid": status.book_valid,
        "venue_reported": status.venue_reported,
        "market_data_age_s": _rounded(status.market_data_age_s),
        "decision_age_s": _rounded(status.decision_age_s),
        "uptime_s": _rounded(status.uptime_s),
        "market": status.market,
        "profile": status.profile,
    }
    return healthy, body


def _rounded(value: float | None) -> float | None:
    """JSON has no NaN: unknown is null."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, 3)


class TelemetryServer:
    """A small aiohttp server; binds to loopback unless told otherwise."""

    def __init__(
        self,
        telemetry: Telemetry,
        host: str = "127.0.0.1",
        port: int = 0,
        stale_after_s: float = 10.0,
    ) -> None:
        if not (math.isfinite(stale_after_s) and stale_after_s > 0):
            raise ValueError(f"stale_after_s must be a positive number, got {stale_after_s}")
        self.telemetry = telemetry
        self.host = host
        self.port = port
        self.stale_after_s = stale_after_s
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Start serving; returns the bound port (useful with port 0)."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            sock = _bind(self.host, self.port)
        except OSError as error:
            await runner.cleanup()
            raise RuntimeFailure(
                f"cannot serve metrics on {self.host}:{self.port}: {error.strerror or error}"
            ) from error
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = sock.getsockname()[1]
        return self.port

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.telemetry.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _health(self, request: web.Request) -> web.Response:
        healthy, body = health_report(self.telemetry.status(), self.stale_after_s)
        return web.json_response(body, status=200 if healthy else 503)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket we own, so the bound port is known without private attributes."""
    family, kind, protocol, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
