"""Cost of the Lighter adapter's per-message work: signing and frame parsing.

Prints ms per signed create-order with lighter-sdk's native signer (if installed) and with the
unsigned test signer (a floor: same JSON, no crypto), and µs per order-book diff parsed and
applied against a json.loads floor, all measured in the same run (best of three).
Run: .venv/bin/python scripts/bench_lighter.py
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from solbot.adapters.venues.lighter.messages import FrameParser
from solbot.adapters.venues.lighter.signer import (
    TIF_POST_ONLY,
    CreateOrderRequest,
    Signer,
    UnsignedTestSigner,
)
from solbot.core.model import MarketSpec

ROUNDS = 3
ORDERS = 500
DIFFS = 20_000
SOL = MarketSpec("SOL", "lighter", 2, 3, 3, 0.050, 10.0)


def best_of(run: Callable[[], None]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def signing_s(signer: Signer) -> float:
    def run() -> None:
        for i in range(ORDERS):
            order = CreateOrderRequest(2, i + 1, 70, 150_000 + i, i % 2 == 0, TIF_POST_ONLY)
            signer.sign_create_order(order, i)

    return best_of(run) / ORDERS


def diff_frames() -> list[str]:
    frames = []
    nonce = 1_000
    for i in range(DIFFS):
        level = {"price": f"{149.9 + (i % 50) / 1000:.3f}", "size": f"{(i % 7) / 10:.3f}"}
        frame = {"channel": "order_book:2", "type": "update/order_book", "timestamp": 1,
                 "order_book": {"bids": [level], "asks": [], "nonce": nonce + 3,
                                "begin_nonce": nonce}}  # fmt: skip
        nonce += 3
        frames.append(json.dumps(frame))
    return frames


def parse_s(frames: list[str]) -> tuple[float, float]:
    snapshot = {"type": "subscribed/order_book", "channel": "order_book:2",
                "order_book": {"bids": [], "asks": [{"price": "150.500", "size": "1.000"}],
                               "nonce": 1_000, "begin_nonce": 0}}  # fmt: skip

    def parse_all() -> None:
        parser = FrameParser(SOL, 1)
        parser.parse(snapshot, 0)
        for raw in frames:
            parser.parse(json.loads(raw), 0)
        assert parser.book.valid

    def floor() -> None:
        for raw in frames:
            json.loads(raw)

    return best_of(parse_all) / DIFFS, best_of(floor) / DIFFS


async def sdk_signer() -> Signer | None:
    try:
        import lighter
    except ImportError:
        return None
    from solbot.adapters.venues.lighter.signer import LighterSdkSigner

    private, _, _ = lighter.create_api_key()
    return LighterSdkSigner("http://127.0.0.1:9", 1, 4, private, chain_id=304)


async def main() -> None:
    floor = signing_s(UnsignedTestSigner("http://127.0.0.1:9", 1, 4))
    print(f"unsigned test signer (floor): {floor * 1e3:.3f} ms/order")
    sdk = await sdk_signer()
    if sdk is None:
        print("lighter-sdk not installed: native signing not measured")
    else:
        native = signing_s(sdk)
        ratio = native / floor
        print(f"lighter-sdk native signer:    {native * 1e3:.3f} ms/order ({ratio:.0f}x floor)")
        await sdk.close()  # type: ignore[attr-defined]
    parsed, loads = parse_s(diff_frames())
    print(f"order_book diff parse+apply:  {parsed * 1e6:.1f} µs/frame "
          f"(json.loads floor {loads * 1e6:.1f} µs, {parsed / loads:.1f}x)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
