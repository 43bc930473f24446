"""The fake venue's strictness knobs: request weights and 429 cooldown, tx latency, account-channel
auth, WebSocket connection and message limits, and the frozen_book fault."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import websockets
from fakevenue_support import ACCOUNT, auth_token, collect, create_info, send_tx, static_book
from websockets.exceptions import ConnectionClosed, InvalidStatus

from solbot.adapters.venues.fake_lighter import FakeLighterVenue, FakeVenueConfig

pytestmark = pytest.mark.integration


def config(**overrides: Any) -> FakeVenueConfig:
    base: dict[str, Any] = {"synthetic": True, "account_index": ACCOUNT}
    base.update(overrides)
    return FakeVenueConfig(**base)


async def test_trades_weigh_600_so_40_fit_a_minute_then_429_with_retry_after() -> None:
    async with (
        FakeLighterVenue(config(), events=static_book()) as fake,
        httpx.AsyncClient(base_url=fake.base_url) as client,
    ):
        params = {"sort_by": "timestamp", "limit": 100, "market_id": 2}
        codes = [(await client.get("/api/v1/trades", params=params)).status_code for _ in range(41)]
        assert codes[:40] == [200] * 40 and codes[40] == 429
        refused = await client.get("/api/v1/trades", params=params)
        assert 0 < float(refused.headers["Retry-After"]) <= 60
        nonce = await client.get(
            "/api/v1/nextNonce", params={"account_index": ACCOUNT, "api_key_index": 4}
        )
        assert nonce.status_code == 429  # the minute's 24000 weight is used up, by 40 requests
        state = (await client.get("/_fake/state")).json()["http"]
        assert state["weight_last_minute"] == 40 * 600 and state["requests_last_minute"] == 40


async def test_standard_tier_caps_requests_at_60_whatever_their_weight() -> None:
    async with (
        FakeLighterVenue(config(), events=static_book()) as fake,
        httpx.AsyncClient(base_url=fake.base_url) as client,
    ):
        params = {"account_index": ACCOUNT, "api_key_index": 4}
        codes = [
            (await client.get("/api/v1/nextNonce", params=params)).status_code for _ in range(61)
        ]
        assert codes.count(200) == 60 and codes[-1] == 429


async def test_order_latency_holds_a_create_before_it_rests() -> None:
    venue_config = config(order_latency_ms=200, cancel_latency_ms=200)
    async with (
        FakeLighterVenue(venue_config, events=static_book()) as fake,
        httpx.AsyncClient(base_url=fake.base_url) as client,
    ):
        started = time.monotonic()
        response = await send_tx(client, 14, create_info(0))
        assert response.status_code == 200, response.text
        assert time.monotonic() - started >= 0.2


async def test_require_auth_refuses_account_all_without_a_token() -> None:
    async with (
        FakeLighterVenue(config(require_auth=True), events=static_book()) as fake,
        websockets.connect(fake.ws_url) as ws,
    ):
        await ws.recv()  # connected
        await ws.send(json.dumps({"type": "subscribe", "channel": f"account_all/{ACCOUNT}"}))
        frames = await collect(ws, 0.3)
        errors = [f["error"] for f in frames if "error" in f]
        assert errors and errors[0]["code"] == 20001
        assert not any(f.get("type") == "subscribed/account_all" for f in frames)
        await ws.send(
            json.dumps(
                {"type": "subscribe", "channel": f"account_all/{ACCOUNT}", "auth": auth_token()}
            )
        )
        frames = await collect(ws, 0.3)
        assert any(f.get("type") == "subscribed/account_all" for f in frames)


async def test_websocket_connections_beyond_the_limit_are_refused() -> None:
    async with FakeLighterVenue(config(ws_connections_per_minute=2), events=static_book()) as fake:
        for _ in range(2):
            async with websockets.connect(fake.ws_url) as ws:
                await ws.recv()
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(fake.ws_url):
                pass
        assert refused.value.response.status_code == 429
        assert fake.hub is not None and fake.hub.connections_refused == 1


async def test_websocket_messages_beyond_the_limit_close_the_connection() -> None:
    async with (
        FakeLighterVenue(config(ws_messages_per_minute=3), events=static_book()) as fake,
        websockets.connect(fake.ws_url) as ws,
    ):
        await ws.recv()
        for _ in range(4):
            await ws.send(json.dumps({"type": "ping"}))
        with pytest.raises(ConnectionClosed):
            for _ in range(10):
                await asyncio.wait_for(ws.recv(), 2)


async def test_frozen_book_stops_book_frames_but_stats_keep_flowing() -> None:
    async with (
        FakeLighterVenue(config(speed=2.0)) as fake,
        websockets.connect(fake.ws_url) as ws,
        httpx.AsyncClient(base_url=fake.base_url) as client,
    ):
        await ws.recv()
        for channel in ("order_book/2", "market_stats/2"):
            await ws.send(json.dumps({"type": "subscribe", "channel": channel}))
        await collect(ws, 0.5)
        response = await client.post("/_fake/faults", json={"frozen_book": True})
        assert response.json()["faults"]["frozen_book"] is True
        await collect(ws, 0.1)  # frames already on their way
        kinds = {frame.get("type") for frame in await collect(ws, 1.5)}
        assert "update/order_book" not in kinds
        assert "update/market_stats" in kinds


async def test_close_after_greeting_greets_then_hangs_up() -> None:
    async with FakeLighterVenue(config(), events=static_book()) as fake:
        async with httpx.AsyncClient(base_url=fake.base_url) as client:
            await client.post("/_fake/faults", json={"close_after_greeting": True})
        async with websockets.connect(fake.ws_url) as ws:
            assert json.loads(await ws.recv())["type"] == "connected"
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 2)
