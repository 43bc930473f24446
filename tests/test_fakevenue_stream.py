"""Fake Lighter venue WebSocket: snapshots, nonce-continuous diffs, keepalive and socket faults."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from fakevenue_support import (
    ACCOUNT,
    auth_token,
    collect,
    recv_json,
    recv_until,
    static_book,
    subscribe,
)
from websockets.exceptions import ConnectionClosed

from solbot.adapters.venues.fake_lighter import FakeLighterVenue, FakeVenueConfig

pytestmark = pytest.mark.integration


def config(**overrides: Any) -> FakeVenueConfig:
    base: dict[str, Any] = {"synthetic": True, "account_index": ACCOUNT, "tier": "premium"}
    base.update(overrides)
    return FakeVenueConfig(**base)


@pytest.fixture
async def walk() -> AsyncIterator[FakeLighterVenue]:
    """A venue on the seeded random walk: the book changes every few tens of ms."""
    async with FakeLighterVenue(config(speed=2.0)) as fake:
        yield fake


async def set_faults(venue: FakeLighterVenue, **knobs: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=venue.base_url) as client:
        response = await client.post("/_fake/faults", json=knobs)
    assert response.status_code == 200, response.text
    return dict(response.json()["faults"])


def apply_levels(levels: dict[str, str], changes: list[dict[str, str]]) -> None:
    for change in changes:
        if float(change["size"]) == 0:
            levels.pop(change["price"], None)
        else:
            levels[change["price"]] = change["size"]


async def test_snapshot_then_nonce_continuous_diffs(walk: FakeLighterVenue) -> None:
    async with websockets.connect(walk.ws_url) as ws:
        greeting = await recv_json(ws)
        assert greeting["type"] == "connected" and greeting["session_id"]
        snapshot = await subscribe(ws, "order_book/2")
        updates = [f for f in await collect(ws, 1.0) if f.get("type") == "update/order_book"]
    book = snapshot["order_book"]
    assert snapshot["channel"] == "order_book:2" and book["begin_nonce"] == 0
    assert len(updates) >= 5
    bids = {level["price"]: level["size"] for level in book["bids"]}
    asks = {level["price"]: level["size"] for level in book["asks"]}
    previous, offsets, deletes = book["nonce"], [book["offset"]], 0
    for frame in updates:
        diff = frame["order_book"]
        assert diff["begin_nonce"] == previous  # continuity rule clients must check
        assert diff["nonce"] > diff["begin_nonce"]
        previous = diff["nonce"]
        offsets.append(diff["offset"])
        deletes += sum(level["size"] == "0.000" for level in diff["bids"] + diff["asks"])
        apply_levels(bids, diff["bids"])
        apply_levels(asks, diff["asks"])
        assert max(map(float, bids)) < min(map(float, asks))  # the rebuilt book never crosses
        assert all(len(price.split(".")[1]) == 3 for price in bids | asks)
    assert offsets == sorted(offsets) and any(b - a > 1 for a, b in itertools.pairwise(offsets))
    assert deletes > 0  # levels leave the book as "0.000"


async def test_skip_book_nonce_makes_a_gap_visible(walk: FakeLighterVenue) -> None:
    async with websockets.connect(walk.ws_url) as ws:
        snapshot = await subscribe(ws, "order_book/2")
        assert (await set_faults(walk, skip_book_nonce=1))["skip_book_nonce"] in (0, 1)
        frames = [f for f in await collect(ws, 1.0) if f.get("type") == "update/order_book"]
    previous = snapshot["order_book"]["nonce"]
    gaps = 0
    for frame in frames:
        gaps += frame["order_book"]["begin_nonce"] != previous
        previous = frame["order_book"]["nonce"]
    assert gaps == 1
    assert walk.state()["book"]["gaps_injected"] == 1


async def test_subscription_errors_and_unsubscribe() -> None:
    async with (
        FakeLighterVenue(config(), events=static_book()) as venue,
        websockets.connect(venue.ws_url) as ws,
    ):
        await subscribe(ws, "ticker/2")
        await ws.send(json.dumps({"type": "subscribe", "channel": "ticker/2"}))
        duplicate = await recv_until(ws, lambda f: "error" in f)
        assert duplicate["error"]["code"] == 30003
        for channel in ("candle/2/1m", "order_book/7", f"account_all/{ACCOUNT + 1}"):
            refused = await subscribe(ws, channel)
            assert refused["error"]["code"] == 30005, channel
        private = f"account_orders/2/{ACCOUNT}"
        assert (await subscribe(ws, private))["error"]["code"] == 20001
        expired = await subscribe(ws, private, auth=auth_token(lifetime_s=-1))
        assert expired["error"]["code"] == 20001
        granted = await subscribe(ws, private, auth=auth_token())
        assert granted["channel"] == f"account_orders:2:{ACCOUNT}"
        await ws.send(json.dumps({"type": "unsubscribe", "channel": "ticker/2"}))
        answer = await recv_until(ws, lambda f: f.get("type") == "unsubscribed")
        assert answer["channel"] == "ticker:2"
        await ws.send(json.dumps({"type": "unsubscribe", "channel": "ticker/2"}))
        assert (await recv_until(ws, lambda f: "error" in f))["error"]["code"] == 30002
        await ws.send("not json")
        assert (await recv_until(ws, lambda f: "error" in f))["error"]["code"] == 30000
        snapshot = await subscribe(ws, "ticker/2")  # after unsubscribing, a fresh snapshot
        assert snapshot["ticker"]["b"]["price"] == "149.990"
        assert snapshot["ticker"]["a"]["price"] == "150.010"
        state = venue.state()["ws"]["sessions"][0]["subscriptions"]
        assert state == [private, "ticker/2"]


async def test_public_channel_shapes(walk: FakeLighterVenue) -> None:
    async with websockets.connect(walk.ws_url) as ws:
        trades = await subscribe(ws, "trade/2")
        stats = await subscribe(ws, "market_stats/2")
        update = await recv_until(ws, lambda f: f.get("type") == "update/trade")
    assert trades["liquidation_trades"] == [] and isinstance(trades["trades"], list)
    trade = update["trades"][0]
    assert trade["market_id"] == 2 and trade["type"] == "trade"
    assert isinstance(trade["is_maker_ask"], bool)
    assert ACCOUNT not in (trade["ask_account_id"], trade["bid_account_id"])
    assert {"trade_id", "price", "size", "usd_amount", "timestamp"} <= trade.keys()
    body = stats["market_stats"]
    assert body["market_id"] == 2 and float(body["mark_price"]) > 0
    assert {"index_price", "current_funding_rate", "funding_timestamp"} <= body.keys()


async def test_resend_old_trades_repeats_trade_ids(walk: FakeLighterVenue) -> None:
    async with websockets.connect(walk.ws_url) as ws:
        await subscribe(ws, "trade/2")
        seen: set[int] = set()
        while len(seen) < 3:
            frame = await recv_until(ws, lambda f: f.get("type") == "update/trade")
            seen.update(t["trade_id"] for t in frame["trades"])
        await set_faults(walk, resend_old_trades=2)
        while True:  # the re-sent frame carries only ids this client already received
            frame = await recv_until(ws, lambda f: f.get("type") == "update/trade")
            ids = [t["trade_id"] for t in frame["trades"]]
            if all(trade_id in seen for trade_id in ids):
                break
            seen.update(ids)
    assert len(ids) == 2 and ids == sorted(ids) and max(ids) == max(seen)


async def test_client_ping_gets_pong_and_server_pings() -> None:
    async with (
        FakeLighterVenue(config(ping_interval_s=0.2), events=static_book()) as venue,
        websockets.connect(venue.ws_url) as ws,
    ):
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv_until(ws, lambda f: f.get("type") == "pong"))["type"] == "pong"
        pings = [f for f in await collect(ws, 0.7) if f.get("type") == "ping"]
        assert 2 <= len(pings) <= 5


async def test_no_pong_closes_1008_but_a_polite_client_stays() -> None:
    faulty = config(ping_interval_s=0.2, faults=_faults("no_pong_close_s=0.3"))
    async with (
        FakeLighterVenue(faulty, events=static_book()) as venue,
        websockets.connect(venue.ws_url) as silent,
        websockets.connect(venue.ws_url) as polite,
    ):
        deadline = asyncio.get_running_loop().time() + 1.5
        while asyncio.get_running_loop().time() < deadline:
            frame = await recv_json(polite, 1.0)
            if frame.get("type") == "ping":
                await polite.send(json.dumps({"type": "pong"}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await recv_json(silent, 1.0)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "no pong")
        await polite.send(json.dumps({"type": "ping"}))
        assert (await recv_until(polite, lambda f: f.get("type") == "pong"))["type"] == "pong"
        assert venue.state()["ws"]["connections"] == 1


async def test_stop_pings_silences_keepalive() -> None:
    async with (
        FakeLighterVenue(config(ping_interval_s=0.1), events=static_book()) as venue,
        websockets.connect(venue.ws_url) as ws,
    ):
        await set_faults(venue, stop_pings=True)
        await collect(ws, 0.05)  # a ping may already have been on its way
        await ws.send(json.dumps({"type": "ping"}))
        frames = await collect(ws, 0.5)
        assert [f["type"] for f in frames if f.get("type") in ("ping", "pong")] == []


async def test_shutdown_notice_then_close() -> None:
    async with (
        FakeLighterVenue(config(), events=static_book()) as venue,
        websockets.connect(venue.ws_url) as ws,
    ):
        await recv_json(ws)  # connected
        await set_faults(venue, shutdown=200)
        notice = await recv_until(ws, lambda f: f.get("type") == "shutdown")
        assert notice == {"type": "shutdown", "close_in_ms": 200}
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await recv_json(ws, 2.0)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


async def test_drop_socket_cuts_the_connection_without_a_close_frame() -> None:
    async with (
        FakeLighterVenue(config(), events=static_book()) as venue,
        websockets.connect(venue.ws_url) as ws,
    ):
        await recv_json(ws)
        await set_faults(venue, drop_socket="now")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await recv_json(ws, 2.0)
        assert closed.value.rcvd is None  # 1006: the TCP connection just went away
        async with websockets.connect(venue.ws_url) as again:
            assert (await recv_json(again))["type"] == "connected"
        assert venue.state()["ws"]["connections_total"] == 2


async def test_drop_socket_every_n_seconds_keeps_dropping() -> None:
    async with FakeLighterVenue(
        config(faults=_faults("drop_socket=0.3")), events=static_book()
    ) as venue:
        drops = 0
        for _ in range(2):
            async with websockets.connect(venue.ws_url) as ws:
                with pytest.raises(ConnectionClosed):
                    while True:
                        await recv_json(ws, 1.0)
                drops += 1
        assert drops == 2 and venue.state()["faults"]["drop_socket_every_s"] == 0.3


def _faults(*assignments: str) -> Any:
    from solbot.adapters.venues.fake_lighter import faults_from_assignments

    return faults_from_assignments(list(assignments))
