"""The real lighter-sdk (optional extra) signs against the fake: every tx shape it builds passes."""

from __future__ import annotations

import asyncio
import time

import pytest
from fakevenue_support import static_book

from solbot.adapters.venues.fake_lighter import FakeLighterVenue, FakeVenueConfig

lighter = pytest.importorskip("lighter")
pytestmark = pytest.mark.integration
ACCOUNT = 7
KEY = 4


async def test_sdk_signed_orders_round_trip() -> None:
    private_key, public_key, problem = lighter.create_api_key()
    assert problem is None
    config = FakeVenueConfig(
        synthetic=True,
        account_index=ACCOUNT,
        api_keys={KEY: public_key},
        tier="premium",
        min_scheduled_cancel_ms=0,
    )
    async with FakeLighterVenue(config, events=static_book()) as venue:
        client = lighter.SignerClient(
            url=venue.base_url, account_index=ACCOUNT, api_private_keys={KEY: private_key}
        )
        try:
            # check_client does blocking HTTP (LIGHTER.md pitfall 9): keep it off our loop.
            assert await asyncio.to_thread(client.check_client) is None
            _, sent, error = await client.create_order(
                market_index=2,
                client_order_index=123,
                base_amount=100,
                price=149_900,
                is_ask=False,
                order_type=client.ORDER_TYPE_LIMIT,
                time_in_force=client.ORDER_TIME_IN_FORCE_POST_ONLY,
                reduce_only=False,
                trigger_price=0,
            )
            assert error is None and sent.code == 200
            _, _, error = await client.modify_order(
                market_index=2, order_index=123, base_amount=200, price=149_800, trigger_price=0
            )
            assert error is None
            _, _, error = await client.create_market_order(
                market_index=2,
                client_order_index=124,
                base_amount=100,
                avg_execution_price=149_000,
                is_ask=True,
            )
            assert error is None
            _, _, error = await client.cancel_all_orders(
                time_in_force=client.CANCEL_ALL_TIF_SCHEDULED,
                timestamp_ms=int(time.time() * 1000) + 60_000,
            )
            assert error is None
            _, _, error = await client.cancel_order(market_index=2, order_index=123)
            assert error is None
        finally:
            await client.close()
        state = venue.state()
    assert state["txs"]["rejected"] == [] and state["nonces"] == {str(KEY): 5}
    orders = {o["client_order_index"]: o for o in state["orders"]}
    assert (orders[123]["status"], orders[123]["price"]) == ("canceled", "149.800")
    assert orders[124]["status"] == "filled" and state["position"]["lots"] == -100
    assert state["scheduled_cancel_all_ms"] is not None
