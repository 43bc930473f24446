"""`solbot fetch-trades` against a scripted /api/v1/trades: auth, attribution, errors, usage."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from solbot.adapters.storage.ledger import Ledger
from solbot.app.backfill import (
    TRADES_WEIGHT,
    WEIGHT_PER_MINUTE,
    BackfillRequest,
    backfill,
    backfill_budget,
)
from solbot.cli.main import main
from solbot.core.model import Role, Side
from solbot.errors import UsageError, VenueError

ACCOUNT = 21
OTHER = 99
TOKEN = f"4102444800:{ACCOUNT}:5:{'cd' * 40}"
MARKET_ROW = {
    "symbol": "SOL",
    "market_id": 2,
    "size_decimals": 3,
    "price_decimals": 3,
    "min_base_amount": "0.050",
    "min_quote_amount": "10.000000",
    "maker_fee": "0.0000",
    "taker_fee": "0.0000",
}


def trade(
    trade_id: int, ms: int, *, ask: int, bid: int, maker_ask: bool, **extra: Any
) -> dict[str, Any]:
    return {
        "trade_id": trade_id,
        "trade_id_str": str(trade_id),
        "type": "trade",
        "market_id": 2,
        "size": "0.100",
        "price": "150.000",
        "ask_account_id": ask,
        "bid_account_id": bid,
        "is_maker_ask": maker_ask,
        "timestamp": ms,
        **extra,
    }


@dataclass
class Stub:
    """Serves orderBookDetails and /api/v1/trades from a list; records every trades request."""

    trades: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    refuse_at: dict[str, int] = field(default_factory=dict)  # cursor -> 429s still to answer
    seen: list[dict[str, str | None]] = field(default_factory=list)
    url: str = ""

    async def details(self, request: web.Request) -> web.Response:
        return web.json_response({"code": 200, "order_book_details": [MARKET_ROW]})

    async def page(self, request: web.Request) -> web.Response:
        self.seen.append({**request.query, "authorization": request.headers.get("authorization")})
        cursor = request.query.get("cursor", "")
        refusals = self.refuse_at.get(cursor, 0)
        if self.status != 200 or refusals > 0:
            self.refuse_at[cursor] = refusals - 1
            body = {"code": 23000, "message": "too many"}
            return web.json_response(body, status=429, headers={"Retry-After": "0.01"})
        start = int(request.query.get("cursor", "0"))
        limit = int(request.query["limit"])
        body: dict[str, Any] = {"code": 200, "trades": self.trades[start : start + limit]}
        if start + limit < len(self.trades):
            body["next_cursor"] = str(start + limit)
        return web.json_response(body)


@pytest.fixture
async def stub() -> AsyncIterator[Stub]:
    served = Stub()
    app = web.Application()
    app.router.add_get("/api/v1/orderBookDetails", served.details)
    app.router.add_get("/api/v1/trades", served.page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    served.url = f"http://127.0.0.1:{port}"
    try:
        yield served
    finally:
        await runner.cleanup()


def request(stub: Stub, db: Path, **overrides: Any) -> BackfillRequest:
    fields: dict[str, Any] = {
        "account_index": ACCOUNT,
        "market": "SOL",
        "db": db,
        "rest_url": stub.url,
        "token": TOKEN,
    }
    fields.update(overrides)
    return BackfillRequest(**fields)


async def test_token_account_filter_and_attribution(stub: Stub, tmp_path: Path) -> None:
    stub.trades = [  # newest first, as the venue pages
        trade(15, 1_780_000_005_000, ask=ACCOUNT, bid=OTHER, maker_ask=True, maker_fee=40),
        trade(14, 1_780_000_004_000, ask=OTHER, bid=ACCOUNT, maker_ask=True, taker_fee=280),
        trade(13, 1_780_000_003_000, ask=OTHER, bid=OTHER + 1, maker_ask=False),
        trade(12, 1_780_000_002_000, ask=ACCOUNT, bid=ACCOUNT, maker_ask=False),
        trade(11, 1_780_000_001_000, ask=OTHER, bid=ACCOUNT, maker_ask=True, market_id=3),
    ]
    db = tmp_path / "l.db"
    summary = await backfill(request(stub, db))
    assert (summary.trades, summary.ours, summary.inserted) == (5, 2, 2)
    assert (summary.not_ours, summary.self_trades, summary.other_market) == (1, 1, 1)
    assert summary.skipped == 3
    query = stub.seen[0]
    assert query["authorization"] == TOKEN
    assert (query["account_index"], query["market_id"], query["limit"]) == (
        str(ACCOUNT),
        "2",
        "100",
    )
    with Ledger(db) as ledger:
        fills = ledger.fills()
    assert [(f.trade_id, f.side, f.role) for f in fills] == [
        ("14", Side.BID, Role.TAKER),  # bought from a resting ask
        ("15", Side.ASK, Role.MAKER),  # our resting ask was lifted
    ]
    assert fills[0].fee_usd == pytest.approx(15.0 * 280 / 1e6)
    assert fills[1].fee_usd == pytest.approx(15.0 * 40 / 1e6)


async def test_paging_stops_at_since(stub: Stub, tmp_path: Path) -> None:
    base = 1_780_000_000_000
    stub.trades = [
        trade(300 - i, base - i * 1000, ask=ACCOUNT, bid=OTHER, maker_ask=True) for i in range(250)
    ]
    since_ms = base - 120 * 1000
    summary = await backfill(request(stub, tmp_path / "l.db", since_ns=since_ms * 1_000_000))
    assert summary.inserted == 121  # trades 0..120 are at or after `since`
    assert len(stub.seen) == 2  # the second page reached older trades: no third request
    assert summary.oldest_ts_ns == since_ms * 1_000_000


async def test_an_unreadable_trade_stores_nothing_and_names_the_field(
    stub: Stub, tmp_path: Path
) -> None:
    stub.trades = [
        trade(2, 1_780_000_002_000, ask=ACCOUNT, bid=OTHER, maker_ask=True),
        trade(1, 1_780_000_001_000, ask=ACCOUNT, bid=OTHER, maker_ask=True, price="-1"),
    ]
    db = tmp_path / "l.db"
    with pytest.raises(VenueError, match=r"trades:2:1: trades\[1\]\.price: expected a positive"):
        await backfill(request(stub, db))
    assert not db.exists()


async def test_rate_limited_answer_exits_1(
    stub: Stub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.status = 429
    argv = ["fetch-trades", "--account", str(ACCOUNT), "--db", str(tmp_path / "l.db")]
    argv += ["--rest-url", stub.url, "--token", TOKEN]
    assert await asyncio.to_thread(main, argv) == 1
    assert "23000" in capsys.readouterr().err


async def test_json_output_has_every_count(
    stub: Stub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.trades = [trade(1, 1_780_000_001_000, ask=ACCOUNT, bid=OTHER, maker_ask=False)]
    argv = ["fetch-trades", "--account", str(ACCOUNT), "--db", str(tmp_path / "l.db"), "--json"]
    argv += ["--rest-url", stub.url, "--token", TOKEN, "--since", "2026-01-01T00:00:00Z"]
    assert await asyncio.to_thread(main, argv) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["inserted"] == 1 and body["since_ns"] == 1_767_225_600 * 10**9
    assert set(body) >= {"trades", "ours", "inserted", "duplicates", "skipped", "complete"}
    assert TOKEN not in json.dumps(body)


CREDENTIALS = ("LIGHTER_ACCOUNT_INDEX", "LIGHTER_API_KEY_INDEX", "LIGHTER_API_PRIVATE_KEY")


@pytest.mark.parametrize(
    ("env", "extra", "fragment"),
    [
        ({}, [], "needs --token"),
        ({}, ["--token", f"4102444800:{OTHER}:5:ab"], f"--token is for account {OTHER}"),
        (
            dict(zip(CREDENTIALS, (str(OTHER), "5", "0xab"), strict=True)),
            [],
            f"LIGHTER_ACCOUNT_INDEX is {OTHER}",
        ),
        ({}, ["--max-pages", "0"], "--max-pages"),
        ({}, ["--requests-per-minute", "0"], "--requests-per-minute"),
        ({}, ["--since", "yesterday"], "--since"),
        ({}, ["--market", "binance-usdm:BTCUSDT"], "not a Lighter market"),
    ],
)
def test_usage_errors_exit_2_before_any_request(
    env: dict[str, str],
    extra: list[str],
    fragment: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in (*CREDENTIALS, "SOLBOT_TEST_SIGNER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    argv = ["fetch-trades", "--account", str(ACCOUNT), "--db", str(tmp_path / "l.db")]
    argv += ["--rest-url", "http://127.0.0.1:9", *extra]  # port 9: nothing may be sent
    assert main(argv) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "l.db").exists()


async def test_the_unsigned_test_signer_refuses_a_real_venue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in zip(CREDENTIALS, (str(ACCOUNT), "5", "0xab"), strict=True):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SOLBOT_TEST_SIGNER", "unsigned")
    remote = BackfillRequest(
        ACCOUNT, "SOL", tmp_path / "l.db", "https://mainnet.zklighter.elliot.ai"
    )
    with pytest.raises(UsageError, match="loopback"):
        await backfill(remote)


def test_the_token_never_appears_in_the_request_repr(tmp_path: Path) -> None:
    secret = BackfillRequest(ACCOUNT, "SOL", tmp_path / "l.db", "http://127.0.0.1:9", token=TOKEN)
    assert TOKEN not in repr(secret)


@pytest.mark.parametrize(
    "key",
    ["0xab", "not-a-key-at-all", "0x" + "zz" * 40, "0x" + "ab" * 41, "0x" + "ab" * 39 + "a"],
)
def test_a_malformed_private_key_is_a_usage_error_that_never_echoes_it(
    key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SOLBOT_TEST_SIGNER", raising=False)
    for name, value in zip(CREDENTIALS, (str(ACCOUNT), "5", key), strict=True):
        monkeypatch.setenv(name, value)
    argv = ["fetch-trades", "--account", str(ACCOUNT), "--db", str(tmp_path / "l.db")]
    argv += ["--rest-url", "http://127.0.0.1:9"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "LIGHTER_API_PRIVATE_KEY must be 80 hexadecimal digits" in err
    assert key not in err and "Traceback" not in err


async def test_a_429_mid_paging_resumes_at_the_same_cursor_after_the_cooldown(
    stub: Stub, tmp_path: Path
) -> None:
    """The third page is refused twice: paging waits, asks for that page again, and stores
    every trade (not nothing, as when a 429 ended the run)."""
    stub.trades = [
        trade(1000 - n, 5_000_000 - n, ask=ACCOUNT, bid=OTHER, maker_ask=True) for n in range(250)
    ]

    stub.refuse_at["200"] = 2
    summary = await backfill(request(stub, tmp_path / "l.db"))
    cursors = [seen.get("cursor") for seen in stub.seen]
    assert cursors == [None, "100", "200", "200", "200"]
    assert (summary.trades, summary.inserted, summary.complete) == (250, 250, True)


async def test_refused_pages_keep_the_trades_fetched_before_them(
    stub: Stub, tmp_path: Path
) -> None:
    stub.trades = [
        trade(1000 - n, 5_000_000 - n, ask=ACCOUNT, bid=OTHER, maker_ask=True) for n in range(150)
    ]

    stub.refuse_at["100"] = 99
    with pytest.raises(VenueError, match="100 fill"):
        await backfill(request(stub, tmp_path / "l.db"))
    with Ledger(tmp_path / "l.db") as ledger:
        assert ledger.count("fills") == 100


def test_the_pager_budget_fits_the_trades_weight() -> None:
    """/trades weighs 600 of 24000 a minute: never more than 40 pages a minute, less margin."""
    budget = backfill_budget(BackfillRequest(ACCOUNT, "SOL", Path("x.db"), "http://x"))
    assert budget.limit * TRADES_WEIGHT <= WEIGHT_PER_MINUTE
    assert budget.limit == 36


async def test_fetched_fills_are_booked_into_the_running_totals(stub: Stub, tmp_path: Path) -> None:
    from solbot.core.pnl import FifoBook

    base = 1_780_000_000_000
    stub.trades = [  # newest first; we buy and sell in turn
        trade(500 - i, base - i * 1000, ask=ACCOUNT if i % 3 else OTHER,
              bid=OTHER if i % 3 else ACCOUNT, maker_ask=i % 2 == 0, taker_fee=280)
        for i in range(40)
    ]  # fmt: skip
    db = tmp_path / "l.db"
    assert (await backfill(request(stub, db))).inserted == 40
    with Ledger(db, read_only=True) as ledger:
        assert ledger.totals_current()
        state = ledger.fill_state("SOL", None, None, inclusive=True)
        replay = FifoBook("SOL")
        for fill in ledger.fills(market="SOL"):
            replay.apply(fill)
    assert state is not None
    assert state.book("SOL").totals() == replay.totals()
    assert state.book("SOL").lots == replay.lots
