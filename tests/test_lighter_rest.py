"""REST client over httpx.MockTransport: spec parsing, paging, auth, budget and error mapping."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from lighter_support import ACCOUNT, order_book_details_row, trade

from solbot.adapters.venues.lighter.budget import Priority, RequestBudget
from solbot.adapters.venues.lighter.errors import (
    LighterError,
    NonceError,
    RateLimited,
    TransportError,
)
from solbot.adapters.venues.lighter.rest import LighterRest

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, budget: RequestBudget | None = None, **kwargs: Any) -> LighterRest:
    transport = httpx.MockTransport(handler)
    http = httpx.AsyncClient(base_url="http://127.0.0.1:1", transport=transport)
    return LighterRest(
        "http://127.0.0.1:1",
        budget or RequestBudget(60),
        client=http,
        monotonic=lambda: 100.0,
        auth_token=lambda: "123:411813:4:abcd",
        **kwargs,
    )


def details(row: dict[str, Any]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/orderBookDetails"
        body = {"code": 200, "order_book_details": [row], "spot_order_book_details": []}
        return httpx.Response(200, json=body)

    return handle


async def test_market_spec_comes_from_order_book_details() -> None:
    rest = client(details(order_book_details_row() | {"maker_fee": "0.0040"}))
    spec = await rest.market_spec(2)
    assert (spec.symbol, spec.market_id, spec.price_decimals, spec.size_decimals) == (
        "SOL",
        2,
        3,
        3,
    )
    assert (spec.min_base_amount, spec.min_quote_amount) == (0.05, 10.0)
    assert spec.maker_fee_bps == pytest.approx(0.4) and spec.min_lots_at(150_000) == 67
    assert rest.spec_warnings == [] and rest.requests_sent == 1


async def test_decimals_disagreeing_with_supported_ones_are_reported() -> None:
    rest = client(details(order_book_details_row() | {"supported_price_decimals": 2}))
    spec = await rest.market_spec(2)
    assert spec.price_decimals == 3 and "supported_price_decimals 2" in rest.spec_warnings[0]


async def test_missing_market_or_field_is_an_error() -> None:
    with pytest.raises(LighterError, match="no perp market 7"):
        await client(details(order_book_details_row())).market_spec(7)
    row = order_book_details_row()
    del row["min_base_amount"]
    with pytest.raises(LighterError, match="min_base_amount"):
        await client(details(row)).market_spec(2)


async def test_send_tx_batch_posts_json_encoded_lists() -> None:
    seen: dict[str, Any] = {}

    def handle(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        seen["types"] = json.loads(form["tx_types"][0])
        seen["infos"] = json.loads(form["tx_infos"][0])
        return httpx.Response(200, json={"code": 200, "tx_hash": ["a", "b"]})

    rest = client(handle)
    body = await rest.send_tx_batch([14, 15], ['{"Nonce":1}', '{"Nonce":2}'], Priority.QUOTE)
    assert body["tx_hash"] == ["a", "b"]
    assert seen == {"types": [14, 15], "infos": ['{"Nonce":1}', '{"Nonce":2}']}
    with pytest.raises(ValueError):
        await rest.send_tx_batch([14] * 51, ["{}"] * 51, Priority.QUOTE)


async def test_errors_are_typed_and_429_starts_the_firewall_cooldown() -> None:
    answers = iter(
        [
            httpx.Response(400, json={"code": 21104, "message": "invalid nonce"}),
            httpx.Response(429, text="Too Many Requests"),
        ]
    )
    budget = RequestBudget(60, cooldown_s=60)
    rest = client(lambda request: next(answers), budget)
    with pytest.raises(NonceError):
        await rest.send_tx(14, "{}", Priority.QUOTE)
    with pytest.raises(RateLimited):
        await rest.send_tx(14, "{}", Priority.QUOTE)
    assert budget.remaining(159.0) == 0 and budget.remaining(160.0) == 60  # stamps aged out


async def test_transport_failure_is_a_transport_error() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(TransportError):
        await client(handle).next_nonce(ACCOUNT, 4)


async def test_every_request_spends_budget_and_waits_when_exhausted() -> None:
    slept: list[float] = []
    now = [100.0]

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    budget = RequestBudget(5, quote_reserve=2, query_reserve=1)
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"code": 200, "nonce": 3}))
    http = httpx.AsyncClient(base_url="http://127.0.0.1:1", transport=transport)
    rest = LighterRest(
        "http://127.0.0.1:1", budget, client=http, monotonic=lambda: now[0], sleep=sleep
    )
    for _ in range(5):
        assert await rest.next_nonce(ACCOUNT, 4) == 3  # nextNonce uses the cancel priority
    assert slept == []
    assert await rest.next_nonce(ACCOUNT, 4) == 3
    assert slept == [pytest.approx(60.0)] and budget.spent_total == 6


async def test_private_reads_carry_the_auth_header_and_trades_page_by_cursor() -> None:
    pages = {
        None: ([trade(5, ts_ms=5_000), trade(4, ts_ms=4_000)], "c1"),
        "c1": ([trade(3, ts_ms=3_000), trade(2, ts_ms=2_000)], "c2"),
        "c2": ([trade(1, ts_ms=1_000)], None),
    }
    headers: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers["authorization"])
        assert request.url.params["sort_dir"] == "desc"
        page, cursor = pages[request.url.params.get("cursor")]
        return httpx.Response(200, json={"code": 200, "trades": page, "next_cursor": cursor})

    rest = client(handle)
    everything = await rest.trades(ACCOUNT, 2)
    assert [t["trade_id"] for t in everything] == [5, 4, 3, 2, 1]
    recent = await rest.trades(ACCOUNT, 2, since_ms=3_500)
    assert [t["trade_id"] for t in recent] == [5, 4]  # stops paging once past since_ms
    assert set(headers) == {"123:411813:4:abcd"} and len(headers) == 5
