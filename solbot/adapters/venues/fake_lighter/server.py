"""FakeLighterVenue: REST + WebSocket on one loopback port, a market clock and fault knobs."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import signal
import time
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

from aiohttp import web

from solbot.adapters.venues.fake_lighter import wire
from solbot.adapters.venues.fake_lighter.exchange import FakeExchange, Matcher
from solbot.adapters.venues.fake_lighter.feed import MarketEvent
from solbot.adapters.venues.fake_lighter.feeds import build_feed
from solbot.adapters.venues.fake_lighter.rest import (
    DEFAULT_WEIGHT,
    ENDPOINT_WEIGHTS,
    TX_PATHS,
    WEIGHT_PER_MINUTE,
    ParamError,
    RestApi,
    RollingLimiter,
    check_auth_token,
)
from solbot.adapters.venues.fake_lighter.settings import (
    TIER_TX_LIMITS,
    FakeVenueConfig,
    FaultError,
    apply_fault,
)
from solbot.adapters.venues.fake_lighter.stream import StreamHub
from solbot.adapters.venues.fake_lighter.txs import TxRejected
from solbot.errors import RuntimeFailure

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


BOOK_KINDS = frozenset({"order_book", "ticker"})  # both show the book: both freeze


class FakeLighterVenue:
    """A loopback fake of Lighter; `async with FakeLighterVenue(config) as venue: venue.port`.

    Signatures are NOT verified (see txs.py); everything else a tx carries is checked.
    """

    def __init__(
        self,
        config: FakeVenueConfig,
        *,
        events: Iterable[MarketEvent] | None = None,
        matcher: Matcher | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.clock = clock
        self._events = events
        self._matcher = matcher
        self.port = 0
        self.exchange: FakeExchange | None = None
        self.hub: StreamHub | None = None
        self.limiter = RollingLimiter()
        self.tx_limiter = RollingLimiter()  # Premium: sendTx has its own bucket
        self.requests_total = 0
        self._runner: web.AppRunner | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._last_drop_ns = 0
        self.failure: BaseException | None = None
        self.feed_description = ""

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self.port}/stream"

    async def __aenter__(self) -> FakeLighterVenue:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc is None and self.failure is not None:
            raise RuntimeFailure(f"fake venue loop failed: {self.failure!r}") from self.failure

    async def start(self) -> None:
        """Bind the port and start the market clock."""
        now = self.clock()
        if self._events is not None:
            events: Iterable[MarketEvent] = self._events
            self.feed_description = "events supplied by the caller"
        else:
            feed = build_feed(self.config)
            events, self.feed_description = feed.events, feed.description
        exchange = FakeExchange(self.config, events, now, self._matcher)
        exchange.tick(now)  # the first quote is out before anyone can subscribe
        self.exchange = exchange
        self.hub = StreamHub(
            exchange.market.market_id,
            self.config.account_index,
            exchange.snapshot,
            self._ws_send_tx,
            self._ws_auth,
            self.clock,
            connections_per_minute=self.config.ws_connections_per_minute,
            messages_per_minute=self.config.ws_messages_per_minute,
        )
        self.hub.require_auth = self.config.require_auth
        rest = RestApi(exchange, self.clock, self.dispatch, self.tx_latency)
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(rest.routes())
        app.add_routes(
            [
                web.get("/stream", self.hub.handle),
                web.get("/_fake/state", self._state_handler),
                web.post("/_fake/faults", self._faults_handler),
            ]
        )
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            raise RuntimeFailure(
                f"cannot listen on {self.config.host}:{self.config.port}: {error.strerror}"
            ) from error
        self.port = int(self._runner.addresses[0][1])
        self._loop_task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop the clock, close sockets (1001) and release the port."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        for task in list(self._side_tasks):
            task.cancel()
        if self.hub is not None:
            await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def serve_forever(self) -> None:
        """Run until cancelled; raises if the market clock fails."""
        if self._loop_task is None:
            raise RuntimeFailure("the fake venue is not started")
        await self._loop_task

    # --- market clock --------------------------------------------------------------------

    async def _run(self) -> None:
        interval_s = self.config.book_interval_ms / 1000
        try:
            while True:
                self.step()
                await asyncio.sleep(interval_s)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # kept for __aexit__: a test must see the fake broke
            self.failure = error
            raise

    def step(self) -> None:
        """One tick: feed, timers, frames, keepalive and socket faults."""
        exchange, hub = self._parts()
        now = self.clock()
        exchange.tick(now)
        self.dispatch()
        faults = exchange.faults
        hub.stop_pings = faults.stop_pings
        hub.close_after_greeting = faults.close_after_greeting
        interval = faults.ping_interval_s or self.config.ping_interval_s
        hub.keepalive(now, interval, faults.no_pong_close_s)
        self._socket_faults(now)

    def dispatch(self) -> None:
        """Send the exchange's queued frames to subscribers."""
        exchange, hub = self._parts()
        frozen = exchange.faults.frozen_book
        for kind, frame in exchange.take_outbox():
            if frozen and kind in BOOK_KINDS:
                continue  # the book stops; trades, stats and account frames keep flowing
            hub.broadcast(kind, frame)

    def _socket_faults(self, now_ns: int) -> None:
        exchange, hub = self._parts()
        faults = exchange.faults
        every = faults.drop_socket_every_s
        if faults.drop_socket_now:
            faults.drop_socket_now = False
            hub.drop_all()
            self._last_drop_ns = now_ns
        elif every is not None and now_ns - self._last_drop_ns >= every * 1e9:
            if self._last_drop_ns:
                hub.drop_all()
            self._last_drop_ns = now_ns
        if faults.shutdown_close_in_ms is not None:
            close_in_ms, faults.shutdown_close_in_ms = faults.shutdown_close_in_ms, None
            sessions = hub.announce_shutdown(close_in_ms)
            self._spawn(self._close_later(sessions, close_in_ms))

    async def _close_later(self, sessions: list[Any], close_in_ms: int) -> None:
        await asyncio.sleep(close_in_ms / 1000)
        for session in sessions:
            session.close(1001, "shutdown")

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def _parts(self) -> tuple[FakeExchange, StreamHub]:
        if self.exchange is None or self.hub is None:
            raise RuntimeFailure("the fake venue is not started")
        return self.exchange, self.hub

    # --- HTTP plumbing -------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        exchange, _ = self._parts()
        self.requests_total += 1
        if exchange.faults.delay_ms:
            await asyncio.sleep(exchange.faults.delay_ms / 1000)
        if not self._allow_request(request.path):
            return self._too_many()
        try:
            return await handler(request)
        except TxRejected as error:
            return web.json_response(
                wire.error_body(error.code, error.message), status=error.http_status
            )
        except ParamError as error:
            return web.json_response(wire.error_body(20001, str(error)), status=400)

    def _allow_request(self, path: str) -> bool:
        """Count the request by weight (and, Standard, by number); False: answer 429."""
        exchange, _ = self._parts()
        now = self.clock()
        limit = exchange.faults.rate_limit_after
        if limit is None:
            limit = self.config.requests_per_minute
        tx_limit = TIER_TX_LIMITS[self.config.tier]
        if path in TX_PATHS and tx_limit is not None and exchange.faults.rate_limit_after is None:
            self.limiter.retry_after_s = 0.0
            allowed = self.tx_limiter.allow(now, tx_limit)
            self.limiter.refused += 0 if allowed else 1
            self.limiter.retry_after_s = self.tx_limiter.retry_after_s
            return allowed
        weight = ENDPOINT_WEIGHTS.get(path, DEFAULT_WEIGHT)
        return self.limiter.allow(now, limit, weight, WEIGHT_PER_MINUTE)

    def _too_many(self) -> web.Response:
        """429 with the cooldown: seconds until the oldest counted request leaves the minute."""
        retry_after = f"{self.limiter.retry_after_s:.3f}"
        body = wire.error_body(23000, "Too Many Requests!")
        return web.json_response(body, status=429, headers={"Retry-After": retry_after})

    async def tx_latency(self, tx_types: list[int], infos: list[Any]) -> None:
        """Hold a tx for the venue's latency of its kind (the longest of a batch)."""
        delay_ms = max(
            (self._latency_ms(t, i) for t, i in zip(tx_types, infos, strict=False)), default=0
        )
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)

    def _latency_ms(self, tx_type: int, info: Any) -> int:
        config = self.config
        if tx_type in (15, 16):
            return config.cancel_latency_ms
        if tx_type == 14 and isinstance(info, dict) and info.get("TimeInForce") == 0:
            return config.taker_latency_ms  # immediate-or-cancel: a taker
        return config.order_latency_ms

    def _ws_auth(self, token: str | None, account: int) -> str | None:
        return check_auth_token(token, account, self.clock() // 1_000_000_000)

    async def _ws_send_tx(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """`jsonapi/sendtx` / `jsonapi/sendtxbatch`: same checks and limits as REST."""
        exchange, _ = self._parts()
        request_id = data.get("id")
        try:
            if not self._allow_request("jsonapi/sendtx"):
                raise TxRejected(23000, "Too Many Requests!", 429)
            if kind == "jsonapi/sendtx":
                tx_type = data.get("tx_type")
                if isinstance(tx_type, bool) or not isinstance(tx_type, int):
                    raise TxRejected(20001, f"invalid param: tx_type {tx_type!r}")
                body = exchange.send_tx(tx_type, data.get("tx_info"), self.clock())
            else:
                body = exchange.send_tx_batch(
                    data.get("tx_types"), data.get("tx_infos"), self.clock()
                )
        except TxRejected as error:
            reply = {"id": request_id, "code": error.code, "message": error.message}
            return {
                "type": kind,
                "data": reply,
                "error": {"code": error.code, "message": error.message},
            }
        self.dispatch()
        return {"type": kind, "data": {"id": request_id, **body}}

    async def _state_handler(self, request: web.Request) -> web.Response:
        return web.json_response(self.state())

    async def _faults_handler(self, request: web.Request) -> web.Response:
        exchange, _ = self._parts()
        try:
            changes = await request.json()
        except ValueError:
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        if not isinstance(changes, dict):
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        trial = copy.copy(exchange.faults)  # all-or-nothing: a bad knob changes nothing
        try:
            for knob, value in changes.items():
                apply_fault(trial, str(knob), value)
        except FaultError as error:
            return web.json_response({"error": str(error)}, status=400)
        exchange.faults.__dict__.update(trial.__dict__)
        self.step()  # one-shot knobs act now, not a tick later
        return web.json_response({"faults": exchange.faults.as_dict()})

    def state(self) -> dict[str, Any]:
        """`/_fake/state`: the exchange's view plus sockets and HTTP counters."""
        exchange, hub = self._parts()
        now = self.clock()
        body = exchange.state(now)
        body["ws"] = hub.state()
        body["http"] = {
            "requests_total": self.requests_total,
            "requests_last_minute": self.limiter.used(now) + self.tx_limiter.used(now),
            "weight_last_minute": self.limiter.weight_used(now),
            "max_requests_per_minute": self.limiter.peak + self.tx_limiter.peak,
            "refused_429": self.limiter.refused,
        }
        return body


async def serve(
    config: FakeVenueConfig,
    on_ready: Callable[[FakeLighterVenue], None],
    duration_s: float | None = None,
) -> None:
    """Run a venue until SIGINT/SIGTERM, `duration_s`, or a failure of its market clock."""
    async with FakeLighterVenue(config) as venue:
        on_ready(venue)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        waiters = [asyncio.ensure_future(venue.serve_forever()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=duration_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGTERM)


def run_fake_venue(
    config: FakeVenueConfig,
    on_ready: Callable[[FakeLighterVenue], None],
    duration_s: float | None = None,
) -> None:
    """Blocking entry point of `solbot fake-venue`."""
    asyncio.run(serve(config, on_ready, duration_s))
