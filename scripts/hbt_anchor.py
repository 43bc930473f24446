"""Issue 10's compiled anchor: hftbacktest's documented grid-trading example on solbot's L1 data.

Kept apart from the benchmark driver so `scripts/bench_anchors.py` can run it in its own process
(its own peak RSS, JIT warm-up timed apart). Needs the `bench` extra (hftbacktest, numba).

The strategy follows hftbacktest's "High-Frequency Grid Trading" tutorial
(https://hftbacktest.readthedocs.io/en/latest/tutorials/High-Frequency%20Grid%20Trading.html):
njit, `elapse(100 ms)` steps, 20 grid levels each side, interval 10 ticks, half spread 20 ticks,
GTX limit orders keyed by price tick, a recorder row every step.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from hftbacktest import (
    BUY,
    GTX,
    LIMIT,
    SELL,
    BacktestAsset,
    HashMapMarketDepthBacktest,
    Recorder,
)
from hftbacktest.data.validation import (
    correct_event_order,
    correct_local_timestamp,
    validate_event_order,
)
from hftbacktest.types import BUY_EVENT, DEPTH_EVENT, SELL_EVENT, TRADE_EVENT
from hftbacktest.types import event_dtype as EVENT_DTYPE
from numba import njit, uint64
from numba.typed import Dict


def to_event_array(book: pl.DataFrame, trades: pl.DataFrame) -> np.ndarray:
    """Bookticker rows as L2 depth events at the top, MARKET trades as trade events.

    hftbacktest's market depth ignores BBO events in backtests, so a bookticker row becomes a
    depth event per side, preceded by a zero-size event at the side's previous price when the
    price moved (else that stale level would stay the best). Exchange time is the transaction
    time (as hftbacktest's Binance converters use), receive time the capture's `local_ts_ns`;
    hftbacktest's own validation utilities then fix negative feed latency and split rows whose
    two clocks disagree on order.
    """
    exch = book["transaction_time_ms"].cast(pl.Int64).to_numpy() * 1_000_000
    local = book["local_ts_ns"].cast(pl.Int64).to_numpy()
    slots = np.zeros((book.height, 4), EVENT_DTYPE)
    valid = np.ones((book.height, 4), dtype=bool)
    for column, flag, price, size in (
        (0, BUY_EVENT, "bid_price", "bid_qty"),
        (2, SELL_EVENT, "ask_price", "ask_qty"),
    ):
        prices = book[price].cast(pl.Float64).to_numpy()
        previous = np.concatenate(([np.nan], prices[:-1]))
        delete, update = slots[:, column], slots[:, column + 1]
        valid[:, column] = np.isfinite(previous) & (previous != prices)
        for part, px, qty in (
            (delete, previous, 0.0),
            (update, prices, book[size].cast(pl.Float64).to_numpy()),
        ):
            part["ev"] = DEPTH_EVENT | flag
            part["exch_ts"] = exch
            part["local_ts"] = local
            part["px"] = px
            part["qty"] = qty
    depth = slots[valid]
    market = trades.filter(pl.col("trade_type") != "INSURANCE_FUND")
    printed = np.zeros(market.height, EVENT_DTYPE)
    seller = market["is_buyer_maker"].is_in(["1", "true", "True"]).to_numpy()
    printed["ev"] = np.where(seller, SELL_EVENT, BUY_EVENT) | TRADE_EVENT
    printed["exch_ts"] = market["trade_time_ms"].cast(pl.Int64).to_numpy() * 1_000_000
    printed["local_ts"] = market["local_ts_ns"].cast(pl.Int64).to_numpy()
    printed["px"] = market["price"].cast(pl.Float64).to_numpy()
    printed["qty"] = market["qty"].cast(pl.Float64).to_numpy()
    events = np.concatenate([depth, printed])
    events = events[np.argsort(events["local_ts"], kind="stable")]
    events = correct_local_timestamp(events, 0)
    events = correct_event_order(
        events,
        np.argsort(events["exch_ts"], kind="mergesort"),
        np.argsort(events["local_ts"], kind="mergesort"),
    )
    validate_event_order(events)
    return events


@njit  # numba cannot cache it (hftbacktest objects as arguments): each run compiles
def gridtrading(hbt, recorder):  # type: ignore[no-untyped-def]
    """The tutorial's grid market maker; returns the number of 100 ms steps."""
    asset_no = 0
    tick_size = hbt.depth(asset_no).tick_size
    grid_num = 20
    max_position = 5
    grid_interval = tick_size * 10
    half_spread = tick_size * 20
    steps = 0
    while hbt.elapse(100_000_000) == 0:
        steps += 1
        hbt.clear_inactive_orders(asset_no)
        depth = hbt.depth(asset_no)
        position = hbt.position(asset_no)
        orders = hbt.orders(asset_no)
        mid_price = (depth.best_bid + depth.best_ask) / 2.0
        order_qty = 0.1
        bid_price = np.floor((mid_price - half_spread) / grid_interval) * grid_interval
        ask_price = np.ceil((mid_price + half_spread) / grid_interval) * grid_interval
        new_bids = Dict.empty(np.uint64, np.float64)
        if position < max_position and np.isfinite(bid_price):
            for _ in range(grid_num):
                new_bids[uint64(round(bid_price / tick_size))] = bid_price
                bid_price -= grid_interval
        new_asks = Dict.empty(np.uint64, np.float64)
        if position > -max_position and np.isfinite(ask_price):
            for _ in range(grid_num):
                new_asks[uint64(round(ask_price / tick_size))] = ask_price
                ask_price += grid_interval
        values = orders.values()
        while values.has_next():
            order = values.get()
            if order.cancellable and (
                (order.side == BUY and order.order_id not in new_bids)
                or (order.side == SELL and order.order_id not in new_asks)
            ):
                hbt.cancel(asset_no, order.order_id, False)
        for order_id, price in new_bids.items():
            if order_id not in orders:
                hbt.submit_buy_order(asset_no, order_id, price, order_qty, GTX, LIMIT, False)
        for order_id, price in new_asks.items():
            if order_id not in orders:
                hbt.submit_sell_order(asset_no, order_id, price, order_qty, GTX, LIMIT, False)
        recorder.record(hbt)
    return steps


def run_grid(events: np.ndarray, tick_size: float, lot_size: float) -> dict:  # type: ignore[type-arg]
    """One backtest over `events`: 200 ms order entry/response latency (Lighter Standard)."""
    asset = (
        BacktestAsset()
        .data([events])
        .linear_asset(1.0)
        .constant_order_latency(200_000_000, 200_000_000)
        .power_prob_queue_model(2.0)
        .no_partial_fill_exchange()
        .trading_value_fee_model(-0.00005, 0.0007)
        .tick_size(tick_size)
        .lot_size(lot_size)
    )
    hbt = HashMapMarketDepthBacktest([asset])
    span_ns = int(events["local_ts"][-1] - events["local_ts"][0])
    recorder = Recorder(1, span_ns // 100_000_000 + 16)
    steps = gridtrading(hbt, recorder.recorder)
    state = hbt.state_values(0)
    result = {"steps": int(steps), "trades": int(state.num_trades), "position": state.position}
    hbt.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("events_npz", type=Path, help="hftbacktest event array (key `data`)")
    parser.add_argument("--tick-size", type=float, default=0.01)
    parser.add_argument("--lot-size", type=float, default=0.001)
    args = parser.parse_args()
    events = np.load(args.events_npz)["data"]
    started = time.perf_counter()
    run_grid(events[: min(len(events), 20_000)], args.tick_size, args.lot_size)
    warmup_s = time.perf_counter() - started
    started = time.perf_counter()
    started_cpu = time.process_time()
    events = np.load(args.events_npz)["data"]
    result = run_grid(events, args.tick_size, args.lot_size)
    replay_s = time.perf_counter() - started
    replay_cpu_s = time.process_time() - started_cpu
    result |= {
        "hbt_events": len(events),
        "warmup_s": warmup_s,
        "replay_s": replay_s,
        "replay_cpu_s": replay_cpu_s,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
