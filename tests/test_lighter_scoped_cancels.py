"""Cancels stay on our market: another strategy's orders on the same account survive.

Reconcile, shutdown and the dead-man switch each used to send an account-wide cancel-all (the
SDK's default market 255), and the dead-man schedule was left armed after a clean stop.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fakevenue_support import create_info, send_tx, static_book
from lighter_mini_venue import wait_for

from solbot.adapters.venues.fake_lighter import FakeLighterVenue, FakeVenueConfig
from solbot.adapters.venues.fake_lighter.settings import SOL_MARKET
from solbot.adapters.venues.lighter.settings import LighterSettings
from solbot.adapters.venues.lighter.signer import SigningError, UnsignedTestSigner
from solbot.adapters.venues.lighter.venue import LighterVenue
from solbot.adapters.venues.lighter.ws import WsSettings
from solbot.app.credentials import dead_man_switch_from_environment
from solbot.core.model import MarketSpec, OrderStatus, OrderUpdate, PlaceOrder, Side
from solbot.errors import ConfigError, UsageError

pytestmark = pytest.mark.integration
ACCOUNT = 11  # fakevenue_support's account
OUR_KEY = 4
OTHER_KEY = 6  # another strategy: same account, its own API key and nonces
ETH = MarketSpec("ETH", "lighter", 0, 2, 4, 0.005, 10.0)
MINUTE_NS = 60 * 1_000_000_000


@dataclass
class Clock:
    """Wall time plus an offset the test moves forward (the fake venue's clock)."""

    offset_ns: int = 0

    def __call__(self) -> int:
        return time.time_ns() + self.offset_ns


@pytest.fixture
async def clock_and_fake() -> AsyncIterator[tuple[Clock, FakeLighterVenue]]:
    clock = Clock()
    config = FakeVenueConfig(
        synthetic=True, account_index=ACCOUNT, tier="premium", other_markets=(ETH,)
    )
    async with FakeLighterVenue(config, events=static_book(), clock=clock) as fake:
        yield clock, fake


async def other_strategy_order(fake: FakeLighterVenue, nonce: int, **fields: Any) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        info = create_info(nonce, ApiKeyIndex=OTHER_KEY, **fields)
        response = await send_tx(client, 14, info)
        assert response.json()["code"] == 200, response.text


def other_market_statuses(fake: FakeLighterVenue) -> list[str]:
    return [order["status"] for order in fake.state()["other_market_orders"]]


async def start_venue(
    fake: FakeLighterVenue, events: list[Any], dead_man_switch: str = "schedule"
) -> LighterVenue:
    settings = LighterSettings(
        account_index=ACCOUNT,
        api_key_index=OUR_KEY,
        rest_url=fake.base_url,
        ws_url=fake.ws_url,
        market_id=SOL_MARKET.market_id,
        ws=WsSettings(ping_interval_s=0.5, silence_timeout_s=3, backoff_initial_s=0.02),
        dead_man_switch=dead_man_switch,
    )
    venue = LighterVenue(settings, UnsignedTestSigner(fake.base_url, ACCOUNT, OUR_KEY))
    await venue.start()

    async def collect() -> None:
        async for event in venue.events():
            events.append(event)

    _collectors.append(asyncio.create_task(collect()))
    return venue


_collectors: list[asyncio.Task[None]] = []


async def quote_and_arm(fake: FakeLighterVenue, venue: LighterVenue, events: list[Any]) -> None:
    venue.submit([PlaceOrder(101, Side.BID, 149_000, 80)], 0)
    await wait_for(
        lambda: any(isinstance(e, OrderUpdate) and e.status is OrderStatus.OPEN for e in events)
    )
    await wait_for(lambda: fake.state()["scheduled_cancel_all_ms"] is not None)


async def test_reconcile_shutdown_and_dead_man_leave_other_markets_alone(
    clock_and_fake: tuple[Clock, FakeLighterVenue],
) -> None:
    clock, fake = clock_and_fake
    # another strategy's ETH order, and a SOL order left over from an earlier run of ours
    await other_strategy_order(fake, 0, MarketIndex=ETH.market_id, Price=300_000, BaseAmount=100)
    await other_strategy_order(fake, 1, ClientOrderIndex=55, Price=140_000)
    events: list[Any] = []
    venue = await start_venue(fake, events)
    try:
        assert [o["status"] for o in fake.state()["orders"]] == ["canceled"]  # reconcile: ours
        assert other_market_statuses(fake) == ["open"]  # theirs stayed
        await quote_and_arm(fake, venue, events)
    finally:
        await venue.cancel_all_and_close()
    state = fake.state()
    assert state["active_orders"] == 0  # every order of ours on SOL is gone
    assert other_market_statuses(fake) == ["open"]
    assert state["scheduled_cancel_all_ms"] is None  # the clean stop aborted the schedule
    assert not venue.dead_man_armed
    assert state["txs"]["rejected"] == []
    clock.offset_ns = 10 * MINUTE_NS  # past the schedule (armed 6 min ahead)
    await asyncio.sleep(0.3)  # a few turns of the fake's market clock
    assert fake.state()["cancel_all_fired_ms"] == []
    assert other_market_statuses(fake) == ["open"]


async def test_a_stop_the_venue_refuses_keeps_the_dead_man_schedule(
    clock_and_fake: tuple[Clock, FakeLighterVenue],
) -> None:
    _, fake = clock_and_fake
    events: list[Any] = []
    venue = await start_venue(fake, events)
    try:
        await quote_and_arm(fake, venue, events)
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{fake.base_url}/_fake/faults", json={"rate_limit_after": 0}
            )
            assert answer.status_code == 200, answer.text
    finally:
        await venue.cancel_all_and_close()
    state = fake.state()
    assert state["active_orders"] == 1  # the cancel-all was refused: our order still rests
    assert state["scheduled_cancel_all_ms"] is not None  # so the dead-man switch stays armed
    assert venue.dead_man_armed


