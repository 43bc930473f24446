"""The fake venue's WebSocket side: sessions, subscriptions, keepalive and socket faults."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from solbot.adapters.venues.fake_lighter import wire

SendTxHandler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
AuthCheck = Callable[[str | None, int], str | None]  # (token, account) -> error message or None
MAX_QUEUED_FRAMES = 20_000
MINUTE_NS = 60_000_000_000

# Channel kinds the fake serves; `account_orders` needs an auth token, as on Lighter.
PUBLIC_KINDS = frozenset({"order_book", "ticker", "trade", "market_stats"})


class ChannelError(Exception):
    """A subscribe request the venue refuses, with Lighter's WS error code."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Channel:
    """A parsed subscription: `name` as subscribed (with '/'), `kind` routes frames."""

    name: str
    kind: str
    needs_auth: bool
    account: int = -1


def parse_channel(name: str, market_id: int, account: int) -> Channel:
    """Validate a channel name against what this fake serves (else 30005 Invalid Channel)."""
    parts = name.split("/") if isinstance(name, str) else []
    invalid = ChannelError(30005, f"Invalid Channel: {name}")
    if len(parts) == 2 and parts[0] in PUBLIC_KINDS:
        if parts[1] != str(market_id):
            raise invalid
        return Channel(name, parts[0], needs_auth=False)
    if len(parts) == 2 and parts[0] == "account_all":
        if parts[1] != str(account):
            raise invalid
        return Channel(name, "account", needs_auth=False, account=account)
    if len(parts) == 3 and parts[0] == "account_orders":
        if parts[1] != str(market_id) or parts[2] != str(account):
            raise invalid
        return Channel(name, "account_orders", needs_auth=True, account=account)
    raise invalid


@dataclass
class Session:
    """One WebSocket connection."""

    session_id: str
    socket: web.WebSocketResponse
    transport: asyncio.Transport | None
    connected_ns: int
    subscriptions: dict[str, Channel] = field(default_factory=dict)
    queue: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)
    last_ping_ns: int = 0
    ping_outstanding_since: int | None = None
    pongs_received: int = 0
    pings_sent: int = 0
    closing: bool = False
    close_reason: str = ""
    message_times: deque[int] = field(default_factory=deque)

    def send_text(self, text: str) -> None:
        if self.closing:
            return
        if self.queue.qsize() >= MAX_QUEUED_FRAMES:
            self.close(1008, "slow consumer")
            return
        self.queue.put_nowait(("text", text))

    def send(self, frame: dict[str, Any]) -> None:
        self.send_text(_encode(frame))

    def close(self, code: int, message: str) -> None:
        """Close after the frames already queued have been written."""
        if self.closing:
            return
        self.closing = True
        self.close_reason = f"{code} {message}"
        self.queue.put_nowait(("close", (code, message)))

    def abort(self) -> None:
        """Cut the TCP connection with no close frame (the client sees 1006)."""
        self.closing = True
        self.close_reason = "dropped"
        if self.transport is not None:
            self.transport.abort()


def _encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


