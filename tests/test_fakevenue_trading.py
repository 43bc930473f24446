"""Fake Lighter venue: signed txs, matching against the recorded market, REST reads, limits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from fakevenue_support import (
    ACCOUNT,
    KEY,
    auth_token,
    cancel_all_info,
    cancel_info,
    create_info,
    modify_info,
    now_ms,
    recorded_chunk,
    recv_until,
    send_tx,
    static_book,
    subscribe,
)

from solbot.adapters.venues.fake_lighter import FakeLighterVenue, FakeVenueConfig
from solbot.adapters.venues.fake_lighter.feed import RecordedFeed
from solbot.core.model import MarketSpec

pytestmark = pytest.mark.integration


def config(**overrides: Any) -> FakeVenueConfig:
    base: dict[str, Any] = {
        "synthetic": True,
        "account_index": ACCOUNT,
        "tier": "premium",
        "min_scheduled_cancel_ms": 0,
    }
    base.update(overrides)
    return FakeVenueConfig(**base)


@pytest.fixture
async def venue() -> AsyncIterator[FakeLighterVenue]:
    async with FakeLighterVenue(config(), events=static_book()) as fake:
        yield fake


@pytest.fixture
async def client(venue: FakeLighterVenue) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=venue.base_url, timeout=5) as http:
        yield http


async def next_nonce(client: httpx.AsyncClient) -> int:
    response = await client.get(
        "/api/v1/nextNonce", params={"account_index": ACCOUNT, "api_key_index": KEY}
    )
    assert response.status_code == 200
    return int(response.json()["nonce"])


async def orders_by_client(venue: FakeLighterVenue) -> dict[int, dict[str, Any]]:
    return {o["client_order_index"]: o for o in venue.state()["orders"]}


async def test_nonce_must_match_and_is_consumed_only_on_success(
    client: httpx.AsyncClient, venue: FakeLighterVenue
) -> None:
    assert await next_nonce(client) == 0
    wrong = await send_tx(client, 14, create_info(5, ClientOrderIndex=1))
    assert wrong.status_code == 400 and wrong.json()["code"] == 21104
    assert await next_nonce(client) == 0
    right = await send_tx(client, 14, create_info(0, ClientOrderIndex=1))
    assert right.status_code == 200, right.text
    body = right.json()
    assert body["code"] == 200 and len(body["tx_hash"]) == 80
    assert await next_nonce(client) == 1
    replay = await send_tx(client, 14, create_info(0, ClientOrderIndex=2))
    assert replay.json()["code"] == 21104
    assert venue.state()["nonces"] == {str(KEY): 1}


async def test_nonce_error_once_rejects_a_correct_nonce_once(
    client: httpx.AsyncClient, venue: FakeLighterVenue
) -> None:
    response = await client.post("/_fake/faults", json={"nonce_error_once": True})
    assert response.json()["faults"]["nonce_error_once"] is True
    first = await send_tx(client, 14, create_info(0))
    assert first.status_code == 400 and first.json()["code"] == 21104
    assert await next_nonce(client) == 0  # an API-layer refusal keeps the nonce
    second = await send_tx(client, 14, create_info(0))
    assert second.status_code == 200
    assert venue.state()["faults"]["nonce_error_once"] is False


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"BaseAmount": 49}, 21706),  # below 0.050 SOL
        ({"BaseAmount": 60, "Price": 150_000}, 21706),  # 0.060 SOL * 150 = $9 < $10
        ({"Price": 0}, 21702),
        ({"MarketIndex": 0}, 21602),
        ({"AccountIndex": ACCOUNT + 1}, 21102),
        ({"TimeInForce": 2, "OrderExpiry": 0}, 21711),  # post-only needs an expiry
        ({"TimeInForce": 0, "OrderExpiry": -1}, 21711),  # IOC needs 0
        ({"TimeInForce": 1, "OrderExpiry": "soon"}, 21501),
        ({"ClientOrderIndex": 2**48}, 21727),
        ({"ReduceOnly": 1}, 21732),  # flat: any reduce-only would increase the position
        ({"ExpiredAt": 1}, 21000),
        ({"Type": 2}, 21710),
    ],
)
async def test_refusals_carry_lighter_codes(
    client: httpx.AsyncClient, venue: FakeLighterVenue, fields: dict[str, Any], code: int
) -> None:
    response = await send_tx(client, 14, create_info(0, **fields))
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert await next_nonce(client) == 0
    assert venue.state()["txs"]["rejected"][-1]["code"] == code


async def test_expiry_near_five_minutes_is_the_boundary(client: httpx.AsyncClient) -> None:
    too_soon = await send_tx(
        client, 14, create_info(0, TimeInForce=1, OrderExpiry=now_ms() + 60_000)
    )
    assert too_soon.json()["code"] == 21711
    ok = await send_tx(client, 14, create_info(0, TimeInForce=1, OrderExpiry=now_ms() + 360_000))
    assert ok.status_code == 200


async def test_duplicate_client_order_index_only_while_active(
    client: httpx.AsyncClient, venue: FakeLighterVenue
) -> None:
    assert (await send_tx(client, 14, create_info(0, ClientOrderIndex=77))).status_code == 200
    duplicate = await send_tx(client, 14, create_info(1, ClientOrderIndex=77, Price=149_980))
    assert duplicate.json()["code"] == 21728
    assert (await send_tx(client, 15, cancel_info(1, 77))).status_code == 200
    again = await send_tx(client, 14, create_info(2, ClientOrderIndex=77, Price=149_980))
    assert again.status_code == 200
    statuses = [o["status"] for o in venue.state()["orders"] if o["client_order_index"] == 77]
    assert statuses == ["canceled", "open"]


async def test_post_only_cross_is_accepted_then_canceled(
    venue: FakeLighterVenue, client: httpx.AsyncClient
) -> None:
    async with websockets.connect(venue.ws_url) as ws:
        await subscribe(ws, f"account_all/{ACCOUNT}")
        response = await send_tx(client, 14, create_info(0, ClientOrderIndex=5, Price=150_010))
        assert response.status_code == 200  # the engine, not the API, refuses a cross
        frame = await recv_until(ws, lambda f: f.get("type") == "update/account_all")
    assert frame["orders"]["2"][0]["status"] == "canceled-post-only"
    assert await next_nonce(client) == 1  # accepted txs consume their nonce
    assert (await orders_by_client(venue))[5]["status"] == "canceled-post-only"


async def test_cancel_by_either_index_and_modify(
    venue: FakeLighterVenue, client: httpx.AsyncClient
) -> None:
    for nonce, coi in enumerate((1, 2)):
        assert (await send_tx(client, 14, create_info(nonce, ClientOrderIndex=coi))).is_success
    orders = await orders_by_client(venue)
    modified = await send_tx(client, 17, modify_info(2, orders[1]["order_index"], 149_950, 200))
    assert modified.status_code == 200
    orders = await orders_by_client(venue)
    assert orders[1]["price"] == "149.950" and orders[1]["remaining_base_amount"] == "0.200"
    assert (await send_tx(client, 15, cancel_info(3, orders[1]["order_index"]))).is_success
    assert (await send_tx(client, 15, cancel_info(4, 2))).is_success  # by client order index
    gone = await send_tx(client, 15, cancel_info(5, orders[1]["order_index"]))
    assert gone.json()["code"] == 21709  # known order, no longer active
    retired_client_index = await send_tx(client, 15, cancel_info(5, 2))
    assert retired_client_index.json()["code"] == 21600  # COIs name active orders only
    assert [o["status"] for o in (await orders_by_client(venue)).values()] == ["canceled"] * 2


async def test_cancel_all_immediate_scheduled_and_abort(
    venue: FakeLighterVenue, client: httpx.AsyncClient
) -> None:
    for nonce in range(2):
        info = create_info(nonce, ClientOrderIndex=nonce + 1, Price=149_980 - nonce)
        assert (await send_tx(client, 14, info)).is_success
    assert (await send_tx(client, 16, cancel_all_info(2, 0))).is_success
    assert venue.state()["active_orders"] == 0
    assert (await send_tx(client, 14, create_info(3, ClientOrderIndex=3))).is_success
    aborted_at = now_ms() + 200
    assert (await send_tx(client, 16, cancel_all_info(4, 1, aborted_at))).is_success
    assert (await send_tx(client, 16, cancel_all_info(5, 2))).is_success
    assert venue.state()["scheduled_cancel_all_ms"] is None
    fire_at = now_ms() + 300
    assert (await send_tx(client, 16, cancel_all_info(6, 1, fire_at))).is_success
    assert venue.state()["scheduled_cancel_all_ms"] == fire_at
    await _wait(lambda: venue.state()["active_orders"] == 0, 3)
    state = venue.state()
    assert state["cancel_all_fired_ms"] and state["cancel_all_fired_ms"][0] >= fire_at
    assert state["scheduled_cancel_all_ms"] is None
    bad_time = await send_tx(client, 16, cancel_all_info(7, 0, now_ms()))
    assert bad_time.json()["code"] == 21714


async def test_scheduled_cancel_all_respects_the_configured_minimum() -> None:
    async with (
        FakeLighterVenue(config(min_scheduled_cancel_ms=300_000), events=static_book()) as fake,
        httpx.AsyncClient(base_url=fake.base_url) as client,
    ):
        soon = await send_tx(client, 16, cancel_all_info(0, 1, now_ms() + 60_000))
        assert soon.json()["code"] == 21714
        later = await send_tx(client, 16, cancel_all_info(0, 1, now_ms() + 301_000))
        assert later.status_code == 200


async def test_batch_is_all_or_nothing(venue: FakeLighterVenue, client: httpx.AsyncClient) -> None:
    bad = [create_info(0, ClientOrderIndex=1), create_info(1, ClientOrderIndex=2, BaseAmount=1)]
    response = await client.post(
        "/api/v1/sendTxBatch",
        data={
            "tx_types": json.dumps([14, 14]),
            "tx_infos": json.dumps([json.dumps(i) for i in bad]),
        },
    )
    assert response.status_code == 400
    assert response.json()["code"] == 21706 and response.json()["message"].startswith("tx 1:")
    assert venue.state()["orders"] == [] and await next_nonce(client) == 0
    gap = [create_info(0), create_info(2, Price=149_980)]
    response = await client.post(
        "/api/v1/sendTxBatch",
        data={
            "tx_types": json.dumps([14, 14]),
            "tx_infos": json.dumps([json.dumps(i) for i in gap]),
        },
    )
    assert response.json()["code"] == 21105
    good = [
        create_info(0, ClientOrderIndex=1),
        cancel_info(1, 1),
        create_info(2, ClientOrderIndex=1, Price=149_970),
    ]
    response = await client.post(
        "/api/v1/sendTxBatch",
        data={
            "tx_types": json.dumps([14, 15, 14]),
            "tx_infos": json.dumps([json.dumps(i) for i in good]),
        },
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["tx_hash"]) == 3
    assert await next_nonce(client) == 3
    statuses = [(o["client_order_index"], o["status"]) for o in venue.state()["orders"]]
    assert statuses == [(1, "canceled"), (1, "open")]


async def test_resting_bid_fills_when_the_recorded_market_trades_through_it() -> None:
    # A BTC-like recording around 60000.000 (in 0.001 ticks), rescaled so it starts at 150.
    chunk = recorded_chunk(
        [
            (0.0, 0, 59_996_000, 2_000, 60_004_000, 0),
            (0.2, 1, 60_004_000, 100, 0, 1),
            (1.2, 1, 59_960_000, 1_000, 0, -1),  # a sell 6.7 bps below the bid: trades through us
            (1.3, 0, 59_950_000, 2_000, 59_970_000, 0),
        ]
    )
    feed = RecordedFeed(lambda: [chunk], 150_000, min_spread_ticks=5)
    async with (
        FakeLighterVenue(config(), events=feed) as fake,
        websockets.connect(fake.ws_url) as ws,
        httpx.AsyncClient(base_url=fake.base_url) as client,
    ):
        snapshot = await subscribe(ws, "order_book/2")
        best_bid = snapshot["order_book"]["bids"][0]["price"]
        assert best_bid == "149.990"  # 59996 * 150/60000
        await subscribe(ws, "trade/2")
        await subscribe(ws, f"account_all/{ACCOUNT}")
        placed = await send_tx(client, 14, create_info(0, ClientOrderIndex=42, Price=149_990))
        assert placed.status_code == 200
        account = await recv_until(
            ws, lambda f: f.get("type") == "update/account_all" and f["trades"], timeout=4
        )
        trades = await recv_until(
            ws,
            lambda f: (
                f.get("type") == "update/trade"
                and any(t["bid_account_id"] == ACCOUNT for t in f["trades"])
            ),
        )
    ours = account["trades"]["2"][0]
    assert ours["price"] == "149.990" and ours["size"] == "0.100"
    assert ours["bid_account_id"] == ACCOUNT and ours["ask_account_id"] != ACCOUNT
    assert ours["is_maker_ask"] is False  # we rested the bid: the maker was the bid side
    assert ours["bid_client_id"] == 42
    assert [t["trade_id"] for t in trades["trades"]][-1] == ours["trade_id"]
    position = account["positions"]["2"]
    assert (position["sign"], position["position"]) == (1, "0.100")
    assert account["orders"]["2"][0]["status"] == "filled"
    state = fake.state()
    assert [fill["trade_id"] for fill in state["fills"]] == [ours["trade_id"]]
    assert state["position"]["lots"] == 100 and state["anomalies"] == []
    ids = [t["trade_id"] for t in trades["trades"]]
    assert ids == sorted(set(ids)) and state["last_trade_id"] >= ours["trade_id"]


async def test_account_snapshot_replays_history_and_short_positions_have_sign(
    venue: FakeLighterVenue, client: httpx.AsyncClient
) -> None:
    # An IOC sell crossing the static bid (149.990 x 10 SOL) fills at once as taker.
    info = create_info(
        0, ClientOrderIndex=9, IsAsk=1, TimeInForce=0, OrderExpiry=0, Price=149_900, BaseAmount=300
    )
    assert (await send_tx(client, 14, info)).status_code == 200
    async with websockets.connect(venue.ws_url) as ws:
        snapshot = await subscribe(ws, f"account_all/{ACCOUNT}")
    trade = snapshot["trades"]["2"][0]
    assert trade["ask_account_id"] == ACCOUNT and trade["is_maker_ask"] is False
    assert trade["price"] == "149.990" and trade["size"] == "0.300"
    position = snapshot["positions"]["2"]
    assert (position["sign"], position["position"]) == (-1, "0.300")
    assert snapshot["orders"]["2"] == []  # the IOC is done: not an active order


async def test_rate_limit_after_n_answers_429(
    venue: FakeLighterVenue, client: httpx.AsyncClient
) -> None:
    await client.post("/_fake/faults", json={"rate_limit_after": 3})
    codes = [(await client.get("/api/v1/orderBooks")).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    refused = await client.get("/api/v1/orderBooks")
    assert refused.json() == {"code": 23000, "message": "Too Many Requests!"}
    await client.post("/_fake/faults", json={"rate_limit_after": None})
    assert (await client.get("/api/v1/orderBooks")).status_code == 200
    assert venue.state()["http"]["refused_429"] == 3


async def test_standard_tier_allows_60_requests_per_rolling_minute() -> None:
    shift = [0]

    def clock() -> int:
        return time.time_ns() + shift[0]

    async with (
        FakeLighterVenue(config(tier="standard"), events=static_book(), clock=clock) as fake,
        httpx.AsyncClient(base_url=fake.base_url) as client,
    ):
        codes = [(await client.get("/api/v1/orderBooks")).status_code for _ in range(61)]
        assert codes.count(200) == 60 and codes[-1] == 429
        shift[0] = 61 * 10**9  # a minute later the window is empty again
        assert (await client.get("/api/v1/orderBooks")).status_code == 200


async def test_delay_ms_slows_rest_answers(
    venue: FakeLighterVenue, client: httpx.AsyncClient
) -> None:
    await client.post("/_fake/faults", json={"delay_ms": 300})
    started = time.monotonic()
    assert (await client.get("/api/v1/orderBooks")).status_code == 200
    assert time.monotonic() - started >= 0.3
    bad = await client.post("/_fake/faults", json={"delay_ms": -1})
    assert bad.status_code == 400 and "delay_ms" in bad.json()["error"]


async def test_market_reads(client: httpx.AsyncClient) -> None:
    details = (await client.get("/api/v1/orderBookDetails")).json()["order_book_details"][0]
    assert (details["symbol"], details["market_id"]) == ("SOL", 2)
    assert (details["size_decimals"], details["price_decimals"]) == (3, 3)
    assert (details["min_base_amount"], details["min_quote_amount"]) == ("0.050", "10.000000")
    books = (await client.get("/api/v1/orderBooks", params={"market_id": 2})).json()
    assert books["order_books"][0]["symbol"] == "SOL"
    orders = (
        await client.get("/api/v1/orderBookOrders", params={"market_id": 2, "limit": 2})
    ).json()
    assert orders["asks"][0]["price"] == "150.010" and orders["bids"][0]["price"] == "149.990"
    assert len(orders["asks"]) == 2
    missing = await client.get("/api/v1/orderBookOrders", params={"market_id": 2})
    assert missing.status_code == 400 and missing.json()["code"] == 20001


async def test_account_reads_need_a_live_token(client: httpx.AsyncClient) -> None:
    await send_tx(client, 14, create_info(0, ClientOrderIndex=3))
    params = {"account_index": ACCOUNT}
    missing = await client.get("/api/v1/accountActiveOrders", params=params)
    assert missing.status_code == 400 and missing.json()["code"] == 20001
    expired = await client.get(
        "/api/v1/accountActiveOrders",
        params=params,
        headers={"authorization": auth_token(lifetime_s=-5)},
    )
    assert "expired" in expired.json()["message"]
    active = await client.get(
        "/api/v1/accountActiveOrders", params=params, headers={"authorization": auth_token()}
    )
    assert [o["client_order_index"] for o in active.json()["orders"]] == [3]
    by_query = await client.get(
        "/api/v1/accountInactiveOrders", params={**params, "limit": 10, "auth": auth_token()}
    )
    assert by_query.json()["orders"] == []
    account = (await client.get("/api/v1/account", params={"by": "index", "value": ACCOUNT})).json()
    assert account["accounts"][0]["index"] == ACCOUNT
    assert account["accounts"][0]["positions"][0]["position"] == "0.000"
    keys = (
        await client.get("/api/v1/apikeys", params={"account_index": ACCOUNT, "api_key_index": KEY})
    ).json()
    assert keys["api_keys"][0]["nonce"] == 1


async def test_account_trades_page_with_a_cursor(client: httpx.AsyncClient) -> None:
    for nonce in range(3):  # three IOC sells into the static bid: three fills
        info = create_info(nonce, IsAsk=1, TimeInForce=0, OrderExpiry=0, Price=149_000)
        assert (await send_tx(client, 14, info)).status_code == 200
    params = {"sort_by": "trade_id", "limit": 2, "account_index": ACCOUNT, "sort_dir": "asc"}
    first = (await client.get("/api/v1/trades", params=params)).json()
    second = (
        await client.get("/api/v1/trades", params={**params, "cursor": first["next_cursor"]})
    ).json()
    ids = [t["trade_id"] for t in first["trades"] + second["trades"]]
    assert len(ids) == 3 and ids == sorted(set(ids)) and "next_cursor" not in second
    other = (
        await client.get("/api/v1/trades", params={**params, "account_index": ACCOUNT + 1})
    ).json()
    assert other["trades"] == []


async def test_send_tx_over_the_websocket(venue: FakeLighterVenue) -> None:
    async with websockets.connect(venue.ws_url) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "jsonapi/sendtx",
                    "data": {
                        "id": "r1",
                        "tx_type": 14,
                        "tx_info": create_info(0, ClientOrderIndex=8),
                    },
                }
            )
        )
        reply = await recv_until(ws, lambda f: f.get("type") == "jsonapi/sendtx")
        assert reply["data"]["id"] == "r1" and reply["data"]["code"] == 200
        await ws.send(
            json.dumps(
                {
                    "type": "jsonapi/sendtx",
                    "data": {"id": "r2", "tx_type": 14, "tx_info": json.dumps(create_info(0))},
                }
            )
        )
        refused = await recv_until(ws, lambda f: f.get("type") == "jsonapi/sendtx")
    assert refused["data"]["code"] == 21104 and refused["error"]["code"] == 21104
    assert venue.state()["active_orders"] == 1


async def _wait(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_other_markets_of_the_account_and_the_scope_of_cancel_all() -> None:
    eth = MarketSpec("ETH", "lighter", 0, 2, 4, 0.005, 10.0)
    async with (
        FakeLighterVenue(config(other_markets=(eth,)), events=static_book()) as fake,
        httpx.AsyncClient(base_url=fake.base_url) as client,
    ):
        eth_order = {"MarketIndex": 0, "Price": 300_000, "BaseAmount": 100}
        assert (
            await send_tx(client, 14, create_info(0, ClientOrderIndex=7, **eth_order))
        ).is_success
        assert (await send_tx(client, 14, create_info(1, ClientOrderIndex=8))).is_success
        sol_only = cancel_all_info(2, 0) | {"L2TxAttributes": {"5": 2}}
        assert (await send_tx(client, 16, sol_only)).is_success
        state = fake.state()
        assert state["active_orders"] == 0
        assert [o["status"] for o in state["other_market_orders"]] == ["open"]
        headers = {"authorization": auth_token()}
        params = {"account_index": str(ACCOUNT), "market_id": "0"}
        listed = await client.get("/api/v1/accountActiveOrders", params=params, headers=headers)
        assert [o["client_order_index"] for o in listed.json()["orders"]] == [7]
        scheduled = cancel_all_info(3, 1, now_ms() + 60_000) | {"L2TxAttributes": {"5": 0}}
        assert (await send_tx(client, 16, scheduled)).json()["code"] == 21713
        assert (await send_tx(client, 16, cancel_all_info(3, 0))).is_success  # every market
        assert [o["status"] for o in fake.state()["other_market_orders"]] == ["canceled"]


async def test_the_scheduled_cancel_all_covers_every_market_of_the_account() -> None:
    eth = MarketSpec("ETH", "lighter", 0, 2, 4, 0.005, 10.0)
    async with (
        FakeLighterVenue(config(other_markets=(eth,)), events=static_book()) as fake,
        httpx.AsyncClient(base_url=fake.base_url) as client,
    ):
        eth_order = create_info(0, MarketIndex=0, Price=300_000, BaseAmount=100)
        assert (await send_tx(client, 14, eth_order)).is_success
        assert (await send_tx(client, 16, cancel_all_info(1, 1, now_ms() + 200))).is_success
        await _wait(lambda: fake.state()["cancel_all_fired_ms"], 3)
        assert [o["status"] for o in fake.state()["other_market_orders"]] == ["canceled"]