async def test_order_expiry_as_dead_man_switch_retires_only_our_orders(
    clock_and_fake: tuple[Clock, FakeLighterVenue],
) -> None:
    clock, fake = clock_and_fake
    await other_strategy_order(fake, 0, MarketIndex=ETH.market_id, Price=300_000, BaseAmount=100)
    events: list[Any] = []
    venue = await start_venue(fake, events, dead_man_switch="order_expiry")
    try:
        sent_ms = clock() // 1_000_000
        venue.submit([PlaceOrder(101, Side.BID, 149_000, 80)], 0)
        await wait_for(lambda: fake.state()["active_orders"] == 1)
        (ours,) = fake.state()["orders"]
        assert 0 <= ours["order_expiry"] - (sent_ms + 360_000) < 5_000  # dead_man_delay_s
        assert fake.state()["scheduled_cancel_all_ms"] is None  # nothing account-wide
        clock.offset_ns = 7 * MINUTE_NS  # solbot silent for 7 minutes, as if it had died
        await wait_for(lambda: fake.state()["active_orders"] == 0)
        assert [o["status"] for o in fake.state()["orders"]] == ["canceled-expired"]
        assert other_market_statuses(fake) == ["open"]
        await wait_for(
            lambda: any(
                isinstance(e, OrderUpdate) and e.status is OrderStatus.CANCELED for e in events
            )
        )  # and solbot hears of it, so its order manager places the quote again
    finally:
        await venue.cancel_all_and_close()
    assert fake.state()["txs"]["rejected"] == []


def test_a_scoped_cancel_all_names_our_market_and_only_an_immediate_one_can() -> None:
    signer = UnsignedTestSigner("http://127.0.0.1:1", ACCOUNT, OUR_KEY)
    scoped = json.loads(signer.sign_cancel_all(0, 0, 1, SOL_MARKET.market_id).tx_info)
    assert scoped["L2TxAttributes"] == {"5": SOL_MARKET.market_id}
    assert json.loads(signer.sign_cancel_all(2, 0, 2).tx_info)["L2TxAttributes"] is None
    with pytest.raises(SigningError):  # as the native signer: no scheduled one per market
        signer.sign_cancel_all(1, 10**13, 3, SOL_MARKET.market_id)


def test_an_unknown_dead_man_switch_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="dead_man_switch 'sometimes'"):
        LighterSettings(account_index=ACCOUNT, api_key_index=OUR_KEY, dead_man_switch="sometimes")


def test_the_dead_man_switch_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOLBOT_DEAD_MAN_SWITCH", raising=False)
    assert dead_man_switch_from_environment() == "schedule"
    monkeypatch.setenv("SOLBOT_DEAD_MAN_SWITCH", "order_expiry")
    assert dead_man_switch_from_environment() == "order_expiry"
    monkeypatch.setenv("SOLBOT_DEAD_MAN_SWITCH", "never")
    with pytest.raises(UsageError, match="SOLBOT_DEAD_MAN_SWITCH='never'"):
        dead_man_switch_from_environment()