class StreamHub:
    """All sessions; routes exchange frames to subscribers and runs keepalive."""

    def __init__(
        self,
        market_id: int,
        account: int,
        snapshot: Callable[[str, int], dict[str, Any]],
        send_tx: SendTxHandler,
        auth_check: AuthCheck,
        clock: Callable[[], int],
        *,
        connections_per_minute: int | None = None,
        messages_per_minute: int | None = None,
    ) -> None:
        self.market_id = market_id
        self.connections_per_minute = connections_per_minute
        self.messages_per_minute = messages_per_minute
        self._connection_times: deque[int] = deque()
        self._closers: set[asyncio.Future[None]] = set()
        self.connections_refused = 0
        self.message_limit_closes = 0
        self.account = account
        self._snapshot = snapshot
        self._send_tx = send_tx
        self._auth_check = auth_check
        self._clock = clock
        self.sessions: dict[str, Session] = {}
        self._ids = itertools.count(1)
        self.connections_total = 0
        self.closed_reasons: list[str] = []
        self.frames_sent = 0
        self.stop_pings = False  # fault knob: neither send pings nor answer the client's
        self.require_auth = False  # account_all needs a valid auth token too (refused: 20001)
        self.close_after_greeting = False  # fault knob: greet, then hang up (a flapping server)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler of `/stream`."""
        now = self._clock()
        if not _within(self._connection_times, now, self.connections_per_minute):
            self.connections_refused += 1
            body = json.dumps(wire.error_body(23000, "Too Many Connections"))
            return web.Response(status=429, text=body, content_type="application/json")
        socket = web.WebSocketResponse(autoping=True, heartbeat=None, max_msg_size=4 * 2**20)
        await socket.prepare(request)
        transport = request.transport if isinstance(request.transport, asyncio.Transport) else None
        session = Session(
            f"fake-{next(self._ids)}-{now // 1_000_000}", socket, transport, now, last_ping_ns=now
        )
        self.sessions[session.session_id] = session
        self.connections_total += 1
        writer = asyncio.create_task(self._write(session))
        session.send({"type": "connected", "session_id": session.session_id})
        if self.close_after_greeting:
            self._spawn_close(session)
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                await self._on_text(session, message.data)
        finally:
            session.closing = True
            self.sessions.pop(session.session_id, None)
            self.closed_reasons.append(session.close_reason or "client closed")
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return socket

    def _spawn_close(self, session: Session) -> None:
        """Close a greeted session a moment later (after the client's subscribes arrive)."""

        async def close_soon() -> None:
            await asyncio.sleep(0.05)
            session.close(1000, "closed after greeting")

        task = asyncio.ensure_future(close_soon())
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def _write(self, session: Session) -> None:
        socket = session.socket
        while True:
            action, payload = await session.queue.get()
            try:
                if action == "close":
                    code, message = payload
                    await socket.close(code=code, message=message.encode())
                    return
                await socket.send_str(payload)
                self.frames_sent += 1
            except (ConnectionError, RuntimeError):
                return  # the peer is gone; the reader loop ends the session

    async def _on_text(self, session: Session, text: str) -> None:
        if not _within(session.message_times, self._clock(), self.messages_per_minute):
            self.message_limit_closes += 1
            session.send(wire.ws_error(23000, "Too Many Messages"))
            session.close(1008, "too many messages")
            return
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            session.send(wire.ws_error(30000, "Invalid Json"))
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "subscribe":
            self._subscribe(session, message)
        elif kind == "unsubscribe":
            self._unsubscribe(session, message)
        elif kind == "ping":
            if not self.stop_pings:
                session.send({"type": "pong"})
        elif kind == "pong":
            session.ping_outstanding_since = None
            session.pongs_received += 1
        elif kind in ("jsonapi/sendtx", "jsonapi/sendtxbatch"):
            data = message.get("data")
            reply = await self._send_tx(kind, data if isinstance(data, dict) else {})
            session.send(reply)
        else:
            session.send(wire.ws_error(30001, f"Invalid Type: {kind!r}"))

    def _subscribe(self, session: Session, message: dict[str, Any]) -> None:
        name = message.get("channel")
        if not isinstance(name, str):
            session.send(wire.ws_error(30005, "Invalid Channel: missing channel"))
            return
        if name in session.subscriptions:
            # Lighter answers a duplicate with an error and, notably, no fresh snapshot.
            session.send(wire.ws_error(30003, f"Already Subscribed to : {name}"))
            return
        try:
            channel = parse_channel(name, self.market_id, self.account)
        except ChannelError as error:
            session.send(wire.ws_error(error.code, error.message))
            return
        if channel.needs_auth or (self.require_auth and channel.kind == "account"):
            token = message.get("auth")
            problem = self._auth_check(token if isinstance(token, str) else None, channel.account)
            if problem is not None:
                session.send(wire.ws_error(20001, f"{problem}: {name}"))
                return
        session.subscriptions[name] = channel
        session.send(self._snapshot(channel.kind, self._clock()))

    def _unsubscribe(self, session: Session, message: dict[str, Any]) -> None:
        name = message.get("channel")
        if not isinstance(name, str) or name not in session.subscriptions:
            session.send(wire.ws_error(30002, f"Not Subscribed to : {name}"))
            return
        del session.subscriptions[name]
        session.send({"type": "unsubscribed", "channel": wire.wire_channel(name)})

    def broadcast(self, kind: str, frame: dict[str, Any]) -> None:
        """Send one frame to every session subscribed to a channel of `kind`."""
        text: str | None = None
        for session in list(self.sessions.values()):
            if any(channel.kind == kind for channel in session.subscriptions.values()):
                text = text or _encode(frame)
                session.send_text(text)

    # --- keepalive and faults -------------------------------------------------------------

    def keepalive(self, now_ns: int, ping_interval_s: float, no_pong_close_s: float | None) -> None:
        """Send app-level pings; close 1008 "no pong" when a ping stays unanswered too long."""
        interval_ns = int(ping_interval_s * 1e9)
        for session in list(self.sessions.values()):
            if session.closing:
                continue
            waiting = session.ping_outstanding_since
            if (
                no_pong_close_s is not None
                and waiting is not None
                and now_ns - waiting > no_pong_close_s * 1e9
            ):
                session.close(1008, "no pong")
                continue
            if not self.stop_pings and now_ns - session.last_ping_ns >= interval_ns:
                session.last_ping_ns = now_ns
                session.pings_sent += 1
                if session.ping_outstanding_since is None:
                    session.ping_outstanding_since = now_ns
                session.send({"type": "ping"})

    def drop_all(self) -> int:
        """Cut every connection at the TCP level; returns how many were cut."""
        sessions = [s for s in self.sessions.values() if not s.closing]
        for session in sessions:
            session.abort()
        return len(sessions)

    def announce_shutdown(self, close_in_ms: int) -> list[Session]:
        """Send the shutdown notice; the caller closes these sessions after `close_in_ms`."""
        sessions = [s for s in self.sessions.values() if not s.closing]
        for session in sessions:
            session.send({"type": "shutdown", "close_in_ms": close_in_ms})
        return sessions

    async def close_all(self) -> None:
        """Server stop: close every connection with 1001 going away."""
        for session in list(self.sessions.values()):
            session.close(1001, "server stopping")
        for _ in range(50):
            if not self.sessions:
                return
            await asyncio.sleep(0.01)
        for session in list(self.sessions.values()):
            session.abort()

    def state(self) -> dict[str, Any]:
        """Connections and subscriptions, for `/_fake/state`."""
        return {
            "connections": len(self.sessions),
            "connections_total": self.connections_total,
            "connections_refused": self.connections_refused,
            "message_limit_closes": self.message_limit_closes,
            "frames_sent": self.frames_sent,
            "closed": list(self.closed_reasons[-50:]),
            "sessions": [
                {
                    "session_id": s.session_id,
                    "subscriptions": sorted(s.subscriptions),
                    "pings_sent": s.pings_sent,
                    "pongs_received": s.pongs_received,
                }
                for s in self.sessions.values()
            ],
        }


def _within(times: deque[int], now_ns: int, per_minute: int | None) -> bool:
    """Count one more event in a rolling minute; False (not counted) when over `per_minute`."""
    while times and now_ns - times[0] >= MINUTE_NS:
        times.popleft()
    if per_minute is not None and len(times) >= per_minute:
        return False
    times.append(now_ns)
    return True
