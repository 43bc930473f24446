"""The account stream (our fills) against the loopback fake venue: auth token, refusal, silence,
and fills read back from REST while it was down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from lighter_mini_venue import wait_for

from solbot.adapters.venues.fake_lighter.server import FakeLighterVenue
from solbot.adapters.venues.fake_lighter.settings import FakeVenueConfig
from solbot.adapters.venues.lighter.account_stream import AccountState, AccountStream
from solbot.adapters.venues.lighter.settings import LighterSettings
from solbot.adapters.venues.lighter.signer import UnsignedTestSigner
from solbot.adapters.venues.lighter.venue import LighterVenue
from solbot.adapters.venues.lighter.ws import WsSettings
from solbot.core.model import BookTop, FeedStatus, Fill, PlaceOrder, Side

pytestmark = pytest.mark.integration
ACCOUNT = 7
CHANNEL = f"account_all/{ACCOUNT}"


@pytest.fixture
async def fake() -> AsyncIterator[FakeLighterVenue]:
    config = FakeVenueConfig(
        synthetic=True, seed=3, account_index=ACCOUNT, ping_interval_s=1.0, require_auth=True
    )
    async with FakeLighterVenue(config) as venue:
        yield venue


class Collector:
    def __init__(self, venue: LighterVenue) -> None:
        self.venue = venue
        self.events: list[Any] = []
        self.task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for event in self.venue.events():
            self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def close(self) -> None:
        await self.venue.cancel_all_and_close()
        await asyncio.wait_for(self.task, 5)


async def start(
    fake: FakeLighterVenue, ws_token: Callable[[], str] | None = None, **options: Any
) -> Collector:
    settings = LighterSettings(
        account_index=ACCOUNT,
        api_key_index=4,
        rest_url=fake.base_url,
        ws_url=fake.ws_url,
        ws=WsSettings(ping_interval_s=0.5, silence_timeout_s=3, backoff_initial_s=0.02),
        **options,
    )
    venue = LighterVenue(settings, UnsignedTestSigner(fake.base_url, ACCOUNT, 4))
    if ws_token is not None:
        venue.tokens.fresh = ws_token  # type: ignore[method-assign]
    await venue.start()
    return Collector(venue)


async def subscriptions(fake: FakeLighterVenue) -> list[str]:
    async with httpx.AsyncClient() as client:
        state = (await client.get(f"{fake.base_url}/_fake/state")).json()
    return [name for session in state["ws"]["sessions"] for name in session["subscriptions"]]


async def test_account_all_is_subscribed_with_an_auth_token(fake: FakeLighterVenue) -> None:
    """A venue that wants a token on account_all: before, it refused us and we never knew."""
    collector = await start(fake)
    try:
        await wait_for(lambda: collector.venue.health()["book_valid"])
        for _ in range(50):
            if CHANNEL in await subscriptions(fake):
                break
            await asyncio.sleep(0.05)
        assert CHANNEL in await subscriptions(fake)
        await wait_for(lambda: collector.venue.health().get("account_live") is True)
        statuses = collector.of(FeedStatus)
        assert statuses[-1].quoting_safe
    finally:
        await collector.close()


async def test_a_refused_account_subscription_makes_quoting_unsafe(fake: FakeLighterVenue) -> None:
    collector = await start(fake, ws_token=lambda: "not-a-token")
    venue = collector.venue
    try:
        await wait_for(lambda: venue.health().get("account_stream") == "refused")
        await wait_for(lambda: venue.health()["book_valid"])  # the market side is fine...
        assert CHANNEL not in await subscriptions(fake)
        last = collector.of(FeedStatus)[-1]
        assert not last.account_live and not last.quoting_safe  # ...quoting is not
        health = venue.health()
        assert health["account_live"] is False and "20001" in health["account_reason"]
        assert venue.account_alerts and "refused" in venue.account_alerts[0]
    finally:
        await collector.close()


async def test_an_unanswered_account_subscription_goes_silent_after_the_stale_limit(
    fake: FakeLighterVenue,
) -> None:
    hub = fake.hub
    assert hub is not None
    answer = hub._subscribe

    def swallow_account(session: Any, message: dict[str, Any]) -> None:
        if message.get("channel") != CHANNEL:
            answer(session, message)  # the account subscribe gets no answer at all

    hub._subscribe = swallow_account  # type: ignore[method-assign]
    collector = await start(fake, account_stale_s=0.5)
    venue = collector.venue
    try:
        await wait_for(lambda: venue.health()["book_valid"])
        assert venue.health()["account_stream"] == "pending"
        for _ in range(40):  # the driver's clock ticks call advance()
            venue.advance(0)
            if venue.health()["account_stream"] == "silent":
                break
            await asyncio.sleep(0.05)
        assert venue.health()["account_stream"] == "silent"
        assert not collector.of(FeedStatus)[-1].quoting_safe
        assert venue.account_alerts and "silent" in venue.account_alerts[0]
    finally:
        await collector.close()


async def test_fills_made_while_the_account_stream_was_refused_are_read_back_from_rest(
    fake: FakeLighterVenue,
) -> None:
    collector = await start(fake, ws_token=lambda: "not-a-token", fill_reconcile_s=0.2)
    venue = collector.venue
    try:
        await wait_for(lambda: venue.health().get("account_stream") == "refused")
        await wait_for(lambda: bool(collector.of(BookTop)))
        top = collector.of(BookTop)[-1]
        cross = PlaceOrder(301, Side.BID, top.ask_price + 1000, 80, post_only=False)
        venue.submit([cross], 0)  # takes the ask: a fill the stream will never tell us about
        await wait_for(lambda: bool(collector.of(Fill)), timeout_s=10)
        fills = collector.of(Fill)
        assert len(fills) == 1 and fills[0].side is Side.BID
        assert venue.counters()["rest_fills"] == 1
        await asyncio.sleep(0.6)  # more read-backs: the same trade is not a new fill
        assert len(collector.of(Fill)) == 1
    finally:
        await collector.close()


async def test_a_resent_fill_is_counted_as_a_duplicate(fake: FakeLighterVenue) -> None:
    collector = await start(fake)
    venue = collector.venue
    try:
        await wait_for(lambda: venue.health().get("account_live") is True)
        await wait_for(lambda: bool(collector.of(BookTop)))
        top = collector.of(BookTop)[-1]
        venue.submit([PlaceOrder(401, Side.BID, top.ask_price + 1000, 80, post_only=False)], 0)
        await wait_for(lambda: bool(collector.of(Fill)), timeout_s=10)
        async with httpx.AsyncClient() as client:
            await client.post(f"{fake.base_url}/_fake/faults", json={"resend_old_trades": 5})
        await wait_for(lambda: venue.counters()["duplicate_fills"] >= 1)
        assert len(collector.of(Fill)) == 1
    finally:
        await collector.close()


def test_account_stream_states_and_the_gap_to_read_back() -> None:
    stream = AccountStream(known_good_ns=100)
    assert stream.subscribed(110) and not stream.live
    assert stream.confirmed(120) and stream.live
    assert stream.gap_since_ns is None  # a first connect leaves nothing to read back
    assert not stream.confirmed(130)  # already live: no change to report
    stream.disconnected(200, "dropped")
    assert stream.state is AccountState.DOWN and stream.gap_since_ns == 200
    stream.subscribed(210)
    assert stream.check_silence(800, 500) and stream.state is AccountState.SILENT
    stream.reconciled(200)
    assert stream.gap_since_ns == 200  # not live yet: the gap stays open
    stream.confirmed(900)
    stream.reconciled(200)
    assert stream.live and stream.gap_since_ns is None
    refused = AccountStream(known_good_ns=50)
    refused.subscribed(60)
    assert refused.refused(70, "ws error 20001") and refused.gap_since_ns == 50
