"""`solbot fetch-trades` against the loopback fake venue: our fills land in the ledger once."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from fakevenue_support import ACCOUNT, KEY, auth_token, static_book, subscribe

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.venues.fake_lighter import FakeLighterVenue, FakeVenueConfig
from solbot.adapters.venues.lighter.budget import Priority, RequestBudget
from solbot.adapters.venues.lighter.messages import FrameParser
from solbot.adapters.venues.lighter.rest import LighterRest
from solbot.adapters.venues.lighter.signer import (
    IOC_ORDER_EXPIRY,
    TIF_IMMEDIATE_OR_CANCEL,
    CreateOrderRequest,
    UnsignedTestSigner,
)
from solbot.app.backfill import BackfillRequest, backfill
from solbot.cli.main import main
from solbot.core.model import Fill, Role, Side

pytestmark = pytest.mark.integration
TAKER_FEE_MILLIONTHS = 280  # premium tier: 2.8 bps taker
LOTS = 70  # 0.070 SOL: above the 0.050 SOL and 10 USDC minimums at ~150


@pytest.fixture
async def venue() -> AsyncIterator[FakeLighterVenue]:
    config = FakeVenueConfig(
        synthetic=True, account_index=ACCOUNT, tier="premium", min_scheduled_cancel_ms=0
    )
    async with FakeLighterVenue(config, events=static_book()) as fake:
        yield fake


async def take(venue: FakeLighterVenue, sides: list[Side]) -> None:
    """IOC orders that cross the static book (149.990 / 150.010): one taker fill each."""
    signer = UnsignedTestSigner(venue.base_url, ACCOUNT, KEY)
    rest = LighterRest(venue.base_url, RequestBudget(1000))
    try:
        nonce = await rest.next_nonce(ACCOUNT, KEY)
        for start in range(0, len(sides), 50):
            signed = []
            for offset, side in enumerate(sides[start : start + 50]):
                order = CreateOrderRequest(
                    market_index=2,
                    client_order_index=start + offset + 1,
                    base_amount=LOTS,
                    price=151_000 if side is Side.BID else 149_000,
                    is_ask=side is Side.ASK,
                    time_in_force=TIF_IMMEDIATE_OR_CANCEL,
                    order_expiry=IOC_ORDER_EXPIRY,
                )
                signed.append(signer.sign_create_order(order, nonce))
                nonce += 1
            await rest.send_tx_batch(
                [tx.tx_type for tx in signed], [tx.tx_info for tx in signed], Priority.QUOTE
            )
    finally:
        await rest.aclose()
    await wait_for_fills(venue, len(sides))


async def wait_for_fills(venue: FakeLighterVenue, count: int) -> None:
    for _ in range(200):
        if len(venue.state()["fills"]) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the fake venue made {len(venue.state()['fills'])} fills, not {count}")


def request(venue: FakeLighterVenue, db: Path, **overrides: Any) -> BackfillRequest:
    fields: dict[str, Any] = {
        "account_index": ACCOUNT,
        "market": "SOL",
        "db": db,
        "rest_url": venue.base_url,
        "token": auth_token(),
    }
    fields.update(overrides)
    return BackfillRequest(**fields)


def cli(venue: FakeLighterVenue, db: Path, *extra: str) -> list[str]:
    return [
        "fetch-trades",
        "--account",
        str(ACCOUNT),
        "--db",
        str(db),
        "--rest-url",
        venue.base_url,
        "--token",
        auth_token(),
        *extra,
    ]


async def test_fills_land_in_the_ledger_once_and_a_second_run_inserts_nothing(
    venue: FakeLighterVenue, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await take(venue, [Side.ASK, Side.BID, Side.ASK])
    db = tmp_path / "ledger.db"
    argv = cli(venue, db, "--json")
    assert await asyncio.to_thread(main, argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["trades"], first["ours"], first["inserted"], first["duplicates"]) == (3, 3, 3, 0)
    assert first["skipped"] == 0 and first["complete"] is True and first["market"] == "SOL"
    assert await asyncio.to_thread(main, argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["inserted"], second["duplicates"]) == (0, 3)
    venue_ids = sorted(str(fill["trade_id"]) for fill in venue.state()["fills"])
    with Ledger(db) as ledger:
        fills = ledger.fills()
    assert sorted(fill.trade_id for fill in fills) == venue_ids
    assert [fill.side for fill in fills] == [Side.ASK, Side.BID, Side.ASK]
    assert {(fill.venue, fill.market, fill.role, fill.source) for fill in fills} == {
        ("lighter", "SOL", Role.TAKER, "backfill")
    }
    assert [fill.price for fill in fills] == [149.99, 150.01, 149.99]
    assert all(fill.size == pytest.approx(0.070) for fill in fills)
    fee = 149.99 * 0.070 * TAKER_FEE_MILLIONTHS / 1e6
    assert fills[0].fee_usd == pytest.approx(fee)
    assert [fill.client_id for fill in fills] == [1, 2, 3]


async def test_text_output_names_inserted_duplicate_and_skipped_counts(
    venue: FakeLighterVenue, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await take(venue, [Side.BID])
    assert await asyncio.to_thread(main, cli(venue, tmp_path / "l.db")) == 0
    text = capsys.readouterr().out
    assert "1 trades fetched" in text and "1 inserted, 0 duplicates; skipped 0" in text


async def test_fills_the_live_adapter_recorded_are_not_counted_again(
    venue: FakeLighterVenue, tmp_path: Path
) -> None:
    await take(venue, [Side.BID, Side.ASK])
    async with websockets.connect(venue.ws_url) as ws:
        snapshot = await subscribe(ws, f"account_all/{ACCOUNT}")
    parser = FrameParser(venue.config.market, ACCOUNT, history_cutoff_ns=0)
    live_fills = [e for e in parser.parse(snapshot, 0).events if isinstance(e, Fill)]
    assert len(live_fills) == 2
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        assert ledger.record_fills(live_fills) == (2, 0)
    summary = await backfill(request(venue, db))
    assert (summary.ours, summary.inserted, summary.duplicates) == (2, 0, 2)
    with Ledger(db) as ledger:
        assert ledger.count("fills") == 2


async def test_since_stops_paging_at_older_trades(venue: FakeLighterVenue, tmp_path: Path) -> None:
    await take(venue, [Side.ASK, Side.BID])
    await asyncio.sleep(0.02)  # trade timestamps are milliseconds
    await take(venue, [Side.ASK, Side.BID, Side.ASK])
    stamps = sorted(int(fill["timestamp"]) for fill in venue.state()["fills"])
    assert stamps[1] < stamps[2]
    summary = await backfill(request(venue, tmp_path / "l.db", since_ns=stamps[2] * 1_000_000))
    assert (summary.trades, summary.inserted) == (3, 3)
    assert summary.oldest_ts_ns == stamps[2] * 1_000_000


async def test_pages_follow_the_cursor_and_max_pages_is_reported(
    venue: FakeLighterVenue, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await take(venue, [Side.ASK, Side.BID] * 60)  # 120 fills: two pages of at most 100
    db = tmp_path / "ledger.db"
    assert await asyncio.to_thread(main, cli(venue, db, "--json", "--max-pages", "1")) == 0
    captured = capsys.readouterr()
    partial = json.loads(captured.out)
    assert (partial["trades"], partial["inserted"], partial["complete"]) == (100, 100, False)
    assert "older trades may remain" in captured.err
    summary = await backfill(request(venue, db))
    assert (summary.trades, summary.inserted, summary.duplicates) == (120, 20, 100)
    assert summary.complete and summary.requests == 3  # market details + two pages
    with Ledger(db) as ledger:
        assert ledger.count("fills") == 120


async def test_the_token_can_come_from_credentials_with_the_unsigned_test_signer(
    venue: FakeLighterVenue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await take(venue, [Side.ASK])
    monkeypatch.setenv("LIGHTER_ACCOUNT_INDEX", str(ACCOUNT))
    monkeypatch.setenv("LIGHTER_API_KEY_INDEX", str(KEY))
    monkeypatch.setenv("LIGHTER_API_PRIVATE_KEY", "0x" + "11" * 40)
    monkeypatch.setenv("SOLBOT_TEST_SIGNER", "unsigned")
    summary = await backfill(request(venue, tmp_path / "l.db", token=None))
    assert summary.inserted == 1


def test_unreachable_venue_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = ["fetch-trades", "--account", str(ACCOUNT), "--db", str(tmp_path / "l.db")]
    argv += ["--rest-url", f"http://127.0.0.1:{port}", "--token", auth_token()]
    assert main(argv) == 1
    assert "venue unreachable" in capsys.readouterr().err
