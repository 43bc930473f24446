"""The tx budget over a full rolling minute: `solbot run --live` on a busy market never sends
more than 60 txs (accepted + refused) in any 60 s, as the venue counts them, and never meets
the venue's 429 - also while the venue drops the socket every 15 s (each reconnect re-arms the
dead-man switch, one more tx) and answers one tx with a nonce error.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fault_support import (
    TX_PER_MINUTE,
    BotRun,
    FakeVenue,
    StateSampler,
    assert_no_unknown_orders,
    config_dir,
    finish,
)

pytestmark = pytest.mark.integration

SOAK_S = 66.0  # a full rolling minute after the start-up burst


def test_tx_budget_holds_over_a_rolling_minute(tmp_path: Path) -> None:
    config_dir(tmp_path)
    with (
        FakeVenue() as venue,
        BotRun(venue, tmp_path) as bot,
        StateSampler(venue, interval_s=0.2) as sampler,
    ):
        bot.wait_quoting()
        venue.faults(drop_socket=15)
        time.sleep(SOAK_S / 2)
        venue.faults(nonce_error_once=True)
        time.sleep(SOAK_S / 2)
        assert bot.alive
        state = finish(bot, sampler)
    assert state["ws"]["connections_total"] >= 4  # three drops or more, each reconnected
    assert any(r["code"] == 21104 for r in state["txs"]["rejected"])
    assert sampler.span_s() >= 60
    busiest = sampler.max_txs_per_minute()
    assert 0 < busiest <= TX_PER_MINUTE, f"{busiest} txs in one rolling minute"
    assert state["http"]["refused_429"] == 0
    assert max(s.requests_last_minute for s in sampler.samples) <= TX_PER_MINUTE
    assert min(status["tx_budget_left"] for status in bot.statuses()) >= 0
    assert_no_unknown_orders(sampler.samples, [bot.trace_records()])
