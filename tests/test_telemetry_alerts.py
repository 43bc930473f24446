"""AlertSender against a loopback webhook: rate limits, queue bound, 4xx recovery, no blocking."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from solbot.adapters.telemetry import AlertSender
from solbot.errors import UsageError

pytestmark = pytest.mark.integration
SECRET_PATH = "/api/webhooks/42/SECRET-TOKEN-abc"
SECRET_QUERY = "SECRETQUERY"


class Webhook:
    """Records every POST; answers with queued statuses (then 200), optionally hanging first."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []
        self.statuses: list[int] = []
        self.headers: list[dict[str, str]] = []
        self.hang = False
        self.release = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        if self.hang:
            await self.release.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        headers = self.headers.pop(0) if self.headers else {}
        return web.Response(status=status, text="ok", headers=headers)


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    hook = Webhook()
    app = web.Application()
    app.router.add_post(SECRET_PATH, hook.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    hook.url = f"http://127.0.0.1:{port}{SECRET_PATH}?auth={SECRET_QUERY}"
    try:
        yield hook
    finally:
        hook.release.set()
        await runner.cleanup()


async def eventually(condition: Callable[[], bool], timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def sender(url: str | None, **options: object) -> AlertSender:
    alerts = AlertSender(url, market="lighter:SOL", timeout_s=2.0, **options)  # type: ignore[arg-type]
    alerts.retry_delays_s = (0.01, 0.01)
    return alerts


async def test_alert_body_suits_slack_and_discord(webhook: Webhook) -> None:
    alerts = sender(webhook.url)
    task = asyncio.create_task(alerts.run())
    alerts.alert("pnl.hourly_drift", "warning", "realized PnL drifting", 1_700_000_000 * 10**9)
    await eventually(lambda: alerts.sent == 1)
    await alerts.close()
    await task
    body = webhook.bodies[0]
    assert body["text"] == body["content"]
    assert "pnl.hourly_drift" in str(body["text"]) and "realized PnL drifting" in str(body["text"])
    assert body["level"] == "warning"
    assert body["rule"] == "pnl.hourly_drift"
    assert body["market"] == "lighter:SOL"
    assert body["ts"] == "2023-11-14T22:13:20.000+00:00"
    assert (alerts.failed, alerts.dropped) == (0, 0)


async def test_each_key_is_rate_limited_on_its_own(webhook: Webhook) -> None:
    clock = FakeMonotonic()
    alerts = sender(webhook.url, min_interval_s=60.0, monotonic=clock)
    task = asyncio.create_task(alerts.run())
    alerts.alert("feed.stale", "warning", "first", 1)
    alerts.alert("feed.stale", "warning", "again too soon", 2)
    alerts.event("feed.stale", "error", "an event may share a rule's name")
    clock.now += 59.0
    alerts.alert("feed.stale", "warning", "still too soon", 3)
    alerts.alert("trend.down", "info", "another key", 4)
    clock.now += 1.0
    alerts.alert("feed.stale", "warning", "a minute later", 5)
    await eventually(lambda: alerts.sent == 4)
    await alerts.close()
    await task
    messages = [str(body["text"]).split(": ", 1)[1] for body in webhook.bodies]
    assert messages == [
        "first",
        "an event may share a rule's name",
        "another key",
        "a minute later",
    ]
    assert alerts.suppressed == 2


async def test_a_full_queue_drops_the_oldest_and_counts(webhook: Webhook) -> None:
    alerts = sender(webhook.url, max_queue=3)
    for number in range(5):
        alerts.alert(f"rule.{number}", "warning", f"number {number}", number)
    assert alerts.dropped == 2
    task = asyncio.create_task(alerts.run())
    await eventually(lambda: alerts.sent == 3)
    await alerts.close()
    await task
    assert [body["rule"] for body in webhook.bodies] == ["rule.2", "rule.3", "rule.4"]


async def test_a_4xx_is_counted_and_later_alerts_still_go_out(webhook: Webhook) -> None:
    webhook.statuses = [400]
    alerts = sender(webhook.url)
    task = asyncio.create_task(alerts.run())
    alerts.alert("rule.a", "warning", "refused", 1)
    await eventually(lambda: alerts.failed == 1)
    assert len(webhook.bodies) == 1  # a 4xx is not retried
    alerts.alert("rule.b", "warning", "accepted", 2)
    await eventually(lambda: alerts.sent == 1)
    await alerts.close()
    await task
    assert [body["rule"] for body in webhook.bodies] == ["rule.a", "rule.b"]


@pytest.mark.parametrize(
    ("statuses", "headers"), [([503], [{}]), ([429], [{"Retry-After": "0"}]), ([502, 500], [])]
)
async def test_server_errors_and_429_are_retried(
    webhook: Webhook, statuses: list[int], headers: list[dict[str, str]]
) -> None:
    webhook.statuses, webhook.headers = list(statuses), list(headers)
    alerts = sender(webhook.url)
    task = asyncio.create_task(alerts.run())
    alerts.alert("rule.a", "error", "try again", 1)
    await eventually(lambda: alerts.sent == 1)
    await alerts.close()
    await task
    assert len(webhook.bodies) == len(statuses) + 1
    assert alerts.failed == 0


async def test_alert_returns_at_once_while_the_webhook_hangs(webhook: Webhook) -> None:
    webhook.hang = True
    alerts = AlertSender(webhook.url, timeout_s=0.2, max_queue=10)
    alerts.retry_delays_s = ()
    task = asyncio.create_task(alerts.run())
    await asyncio.sleep(0)
    started = time.perf_counter()
    for number in range(50):
        alerts.alert(f"rule.{number}", "warning", "webhook is stuck", number)
        await asyncio.sleep(0)  # let the sender start its (hanging) post
    enqueue_s = time.perf_counter() - started
    assert enqueue_s < 0.5
    await eventually(lambda: alerts.unconfirmed >= 1)  # the first post timed out, not the caller
    closing = time.perf_counter()
    await alerts.close()  # bounded: at most 2 x timeout_s, then the rest is dropped
    assert time.perf_counter() - closing < 1.5
    await task
    assert alerts.sent == 0
    assert alerts.failed + alerts.unconfirmed + alerts.dropped == 50


async def test_a_slow_webhook_gets_each_alert_once(webhook: Webhook) -> None:
    """It reads the post but answers after the timeout: no retry, no re-post at close."""
    webhook.hang = True
    alerts = AlertSender(webhook.url, timeout_s=0.2)
    alerts.retry_delays_s = (0.01, 0.01)
    task = asyncio.create_task(alerts.run())
    alerts.alert("rule.slow", "warning", "the webhook is slow", 1)
    await asyncio.sleep(1.0)  # five timeouts: room for every retry the old sender made
    assert [body["rule"] for body in webhook.bodies] == ["rule.slow"]
    alerts.alert("rule.later", "warning", "in flight at close", 2)
    await eventually(lambda: len(webhook.bodies) == 2)
    await alerts.close()  # cuts the second post short: it is not posted again
    await task
    assert [body["rule"] for body in webhook.bodies] == ["rule.slow", "rule.later"]
    assert alerts.unconfirmed == 2 and alerts.failed == 0 and alerts.sent == 0


async def test_close_delivers_what_is_queued_after_run_was_cancelled(webhook: Webhook) -> None:
    alerts = sender(webhook.url)
    task = asyncio.create_task(alerts.run())
    await asyncio.sleep(0)
    task.cancel()  # what `solbot run` does to its tasks before closing the sender
    with pytest.raises(asyncio.CancelledError):
        await task
    alerts.event("shutdown", "info", "stopping: signal")
    await alerts.close()
    assert alerts.sent == 1
    assert webhook.bodies[0]["rule"] == "shutdown"


async def test_without_a_url_alerts_are_only_logged() -> None:
    alerts = AlertSender(None)
    task = asyncio.create_task(alerts.run())
    alerts.alert("feed.stale", "warning", "logged", 1)
    alerts.event("kill", "kill", "logged too")
    await asyncio.sleep(0.01)
    await alerts.close()
    await task
    assert (alerts.sent, alerts.failed, alerts.dropped) == (0, 0, 0)


async def test_the_webhook_secret_never_reaches_a_log(
    webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    webhook.statuses = [200, 404]
    alerts = sender(webhook.url)
    task = asyncio.create_task(alerts.run())
    alerts.alert("rule.a", "warning", "delivered", 1)
    alerts.alert("rule.b", "warning", "refused", 2)
    await eventually(lambda: alerts.sent == 1 and alerts.failed == 1)
    await alerts.close()
    await task
    assert any(record.name == "httpx" for record in caplog.records)  # httpx did log the POSTs
    for record in caplog.records:
        message = record.getMessage()
        assert "SECRET-TOKEN" not in message and SECRET_QUERY not in message


@pytest.mark.parametrize("url", ["ftp://host/SECRET-TOKEN", "not a url SECRET-TOKEN", "http:///x"])
def test_a_bad_url_is_a_usage_error_that_does_not_echo_it(url: str) -> None:
    with pytest.raises(UsageError) as raised:
        AlertSender(url)
    assert "SECRET-TOKEN" not in str(raised.value)


@pytest.mark.parametrize(
    "options", [{"min_interval_s": -1.0}, {"max_queue": 0}, {"timeout_s": 0.0}]
)
def test_nonsense_options_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        AlertSender(None, **options)  # type: ignore[arg-type]
