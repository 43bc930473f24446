"""WebSocket connection manager: subscribe, keepalive, silence detection, reconnect with backoff.

Frames other than keepalive are handed to `on_frame(frame, recv_ns)`. Private channels get a
FRESH auth token on every (re)subscribe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from solbot.adapters.venues.lighter.backoff import BackoffPolicy

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
FrameHandler = Callable[[dict[str, Any], int], None]
StateHandler = Callable[[bool, str], None]


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel to subscribe (`order_book/2`); `private` ones carry an auth token."""

    channel: str
    private: bool = False


@dataclass(frozen=True, slots=True)
class WsSettings:
    """Keepalive and reconnect timing."""

    ping_interval_s: float = 20.0
    silence_timeout_s: float = 30.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    open_timeout_s: float = 10.0
    max_frame_bytes: int = 8 * 1024 * 1024
    # A connection resets the reconnect backoff only once it proved healthy: greeted, book
    # snapshot received, and alive this long (a server that greets then closes must not get
    # a reconnect storm: Lighter allows 80 connections a minute).
    healthy_after_s: float = 5.0


def backoff_delay(attempt: int, settings: WsSettings, rng: random.Random) -> float:
    """Exponential backoff with jitter: uniform in [½, 1] × min(max, initial × 2^attempt)."""
    policy = BackoffPolicy(settings.backoff_initial_s, settings.backoff_max_s)
    return policy.delay_s(attempt, rng)


class ReconnectRequested(Exception):
    """Internal: leave the current session and connect again."""


class WsConnection:
    """Keeps one WebSocket alive for a fixed list of subscriptions."""

    def __init__(
        self,
        url: str,
        subscriptions: list[Subscription],
        on_frame: FrameHandler,
        *,
        auth_token: Callable[[], str] | None = None,
        on_state: StateHandler | None = None,
        settings: WsSettings | None = None,
        rng: random.Random | None = None,
        backoff_sleep: Sleep = asyncio.sleep,
        wall_ns: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.subscriptions = list(subscriptions)
        self.on_frame = on_frame
        self.settings = settings or WsSettings()
        self._auth_token = auth_token
        self._on_state = on_state
        self._rng = rng or random.Random(0)
        self._sleep = backoff_sleep
        self._tasks: set[asyncio.Task[None]] = set()
        self._wall_ns = wall_ns
        self._monotonic = monotonic
        self._session_started_s = 0.0
        self._session_booked = False
        self._socket: ClientConnection | None = None
        self._stopping = False
        self.connected = False
        self.sessions = 0
        self.reconnects = 0
        self.resyncs = 0
        self.bad_frames = 0
        self.last_frame_ns = 0
        self.last_error = ""

    async def run(self) -> None:
        """Connect, serve and reconnect until `stop()`."""
        attempt = 0
        while not self._stopping:
            try:
                await self._session()
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            except ReconnectRequested as exc:
                self.last_error = str(exc)  # server asked (shutdown notice) or silence
            finally:
                self._set_connected(False, self.last_error)
            if self._stopping:
                break
            self.reconnects += 1
            healthy = self._was_healthy()
            attempt = 0 if healthy else attempt + 1
            delay = 0.0 if healthy else backoff_delay(attempt - 1, self.settings, self._rng)
            log.warning(
                "lighter ws reconnect #%d in %.2f s (%s)", self.reconnects, delay, self.last_error
            )
            await self._sleep(delay)

    async def stop(self) -> None:
        """Close the socket and end `run()`."""
        self._stopping = True
        if self._socket is not None:
            await self._socket.close()

    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message if connected (dropped silently when not: caller re-sends)."""
        if self._socket is not None:
            await self._socket.send(json.dumps(message))

    async def resync(self, channel: str) -> None:
        """Unsubscribe and subscribe again to get a fresh snapshot (a duplicate gives none)."""
        self.resyncs += 1
        await self.send({"type": "unsubscribe", "channel": channel})
        await self.send(self._subscribe_message(self._subscription(channel)))

    def request_resync(self, channel: str) -> None:
        """Schedule `resync(channel)` from synchronous frame handling."""
        task = asyncio.get_running_loop().create_task(self.resync(channel))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _was_healthy(self) -> bool:
        """The last session got its book snapshot and lived `healthy_after_s` (greeted first)."""
        lived_s = self._monotonic() - self._session_started_s
        return self._session_booked and lived_s >= self.settings.healthy_after_s

    async def _session(self) -> bool:
        """One connection's life; True when it got as far as a `connected` frame."""
        self.sessions += 1
        self._session_started_s = self._monotonic()
        self._session_booked = False
        async with websockets.connect(
            self.url,
            open_timeout=self.settings.open_timeout_s,
            ping_interval=None,  # app-level pings: the venue wants {"type":"ping"}
            max_size=self.settings.max_frame_bytes,
        ) as socket:
            self._socket = socket
            pinger = asyncio.create_task(self._ping_loop(socket))
            try:
                return await self._serve(socket)
            finally:
                self._socket = None
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinger

    async def _serve(self, socket: ClientConnection) -> bool:
        greeted = False
        while True:
            try:
                raw = await asyncio.wait_for(socket.recv(), self.settings.silence_timeout_s)
            except TimeoutError:
                if greeted:
                    raise ReconnectRequested(
                        f"no frame for {self.settings.silence_timeout_s} s"
                    ) from None
                raise
            except websockets.ConnectionClosed:
                return greeted
            self.last_frame_ns = self._wall_ns()
            frame = self._decode(raw)
            if frame is None:
                continue
            kind = frame.get("type")
            if kind == "connected":
                greeted = True
                await self._subscribe_all(socket)
                self._set_connected(True, "connected")
            elif kind == "ping":
                await socket.send('{"type":"pong"}')
            elif kind == "pong":
                continue
            elif kind == "shutdown":
                raise ReconnectRequested(f"server shutdown notice: {frame}")
            else:
                if greeted and kind == "subscribed/order_book":
                    self._session_booked = True
                self.on_frame(frame, self.last_frame_ns)

    def _decode(self, raw: str | bytes) -> dict[str, Any] | None:
        try:
            frame = json.loads(raw)
        except ValueError:
            self.bad_frames += 1
            return None
        if not isinstance(frame, dict):
            self.bad_frames += 1
            return None
        return frame

    async def _subscribe_all(self, socket: ClientConnection) -> None:
        for subscription in self.subscriptions:
            await socket.send(json.dumps(self._subscribe_message(subscription)))

    def _subscribe_message(self, subscription: Subscription) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "subscribe", "channel": subscription.channel}
        if subscription.private:
            if self._auth_token is None:
                raise ValueError(f"{subscription.channel} is private and no token provider is set")
            message["auth"] = self._auth_token()  # fresh on every subscribe
        return message

    def _subscription(self, channel: str) -> Subscription:
        found = next((s for s in self.subscriptions if s.channel == channel), None)
        return found or Subscription(channel)

    async def _ping_loop(self, socket: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.settings.ping_interval_s)
            with contextlib.suppress(websockets.ConnectionClosed):
                await socket.send('{"type":"ping"}')

    def _set_connected(self, connected: bool, reason: str) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        if self._on_state is not None:
            self._on_state(connected, reason)
