"""/metrics and /health over loopback: content type, parseable body, 200 vs 503."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from solbot.adapters.telemetry import Telemetry, TelemetryServer
from solbot.errors import RuntimeFailure

pytestmark = pytest.mark.integration
STALE_AFTER_S = 10.0


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def telemetry(clock: FakeMonotonic) -> Telemetry:
    return Telemetry("lighter:SOL", "base", CollectorRegistry(), monotonic=clock)


@pytest.fixture
async def base_url(telemetry: Telemetry) -> AsyncIterator[str]:
    server = TelemetryServer(telemetry, port=0, stale_after_s=STALE_AFTER_S)
    port = await server.start()
    assert port > 0
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.stop()


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5.0) as client:
        return await client.get(url)


async def test_metrics_is_prometheus_text(base_url: str, telemetry: Telemetry) -> None:
    telemetry.count_reconnect()
    response = await get(f"{base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert families["solbot_ws_reconnects"].samples[0].value == 1.0
    assert families["solbot_up"].samples[0].value == 1.0


async def test_health_is_503_before_the_venue_reports(base_url: str) -> None:
    response = await get(f"{base_url}/health")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unhealthy"
    assert body["feed_fresh"] is False
    assert body["feed_age_s"] is None
    assert body["venue_reported"] is False


async def test_health_is_200_when_fresh_connected_and_not_latched(
    base_url: str, telemetry: Telemetry
) -> None:
    telemetry.set_venue(
        connected=True, book_valid=True, feed_age_s=0.4, latched=False, book_age_s=0.4
    )
    response = await get(f"{base_url}/health")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["feed_fresh"] is True and body["venue_connected"] is True
    assert body["latched"] is False
    assert body["feed_age_s"] == pytest.approx(0.4)
    assert body["stale_after_s"] == STALE_AFTER_S


@pytest.mark.parametrize(
    ("connected", "book_age_s", "account_live", "latched", "failing"),
    [
        (False, 0.4, True, False, "venue_connected"),
        (True, 10.5, True, False, "feed_fresh"),
        (True, float("nan"), True, False, "feed_fresh"),
        (True, 0.4, False, False, "account_live"),
        (True, 0.4, True, True, "latched"),
    ],
)
async def test_health_is_503_for_each_failing_condition(
    base_url: str,
    telemetry: Telemetry,
    connected: bool,
    book_age_s: float,
    account_live: bool,
    latched: bool,
    failing: str,
) -> None:
    telemetry.set_venue(
        connected=connected,
        book_valid=True,
        feed_age_s=0.1,  # frames keep coming (pings, stats): that is not a fresh book
        latched=latched,
        book_age_s=book_age_s,
        account_live=account_live,
    )
    response = await get(f"{base_url}/health")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unhealthy"
    assert body[failing] is (failing == "latched")


async def test_health_turns_503_when_reports_stop_arriving(
    base_url: str, telemetry: Telemetry, clock: FakeMonotonic
) -> None:
    """A stalled loop stops calling set_venue: the last fresh age must not stay healthy."""
    telemetry.set_venue(
        connected=True, book_valid=True, feed_age_s=0.5, latched=False, book_age_s=0.5
    )
    assert (await get(f"{base_url}/health")).status_code == 200
    clock.now += STALE_AFTER_S
    response = await get(f"{base_url}/health")
    assert response.status_code == 503
    assert response.json()["book_age_s"] == pytest.approx(STALE_AFTER_S + 0.5)


async def test_unknown_path_is_404(base_url: str) -> None:
    assert (await get(f"{base_url}/nothing")).status_code == 404


async def test_a_busy_port_is_a_runtime_failure(telemetry: Telemetry) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        server = TelemetryServer(telemetry, port=port)
        with pytest.raises(RuntimeFailure):
            await server.start()
        await server.stop()


def test_stale_after_must_be_positive(telemetry: Telemetry) -> None:
    with pytest.raises(ValueError):
        TelemetryServer(telemetry, stale_after_s=0)
