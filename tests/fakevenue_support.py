"""Helpers for the fake Lighter venue tests: tx builders, frame waiting, static feeds."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np

from solbot.adapters.data.events import COLUMNS, EventChunk
from solbot.adapters.venues.fake_lighter.feed import KIND_BOOK, KIND_TRADE, MarketEvent

ACCOUNT = 11
KEY = 4


def book(offset_s: float, bid: int, ask: int, size: int = 10_000) -> MarketEvent:
    return MarketEvent(int(offset_s * 1e9), KIND_BOOK, bid, size, ask, size)


def trade(offset_s: float, price: int, size: int, aggressor: int) -> MarketEvent:
    return MarketEvent(int(offset_s * 1e9), KIND_TRADE, price=price, size=size, aggressor=aggressor)


def static_book(bid: int = 149_990, ask: int = 150_010) -> list[MarketEvent]:
    """One quote and nothing else: the book stays put for the whole test."""
    return [book(0.0, bid, ask)]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def create_info(nonce: int, **fields: Any) -> dict[str, Any]:
    """A create-order tx_info (post-only bid of 0.100 SOL at 149.990 unless overridden)."""
    info = {
        "AccountIndex": ACCOUNT,
        "ApiKeyIndex": KEY,
        "MarketIndex": 2,
        "ClientOrderIndex": 0,
        "BaseAmount": 100,
        "Price": 149_990,
        "IsAsk": 0,
        "Type": 0,
        "TimeInForce": 2,
        "ReduceOnly": 0,
        "TriggerPrice": 0,
        "OrderExpiry": -1,
        "ExpiredAt": now_ms() + 600_000,
        "Nonce": nonce,
        "Sig": "bm90IGNoZWNrZWQ=",
    }
    info.update(fields)
    return info


def cancel_info(nonce: int, index: int, **fields: Any) -> dict[str, Any]:
    info = {
        "AccountIndex": ACCOUNT,
        "ApiKeyIndex": KEY,
        "MarketIndex": 2,
        "Index": index,
        "ExpiredAt": now_ms() + 600_000,
        "Nonce": nonce,
        "Sig": "c2ln",
    }
    info.update(fields)
    return info


def cancel_all_info(nonce: int, time_in_force: int, time_ms: int = 0) -> dict[str, Any]:
    return {
        "AccountIndex": ACCOUNT,
        "ApiKeyIndex": KEY,
        "TimeInForce": time_in_force,
        "Time": time_ms,
        "ExpiredAt": now_ms() + 600_000,
        "Nonce": nonce,
        "Sig": "c2ln",
    }


def modify_info(nonce: int, index: int, price: int, base: int) -> dict[str, Any]:
    return {
        "AccountIndex": ACCOUNT,
        "ApiKeyIndex": KEY,
        "MarketIndex": 2,
        "Index": index,
        "BaseAmount": base,
        "Price": price,
        "TriggerPrice": 0,
        "ExpiredAt": now_ms() + 600_000,
        "Nonce": nonce,
        "Sig": "c2ln",
    }


async def send_tx(client: httpx.AsyncClient, tx_type: int, info: dict[str, Any]) -> httpx.Response:
    return await client.post(
        "/api/v1/sendTx", data={"tx_type": str(tx_type), "tx_info": json.dumps(info)}
    )


def auth_token(account: int = ACCOUNT, lifetime_s: int = 600) -> str:
    return f"{int(time.time()) + lifetime_s}:{account}:{KEY}:{'ab' * 40}"


async def recv_json(ws: Any, timeout: float = 2.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(
    ws: Any, predicate: Callable[[dict[str, Any]], bool], timeout: float = 3.0
) -> dict[str, Any]:
    """The first frame matching `predicate`; other frames are skipped."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError("no matching frame before the timeout")
        frame = await recv_json(ws, left)
        if predicate(frame):
            return frame


async def collect(ws: Any, seconds: float) -> list[dict[str, Any]]:
    """Every frame received during `seconds`."""
    frames: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            frames.append(await recv_json(ws, left))
        except TimeoutError:
            break
    return frames


async def subscribe(ws: Any, channel: str, **extra: Any) -> dict[str, Any]:
    """Subscribe and return the snapshot frame (skipping pings and other channels' frames)."""
    await ws.send(json.dumps({"type": "subscribe", "channel": channel, **extra}))
    wanted = "subscribed/" + channel.split("/")[0]
    return await recv_until(ws, lambda f: f.get("type") == wanted or "error" in f)


def recorded_chunk(rows: list[tuple[float, int, int, int, int, int]]) -> EventChunk:
    """A data-module EventChunk from rows of (seconds, kind, bid or price, size, ask, aggressor)."""
    columns: dict[str, list[int]] = {name: [] for name in COLUMNS}
    for number, (seconds, kind, first, size, ask, aggressor) in enumerate(rows):
        book_row = kind == KIND_BOOK
        ts = int(1.7e18 + seconds * 1e9)
        values = {
            "ts_ns": ts,
            "exchange_ts_ns": ts,
            "kind": kind,
            "bid_price": first if book_row else 0,
            "bid_size": size if book_row else 0,
            "ask_price": ask if book_row else 0,
            "ask_size": size if book_row else 0,
            "trade_price": 0 if book_row else first,
            "trade_size": 0 if book_row else size,
            "aggressor": aggressor,
            "trade_id": 0 if book_row else number,
        }
        for name, value in values.items():
            columns[name].append(value)
    return EventChunk.from_columns({name: np.array(v) for name, v in columns.items()})
