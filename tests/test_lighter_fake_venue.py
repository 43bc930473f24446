"""LighterVenue against the shared loopback fake venue (fake_lighter), with its fault knobs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from lighter_mini_venue import wait_for

from solbot.adapters.venues.fake_lighter.server import FakeLighterVenue
from solbot.adapters.venues.fake_lighter.settings import FakeVenueConfig
from solbot.adapters.venues.lighter.settings import LighterSettings
from solbot.adapters.venues.lighter.signer import UnsignedTestSigner
from solbot.adapters.venues.lighter.venue import LighterVenue
from solbot.adapters.venues.lighter.ws import WsSettings
from solbot.core.model import (
    BookTop,
    CancelOrder,
    FeedStatus,
    ModifyOrder,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    PositionSnapshot,
    Side,
    TradePrint,
)

pytestmark = pytest.mark.integration
ACCOUNT = 7


@pytest.fixture
async def fake() -> AsyncIterator[FakeLighterVenue]:
    config = FakeVenueConfig(synthetic=True, seed=3, account_index=ACCOUNT, ping_interval_s=1.0)
    async with FakeLighterVenue(config) as venue:
        yield venue


class Session:
    def __init__(self, venue: LighterVenue) -> None:
        self.venue = venue
        self.events: list[Any] = []
        self.task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for event in self.venue.events():
            self.events.append(event)

    def statuses(self, client_id: int) -> list[OrderStatus]:
        return [
            e.status for e in self.events if isinstance(e, OrderUpdate) and e.client_id == client_id
        ]

    def last_top(self) -> BookTop:
        return [e for e in self.events if isinstance(e, BookTop)][-1]


async def open_session(fake: FakeLighterVenue) -> Session:
    settings = LighterSettings(
        account_index=ACCOUNT,
        api_key_index=4,
        rest_url=fake.base_url,
        ws_url=fake.ws_url,
        ws=WsSettings(ping_interval_s=0.5, silence_timeout_s=3, backoff_initial_s=0.02),
    )
    venue = LighterVenue(settings, UnsignedTestSigner(fake.base_url, ACCOUNT, 4))
    await venue.start()
    session = Session(venue)
    await wait_for(
        lambda: venue.health()["book_valid"] and any(isinstance(e, BookTop) for e in session.events)
    )
    return session


async def fault(fake: FakeLighterVenue, **knobs: Any) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{fake.base_url}/_fake/faults", json=knobs)
        assert response.status_code == 200, response.text


async def fake_state(fake: FakeLighterVenue) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{fake.base_url}/_fake/state")).json()


async def test_quote_modify_cancel_and_close(fake: FakeLighterVenue) -> None:
    session = await open_session(fake)
    try:
        assert isinstance(session.events[0], PositionSnapshot)
        top = session.last_top()
        assert 0 < top.bid_price < top.ask_price
        price = top.bid_price - 500  # 0.5 USD below the bid: rests
        session.venue.submit([PlaceOrder(101, Side.BID, price, 80)], 0)
        await wait_for(lambda: OrderStatus.OPEN in session.statuses(101))
        session.venue.submit([ModifyOrder(101, price - 100, 90)], 0)
        await wait_for(lambda: session.venue.orders.get(101) is not None
                       and session.venue.orders.get(101).price == price - 100)  # fmt: skip
        session.venue.submit([CancelOrder(101)], 0)
        await wait_for(lambda: OrderStatus.CANCELED in session.statuses(101))
        session.venue.submit([PlaceOrder(102, Side.ASK, top.ask_price + 500, 80)], 0)
        await wait_for(lambda: OrderStatus.OPEN in session.statuses(102))
    finally:
        await session.venue.cancel_all_and_close()
        await asyncio.wait_for(session.task, 5)
    state = await fake_state(fake)
    assert state["active_orders"] == 0 and state["anomalies"] == []
    assert state["txs"]["rejected"] == []  # every tx we sent passed the fake's checks
    # the dead-man switch was armed, and the clean stop aborted it (it is account-wide)
    assert session.venue.counters()["tx_sent"] >= 5 and not session.venue.dead_man_armed
    assert state["scheduled_cancel_all_ms"] is None and state["cancel_all_fired_ms"] == []


async def test_faults_drop_gap_and_nonce_are_recovered(fake: FakeLighterVenue) -> None:
    session = await open_session(fake)
    venue = session.venue
    try:
        await fault(fake, drop_socket=True)
        await wait_for(lambda: venue.counters()["reconnects"] >= 1 and venue.health()["book_valid"])
        await fault(fake, skip_book_nonce=1)
        await wait_for(lambda: venue.counters()["resyncs"] >= 1 and venue.health()["book_valid"])
        await fault(fake, nonce_error_once=True)
        price = session.last_top().bid_price - 500
        venue.submit([PlaceOrder(201, Side.BID, price, 80)], 0)
        await wait_for(lambda: OrderStatus.OPEN in session.statuses(201))
        assert venue.counters()["nonce_resyncs"] == 1
        assert any(isinstance(e, FeedStatus) and not e.connected for e in session.events)
        prints = lambda: [e.trade_id for e in session.events if isinstance(e, TradePrint)]  # noqa: E731
        await wait_for(lambda: len(prints()) >= 3)
        await fault(fake, resend_old_trades=5)
        await wait_for(lambda: venue.counters()["duplicate_trades"] >= 3)  # ≥ 3 trades existed
        assert len(prints()) == len(set(prints()))  # re-sent trades are not new prints
    finally:
        await venue.cancel_all_and_close()
        await asyncio.wait_for(session.task, 5)
    assert (await fake_state(fake))["active_orders"] == 0
