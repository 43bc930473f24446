"""LighterVenue and WsConnection against a loopback mini venue (real sockets, bounded time)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from lighter_mini_venue import MiniLighter, wait_for
from lighter_support import ACCOUNT, order

from solbot.adapters.venues.lighter.settings import LighterSettings
from solbot.adapters.venues.lighter.signer import UnsignedTestSigner
from solbot.adapters.venues.lighter.venue import LighterVenue
from solbot.adapters.venues.lighter.ws import (
    Subscription,
    WsConnection,
    WsSettings,
    backoff_delay,
)
from solbot.core.model import (
    BookTop,
    CancelOrder,
    FeedStatus,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    PositionSnapshot,
    Side,
)
from solbot.errors import RuntimeFailure

pytestmark = pytest.mark.integration

FAST_WS = WsSettings(
    ping_interval_s=0.2, silence_timeout_s=2.0, backoff_initial_s=0.01, backoff_max_s=0.05
)


class Running:
    """A started venue plus everything it emitted."""

    def __init__(self, venue: LighterVenue) -> None:
        self.venue = venue
        self.events: list[Any] = []
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for event in self.venue.events():
            self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def order_updates(self, client_id: int) -> list[OrderStatus]:
        return [u.status for u in self.of(OrderUpdate) if u.client_id == client_id]

    async def close(self) -> None:
        await self.venue.cancel_all_and_close()
        await asyncio.wait_for(self._task, 5)


@pytest.fixture
async def mini() -> AsyncIterator[MiniLighter]:
    async with MiniLighter() as venue:
        yield venue


async def started(mini: MiniLighter, known: tuple[int, ...] = ()) -> Running:
    settings = LighterSettings(
        account_index=ACCOUNT,
        api_key_index=4,
        rest_url=mini.url,
        ws_url=f"ws://127.0.0.1:{mini.port}/stream",
        subscribe_trades=False,
        subscribe_market_stats=False,
        ws=FAST_WS,
    )
    venue = LighterVenue(settings, UnsignedTestSigner(mini.url, ACCOUNT, 4))
    await venue.start(known)
    running = Running(venue)
    await wait_for(lambda: venue.health()["book_valid"])
    return running


async def test_start_subscribe_build_book_place_and_cancel(mini: MiniLighter) -> None:
    run = await started(mini)
    try:
        assert isinstance(run.events[0], PositionSnapshot) and run.events[0].size == 0.0
        await wait_for(lambda: run.of(BookTop))
        top = run.of(BookTop)[-1]
        assert (top.bid_price, top.ask_price, top.bid_size) == (150_000, 150_010, 1_000)
        assert run.venue.market.min_base_amount == 0.05  # read from orderBookDetails
        channels = [s["channel"] for s in mini.subscribes]
        assert channels[:3] == [
            "order_book/2",
            f"account_all/{ACCOUNT}",
            f"account_orders/2/{ACCOUNT}",
        ]
        assert mini.subscribes[2]["auth"].split(":")[1] == str(ACCOUNT)

        run.venue.submit([PlaceOrder(11, Side.BID, 149_500, 70)], 0)
        await wait_for(lambda: OrderStatus.OPEN in run.order_updates(11))
        run.venue.submit([CancelOrder(11)], 0)
        await wait_for(lambda: OrderStatus.CANCELED in run.order_updates(11))
        cancel = next(tx for tx in mini.tx_log if tx["tx_type"] == 15)
        assert cancel["Index"] == mini.order_index  # the venue's index, learned from the WS
        scheduled = [tx for tx in mini.tx_log if tx["tx_type"] == 16 and tx["TimeInForce"] == 1]
        assert scheduled, "the dead-man switch was armed"
        await wait_for(lambda: run.venue.health()["book_valid"])
        health = run.venue.health()
        assert health["connected"] and health["tx_sent"] >= 2 and health["feed_age_s"] < 5
    finally:
        await run.close()
    # at close: a cancel-all of SOL only (market 2), then the abort of the account-wide schedule
    close = [(tx["tx_type"], tx["TimeInForce"], tx["L2TxAttributes"]) for tx in mini.tx_log[-2:]]
    assert close == [(16, 0, {"5": 2}), (16, 2, None)]


async def test_reconnect_after_drop_resubscribes_with_fresh_auth(mini: MiniLighter) -> None:
    run = await started(mini)
    try:
        await mini.drop_all()
        await wait_for(lambda: mini.connections == 2 and run.venue.health()["book_valid"])
        statuses = [(s.connected, s.book_valid) for s in run.of(FeedStatus)]
        assert (False, False) in statuses and statuses[-1] == (True, True)
        private = [s for s in mini.subscribes if s["channel"].startswith("account_orders")]
        assert len(private) == 2 and all(s.get("auth") for s in private)
        assert run.venue.counters()["reconnects"] == 1
    finally:
        await run.close()


async def test_nonce_error_recovers_once(mini: MiniLighter) -> None:
    run = await started(mini)
    try:
        await wait_for(lambda: run.venue.health()["tx_sent"] >= 1)  # dead-man armed
        mini.nonce += 5  # another writer used our key
        run.venue.submit([PlaceOrder(12, Side.ASK, 151_000, 70)], 0)
        await wait_for(lambda: OrderStatus.OPEN in run.order_updates(12))
        assert run.venue.counters()["nonce_resyncs"] == 1
        assert OrderStatus.REJECTED not in run.order_updates(12)
    finally:
        await run.close()


async def test_reconcile_cancels_unknown_orders_before_quoting(mini: MiniLighter) -> None:
    mini.orders[5] = order(5, "open", order_index=281474976710600)
    run = await started(mini)
    try:
        assert mini.orders == {}
        assert (mini.tx_log[0]["tx_type"], mini.tx_log[0]["TimeInForce"]) == (16, 0)
        assert mini.auth_headers[0].split(":")[1:3] == [str(ACCOUNT), "4"]
    finally:
        await run.close()


async def test_book_gap_resubscribes_for_a_fresh_snapshot(mini: MiniLighter) -> None:
    run = await started(mini)
    try:
        await mini.book_diff()
        await mini.book_diff(skip=True)
        await wait_for(lambda: run.venue.counters()["resyncs"] == 1)
        await wait_for(lambda: run.venue.health()["book_valid"])
        assert {"type": "unsubscribe", "channel": "order_book/2"} in mini.client_messages
        assert [s["channel"] for s in mini.subscribes].count("order_book/2") == 2
        assert run.venue.counters()["book_gaps"] == 1
    finally:
        await run.close()


# --- the connection manager alone -------------------------------------------------------------


def test_backoff_is_exponential_capped_and_jittered() -> None:
    settings = WsSettings(backoff_initial_s=0.5, backoff_max_s=30.0)
    rng = random.Random(7)
    delays = [backoff_delay(n, settings, rng) for n in range(10)]
    for n, delay in enumerate(delays):
        ceiling = min(30.0, 0.5 * 2**n)
        assert ceiling / 2 <= delay <= ceiling
    again = random.Random(7)
    assert delays == [backoff_delay(n, settings, again) for n in range(10)]  # seeded: replayable


async def connection(mini: MiniLighter, frames: list[Any], **settings: Any) -> WsConnection:
    tokens = iter(range(100))
    return WsConnection(
        f"ws://127.0.0.1:{mini.port}/stream",
        [Subscription("order_book/2"), Subscription("account_orders/2/1", private=True)],
        lambda frame, recv_ns: frames.append(frame),
        auth_token=lambda: f"token-{next(tokens)}",
        settings=WsSettings(**({"backoff_initial_s": 0.01, "backoff_max_s": 0.02} | settings)),
    )


async def test_server_ping_answered_and_own_pings_sent(mini: MiniLighter) -> None:
    frames: list[Any] = []
    ws = await connection(mini, frames, ping_interval_s=0.05)
    task = asyncio.create_task(ws.run())
    try:
        await wait_for(lambda: ws.connected and mini.sockets)
        await mini.broadcast({"type": "ping"})
        await wait_for(lambda: {"type": "pong"} in mini.client_messages)
        await wait_for(lambda: {"type": "ping"} in mini.client_messages)
        assert [s.get("auth") for s in mini.subscribes] == [None, "token-0"]
    finally:
        await ws.stop()
        await asyncio.wait_for(task, 5)


async def test_silence_and_shutdown_notice_trigger_reconnects(mini: MiniLighter) -> None:
    frames: list[Any] = []
    ws = await connection(mini, frames, ping_interval_s=60, silence_timeout_s=0.3)
    task = asyncio.create_task(ws.run())
    try:
        await wait_for(lambda: mini.connections >= 2)  # silent server ⇒ reconnect
        before = mini.connections
        await wait_for(lambda: mini.sockets)
        await mini.broadcast({"type": "shutdown", "close_in_ms": 1000})
        await wait_for(lambda: mini.connections > before)
        # the new connection subscribes right after its greeting: wait for it under load too
        await wait_for(lambda: len([s for s in mini.subscribes if s.get("auth")]) >= 3)
        tokens = [s["auth"] for s in mini.subscribes if s.get("auth")]
        assert len(tokens) == len(set(tokens))  # a fresh token on every subscribe
        assert ws.reconnects >= 2
    finally:
        await ws.stop()
        await asyncio.wait_for(task, 5)


async def test_no_greeting_backs_off_and_retries(mini: MiniLighter) -> None:
    mini.greet = False
    frames: list[Any] = []
    ws = await connection(mini, frames, silence_timeout_s=0.1)
    task = asyncio.create_task(ws.run())
    try:
        await wait_for(lambda: mini.connections >= 3)
        assert not ws.connected and mini.subscribes == []
    finally:
        await ws.stop()
        await asyncio.wait_for(task, 5)


async def test_a_dying_background_task_is_reported_and_stops_quoting(mini: MiniLighter) -> None:
    run = await started(mini)
    try:

        def broken(frame: dict[str, Any], recv_ns: int) -> None:
            raise RuntimeError("bug in a frame handler")

        assert run.venue.ws is not None
        run.venue.ws.on_frame = broken
        await mini.book_diff()
        await wait_for(lambda: run.venue.health()["failed_task"])
        health = run.venue.health()
        assert not health["connected"] and not health["book_valid"]
        assert "RuntimeError" in health["failed_task"]
        assert not run.of(FeedStatus)[-1].quoting_safe
    finally:
        await run.close()


async def test_reconcile_keeps_orders_the_caller_knows(mini: MiniLighter) -> None:
    mini.orders[5] = order(5, "open", order_index=281474976710600)
    mini.orders[6] = order(6, "open", order_index=281474976710601)
    run = await started(mini, known=(6,))
    try:
        assert list(mini.orders) == [6]
        cancel = mini.tx_log[0]
        assert (cancel["tx_type"], cancel["Index"]) == (15, 5)
        run.venue.submit([CancelOrder(6)], 0)
        await wait_for(lambda: OrderStatus.CANCELED in run.order_updates(6))
        cancels = [tx["Index"] for tx in mini.tx_log if tx["tx_type"] == 15]
        assert cancels == [5, 281474976710601]  # adopted with its venue index
    finally:
        await run.close()


async def test_greet_then_close_server_gets_growing_backoff_not_a_storm(
    mini: MiniLighter,
) -> None:
    """A `connected` greeting alone is no proof of health: the backoff keeps growing."""
    mini.close_after_greeting = True
    delays: list[float] = []

    async def record_sleep(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0)

    ws = WsConnection(
        f"ws://127.0.0.1:{mini.port}/stream",
        [Subscription("order_book/2")],
        lambda frame, recv_ns: None,
        settings=WsSettings(backoff_initial_s=0.5, backoff_max_s=30.0),
        backoff_sleep=record_sleep,
    )
    task = asyncio.create_task(ws.run())
    try:
        await wait_for(lambda: len(delays) >= 6)
    finally:
        await ws.stop()
        await asyncio.wait_for(task, 5)
    assert all(delay > 0 for delay in delays[:6]), delays
    assert delays[5] > delays[0] * 4  # exponential: 0.25..0.5 s, then up to 16 s


async def test_backoff_resets_after_a_healthy_connection(mini: MiniLighter) -> None:
    """Book snapshot received and alive `healthy_after_s`: the next reconnect is at once."""
    delays: list[float] = []

    async def record_sleep(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0)

    ws = WsConnection(
        f"ws://127.0.0.1:{mini.port}/stream",
        [Subscription("order_book/2")],
        lambda frame, recv_ns: None,
        settings=WsSettings(healthy_after_s=0.2),
        backoff_sleep=record_sleep,
    )
    task = asyncio.create_task(ws.run())
    try:
        await wait_for(lambda: ws.connected)
        await asyncio.sleep(0.3)
        await mini.drop_all()
        await wait_for(lambda: len(delays) >= 1)
    finally:
        await ws.stop()
        await asyncio.wait_for(task, 5)
    assert delays[0] == 0.0


async def test_start_up_cancel_refused_429_backs_off_and_gives_up(mini: MiniLighter) -> None:
    """A leftover order's cancel answered 429 again and again: bounded retries that honour the
    venue's cooldown, then a clear runtime failure (exit 1), never a tight retry loop."""
    mini.orders[5] = order(5, "open", order_index=281474976710600)
    mini.refuse_txs = "0.05"
    settings = LighterSettings(
        account_index=ACCOUNT,
        api_key_index=4,
        rest_url=mini.url,
        ws_url=f"ws://127.0.0.1:{mini.port}/stream",
        retry_initial_s=0.02,
        retry_max_s=0.1,
        retry_max_attempts=4,
        ws=FAST_WS,
    )
    venue = LighterVenue(settings, UnsignedTestSigner(mini.url, ACCOUNT, 4))
    started_s = asyncio.get_running_loop().time()
    with pytest.raises(RuntimeFailure, match="gave up after 4 attempt"):
        await asyncio.wait_for(venue.start(), 10)
    elapsed_s = asyncio.get_running_loop().time() - started_s
    await venue.rest.aclose()
    assert mini.refused == 4
    assert elapsed_s >= 3 * 0.05  # each retry waited out the venue's Retry-After
