"""Several markets on one account, through `solbot run --live`: another strategy's order on
another market survives the bot's start-up reconcile, its quoting and its clean stop."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fakevenue_support import create_info
from fault_support import ACCOUNT, BotRun, FakeVenue, config_dir, finish

from solbot.core.model import MarketSpec

pytestmark = pytest.mark.integration
OTHER_KEY = 6  # the other strategy: same account, its own API key and nonces
ETH = MarketSpec("ETH", "lighter", 0, 2, 4, 0.005, 10.0)


def rest_other_strategy_order(venue: FakeVenue) -> None:
    info = create_info(
        0,
        AccountIndex=ACCOUNT,
        ApiKeyIndex=OTHER_KEY,
        MarketIndex=ETH.market_id,
        ClientOrderIndex=55,
        Price=300_000,
        BaseAmount=100,
    )
    response = httpx.post(
        f"{venue.base_url}/api/v1/sendTx",
        data={"tx_type": "14", "tx_info": json.dumps(info)},
        timeout=10,
    )
    assert response.json()["code"] == 200, response.text


def test_another_markets_order_survives_start_quoting_and_stop(tmp_path: Path) -> None:
    config_dir(tmp_path)
    with FakeVenue(other_markets=(ETH,)) as venue:
        rest_other_strategy_order(venue)
        with BotRun(venue, tmp_path) as bot:
            bot.wait_quoting()
            state = finish(bot)
        others = state["other_market_orders"]
        assert [(o["client_order_index"], o["status"]) for o in others] == [(55, "open")]
        assert state["scheduled_cancel_all_ms"] in (None, 0)  # the dead-man schedule aborted
