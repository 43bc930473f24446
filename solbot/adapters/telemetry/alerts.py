"""Webhook alerts that can never stall or crash the trading loop.

Callers edge-trigger (a rule alerts when it newly becomes active; events like a kill or a flatten
are raised once). Here each key is also rate-limited, `alert`/`event` only append to a bounded
queue (the oldest alert is dropped and counted when it is full) and `run` posts in the background.
Unlike the original, an HTTP 4xx does not switch alerts off for good: it is counted and later
alerts are still tried. The webhook URL's path and query are secrets (Discord and Slack put the
token there) and never reach a log line, ours or httpx's.

Each alert is posted at most once past the point where the webhook may have read it: a post that
got no answer within the timeout (the webhook is slow, not down) is counted `unconfirmed` and not
sent again, and a post cut short by shutdown is not queued again. Only a post the webhook surely
did not take (connection refused, a 429 or a 5xx answer) is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from solbot.errors import UsageError

log = logging.getLogger(__name__)

LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "kill": logging.CRITICAL,
}
MAX_TEXT_CHARS = 1900  # Discord refuses content above 2000 characters
MAX_RETRY_AFTER_S = 30.0


@dataclass(frozen=True, slots=True)
class _Alert:
    kind: str  # "rule" or "event"
    key: str
    level: str
    message: str
    ts_ns: int


class _RedactUrl(logging.Filter):
    """Rewrites records of the httpx logger that would print the webhook URL."""

    def __init__(self, secrets: tuple[str, ...], replacement: str) -> None:
        super().__init__()
        self.secrets = secrets
        self.replacement = replacement

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, self.replacement)
            record.msg, record.args = message, ()
        return True


class AlertSender:
    """Queue and post alerts to a Slack/Discord-style webhook; `url=None` only logs them."""

    # Waits before the second and third attempt after a timeout, a 429 or a 5xx.
    retry_delays_s: tuple[float, ...] = (1.0, 4.0)

    def __init__(
        self,
        url: str | None,
        *,
        min_interval_s: float = 60.0,
        max_queue: int = 100,
        timeout_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
        market: str = "",
    ) -> None:
        if not (math.isfinite(min_interval_s) and min_interval_s >= 0):
            raise ValueError(f"min_interval_s must be >= 0, got {min_interval_s}")
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1, got {max_queue}")
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive number, got {timeout_s}")
        self.url = url
        self.min_interval_s = min_interval_s
        self.max_queue = max_queue
        self.timeout_s = timeout_s
        self.market = market
        self.sent = 0
        self.dropped = 0
        self.failed = 0
        self.suppressed = 0  # rate-limited: same key within min_interval_s
        self.unconfirmed = 0  # posted, no answer in time: may have arrived, never re-sent
        self._monotonic = monotonic
        self._queue: deque[_Alert] = deque()
        self._wakeup = asyncio.Event()
        self._last_accepted: dict[tuple[str, str], float] = {}
        self._closing = False
        self._abandoned = False
        self._runner: asyncio.Task[None] | None = None
        self._posting = False
        self._client: httpx.AsyncClient | None = None
        self.target = "log only"
        self._redact: _RedactUrl | None = None
        if url is not None:
            self.target, secrets = _describe_url(url)
            self._redact = _RedactUrl(secrets, f"{self.target}/<redacted>")
            logging.getLogger("httpx").addFilter(self._redact)

    # ----- called from the trading loop: never blocks, never raises ------------------------------

    def alert(self, rule_id: str, level: str, message: str, ts_ns: int) -> None:
        """A rule newly became active; queue its alert (event time `ts_ns`)."""
        self._offer(_Alert("rule", rule_id, level, message, ts_ns))

    def event(self, key: str, level: str, message: str) -> None:
        """An operational event (kill, flatten, reconnects, budget exhausted), wall-clock time."""
        self._offer(_Alert("event", key, level, message, time.time_ns()))

    def _offer(self, alert: _Alert) -> None:
        try:
            self._accept(alert)
        except Exception:  # an alert must never take the trading loop down
            log.exception("alert %s could not be queued", alert.key)

    def _accept(self, alert: _Alert) -> None:
        now = self._monotonic()
        key = (alert.kind, alert.key)
        last = self._last_accepted.get(key)
        if last is not None and now - last < self.min_interval_s:
            self.suppressed += 1
            return
        self._last_accepted[key] = now
        log.log(_log_level(alert.level), "alert [%s] %s: %s", alert.level, alert.key, alert.message)
        if self.url is None:
            return
        if self._closing and self._runner is None:
            self.dropped += 1
            return
        if len(self._queue) >= self.max_queue:
            self._queue.popleft()  # the newest alerts say most about now
            self.dropped += 1
        self._queue.append(alert)
        self._wakeup.set()

    # ----- background delivery -------------------------------------------------------------------

    async def run(self) -> None:
        """Post queued alerts until `close()`; run it as a task next to the trading loop."""
        self._runner = asyncio.current_task()
        try:
            while True:
                await self._drain()
                if self._closing:
                    return
                self._wakeup.clear()
                if not self._queue:
                    await self._wakeup.wait()
        except asyncio.CancelledError:
            if self._abandoned:
                return  # close() gave up on a hanging post: a normal end, not an error
            raise

    async def close(self) -> None:
        """Stop `run`, try to deliver what is queued (bounded in time), close the client."""
        self._closing = True
        self._wakeup.set()
        deadline_s = 2 * self.timeout_s
        runner = self._runner
        if runner is not None and not runner.done() and runner is not asyncio.current_task():
            done, _ = await asyncio.wait({runner}, timeout=deadline_s)
            if not done:
                self._abandoned = True
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
        elif self._queue:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain(), deadline_s)
        self._runner = None
        if self._queue:
            log.warning("%d alert(s) not delivered before shutdown", len(self._queue))
            self.dropped += len(self._queue)
            self._queue.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._redact is not None:
            logging.getLogger("httpx").removeFilter(self._redact)
            self._redact = None

    async def _drain(self) -> None:
        while self._queue:
            alert = self._queue.popleft()
            self._posting = False
            try:
                await self._deliver(alert)
            except asyncio.CancelledError:
                if self._posting:  # the webhook may have it already: never post it twice
                    self.unconfirmed += 1
                else:  # cancelled before posting: close() may still deliver it
                    self._queue.appendleft(alert)
                raise

    async def _deliver(self, alert: _Alert) -> None:
        body = self._body(alert)
        attempts = 1 + len(self.retry_delays_s)
        wait_s = 0.0
        reason = ""
        for attempt in range(attempts):
            if wait_s > 0:
                self._posting = False  # the last post was answered: re-queueing is safe
                await asyncio.sleep(wait_s)
            outcome, reason, retry_after_s = await self._post(body)
            if outcome == "sent":
                self.sent += 1
                return
            if outcome == "unconfirmed":
                self.unconfirmed += 1
                log.warning(
                    "alert %s: %s gave no answer in %.1f s (%s); not re-sent, it may have arrived",
                    alert.key,
                    self.target,
                    self.timeout_s,
                    reason,
                )
                return
            if outcome == "rejected" or attempt + 1 == attempts:
                break
            wait_s = retry_after_s if retry_after_s is not None else self.retry_delays_s[attempt]
        self.failed += 1
        log.warning("alert %s not delivered to %s: %s", alert.key, self.target, reason)

    async def _post(self, body: dict[str, Any]) -> tuple[str, str, float | None]:
        """('sent' | 'retry' | 'unconfirmed' | 'rejected', reason, Retry-After seconds)."""
        assert self.url is not None
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False)
        self._posting = True
        try:
            response = await self._client.post(self.url, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            return "retry", type(error).__name__, None  # the webhook never saw this post
        except httpx.HTTPError as error:
            if isinstance(error, httpx.TimeoutException | httpx.RemoteProtocolError):
                return "unconfirmed", type(error).__name__, None  # sent, answer lost
            # The exception text may quote the URL: report the type only.
            return "retry", type(error).__name__, None
        except Exception as error:  # the delivery task must survive anything
            return "rejected", type(error).__name__, None
        status = response.status_code
        if 200 <= status < 300:
            return "sent", "", None
        if status == 429 or status >= 500:
            return "retry", f"HTTP {status}", _retry_after_s(response)
        return "rejected", f"HTTP {status}", None

    def _body(self, alert: _Alert) -> dict[str, Any]:
        prefix = f"[{alert.level.upper()}] {self.market} {alert.key}: ".replace("  ", " ")
        text = (prefix + alert.message)[:MAX_TEXT_CHARS]
        stamp = datetime.fromtimestamp(alert.ts_ns / 1e9, UTC).isoformat(timespec="milliseconds")
        return {
            "text": text,  # Slack
            "content": text,  # Discord
            "allowed_mentions": {"parse": []},  # a rule message must not ping @everyone
            "level": alert.level,
            "rule": alert.key,
            "kind": alert.kind,
            "market": self.market,
            "ts": stamp,
            "ts_ns": alert.ts_ns,
        }


class BurstWindow:
    """Counts events in a sliding window: "3 reconnects within 60 s", however they are spread
    over the status ticks that report them."""

    def __init__(self, count: int = 3, window_s: float = 60.0) -> None:
        if count < 1 or not (math.isfinite(window_s) and window_s > 0):
            raise ValueError(f"a burst needs count >= 1 and window_s > 0, got {count}, {window_s}")
        self.count = count
        self.window_s = window_s
        self._times: deque[float] = deque()

    def add(self, events: int, now_s: float) -> bool:
        """Record `events` new events at `now_s`; True when the window now holds a burst."""
        for _ in range(max(0, events)):
            self._times.append(now_s)
        while self._times and now_s - self._times[0] > self.window_s:
            self._times.popleft()
        while len(self._times) > self.count:  # only the newest `count` matter
            self._times.popleft()
        return events > 0 and len(self._times) >= self.count


def _describe_url(url: str) -> tuple[str, tuple[str, ...]]:
    """(scheme://host[:port] for logs, the spellings of the URL to redact)."""
    problem = "the alert webhook must be an http:// or https:// URL with a host"
    try:
        parsed = httpx.URL(url)
    except Exception as error:
        raise UsageError(problem) from error
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(problem)
    port = f":{parsed.port}" if parsed.port is not None else ""
    target = f"{parsed.scheme}://{parsed.host}{port}"
    return target, tuple(dict.fromkeys((url, str(parsed))))


def _retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER_S)


def _log_level(level: str) -> int:
    return LOG_LEVELS.get(level.lower(), logging.WARNING)
