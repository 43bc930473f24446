"""The replay's bulk path (stretches of events that cannot touch our orders applied at once)
gives exactly what feeding every event one by one gives: same trace bytes, same summary.

Checked on the bundled capture, on a shared capture (when ../shared/data is there) with both
queue models, and on a synthetic stream made to be hard for it: sizes changing at our resting
prices, trades at and through our prices, long gaps so that wake-ups, command arrivals and
funding fall inside stretches the bulk path would like to skip, and small chunks.
"""

from __future__ import annotations

import functools
import gzip
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from policy_helpers import SOL, T0_NS, shipped_policy
from simexchange_support import LOOSE, make

import solbot.app.driver as driver_module
import solbot.app.simulate as simulate_module
from solbot.adapters.data import sample_paths
from solbot.adapters.storage.trace import TraceWriter
from solbot.adapters.venues.simulated import FillModelSettings, SimulatedExchange
from solbot.app.driver import Driver, ReplayChunk, replay
from solbot.app.session import Session
from solbot.app.simulate import SimulationRequest, run_simulation
from solbot.core.clock import ReplayClock
from solbot.core.model import PlaceOrder, Side

NS = 1_000_000_000
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "orderbook_trades" / "flat"
SHARED_PAIR = "binance_usdm_BTCUSDT_20240718T2357-20240719T0005"
# what differs between two runs of the same inputs: where they were written and how long they took
RUN_SPECIFIC = {"db", "out_dir", "trace", "wall_s", "events_per_s"}


def _simulate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: SimulationRequest, *, bulk: bool
) -> tuple[dict[str, Any], bytes]:
    """`run_simulation` with the replay's bulk path on or off; its summary and trace bytes."""
    monkeypatch.setattr(simulate_module, "replay", functools.partial(replay, bulk=bulk))
    out = tmp_path / ("bulk" if bulk else "rows")
    result = run_simulation(
        SimulationRequest(**{**request.__dict__, "out_dir": out, "db": out / "ledger.db"})
    )
    summary = {k: v for k, v in result.summary.items() if k not in RUN_SPECIFIC}
    return summary, result.trace_path.read_bytes()


def _assert_same_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: SimulationRequest
) -> dict[str, Any]:
    rows_summary, rows_trace = _simulate(monkeypatch, tmp_path, request, bulk=False)
    bulk_summary, bulk_trace = _simulate(monkeypatch, tmp_path, request, bulk=True)
    assert bulk_summary == rows_summary
    assert bulk_trace == rows_trace
    return bulk_summary


@pytest.mark.parametrize("profile", ["defensive", "naive"])
def test_bulk_replay_of_the_bundled_capture_is_byte_identical(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, profile: str
) -> None:
    request = SimulationRequest(profile=profile, data=tuple(sample_paths()))
    summary = _assert_same_run(monkeypatch, tmp_path, request)
    assert summary["decisions"] > 100


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared captures not available")
@pytest.mark.parametrize("queue_model", ["risk_averse", "probabilistic"])
def test_bulk_replay_of_a_shared_capture_is_byte_identical(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, queue_model: str
) -> None:
    paths = (
        SHARED / f"{SHARED_PAIR}_bookticker.csv.gz",
        SHARED / f"{SHARED_PAIR}_trades.csv.gz",
    )
    request = SimulationRequest(profile="naive", data=paths, queue_model=queue_model, seed=3)
    summary = _assert_same_run(monkeypatch, tmp_path, request)
    assert summary["events"] > 50_000


# ----------------------------------------------------------------- synthetic adversarial stream

MID_TICKS = 150_000  # SOL at 150 USD in 0.001 ticks; our quotes rest ~90 ticks from the mid


def adversarial_events(seed: int, count: int) -> list[tuple[int, ...]]:
    """Book and trade events whose prices wander across where our orders rest.

    Most book events change only a size (as in real captures); the book's spread breathes from
    1 to 200 ticks so that the best bid and ask sit at, inside and behind our prices; trades
    print at and through them; gaps of seconds let wake-ups and arrivals fall between events.
    """
    rng = random.Random(seed)
    ts = T0_NS
    mid = MID_TICKS
    half = 50
    bid_size = ask_size = 500
    events: list[tuple[int, ...]] = []
    for _ in range(count):
        gap = rng.choice((1, 5, 20, 80, 300)) * 1_000_000
        if rng.random() < 0.004:
            gap = rng.randint(2, 12) * NS  # quiet: wake-ups and arrivals fall in here
        ts += gap
        exchange_ts = ts - rng.randint(1, 30) * 1_000_000
        if rng.random() < 0.25:
            aggressor = rng.choice((-1, 1))
            price = mid + aggressor * rng.randint(0, 160)
            size = rng.choice((1, 10, 100, 1_000, 10_000))
            events.append((ts, exchange_ts, 1, 0, 0, 0, 0, price, size, aggressor))
            continue
        if rng.random() < 0.05:
            mid += rng.choice((-3, -1, 1, 3))
            half = max(1, min(100, half + rng.choice((-20, -5, 5, 20))))
        else:
            bid_size = rng.choice((0, 1, 50, 500, 5_000)) if rng.random() < 0.5 else bid_size
            ask_size = rng.choice((0, 1, 50, 500, 5_000)) if rng.random() < 0.5 else ask_size
        events.append((ts, exchange_ts, 0, mid - half, bid_size, mid + half, ask_size, 0, 0, 0))
    return events


def chunked(events: list[tuple[int, ...]], rows: int) -> Iterator[ReplayChunk]:
    columns = np.array(events, dtype=np.int64)
    for start in range(0, len(columns), rows):
        part = columns[start : start + rows]
        yield ReplayChunk(*(part[:, i].copy() for i in range(part.shape[1])))


class CountingExchange(SimulatedExchange):
    """Counts the market events it is shown one by one."""

    shown = 0

    def on_book(self, *args: int) -> None:
        self.shown += 1
        super().on_book(*args)

    def on_trade(self, *args: int) -> None:
        self.shown += 1
        super().on_trade(*args)


def run_synthetic(
    events: list[tuple[int, ...]], profile: str, queue_model: str, *, bulk: bool, rows: int
) -> tuple[str, dict[str, object], int, int]:
    """(trace sha256, venue stats, decisions, events the venue saw one by one)."""
    session = Session(
        shipped_policy(profile), market_key="SOL", trace=TraceWriter(None, {"test": 1})
    )
    settings = FillModelSettings(queue_model=queue_model, seed=7)  # type: ignore[arg-type]
    venue = CountingExchange(SOL, settings, session)
    session.attach(venue)
    driver = Driver(session, venue, ReplayClock())
    funding = [(T0_NS + k * 37 * NS, 0.0001 * (k % 3 - 1)) for k in range(1, 200)]

    def settle(funding_ns: int, rate: float) -> None:
        mid = session.engine.signals.mid
        if mid > 0:
            venue.on_funding(funding_ns, rate, mid)

    last = replay(driver, chunked(events, rows), funding, settle, bulk=bulk)
    session.shutdown(last, "end of data")
    venue.advance(last + 10 * NS)
    assert session.trace is not None
    session.trace.close()
    return session.trace.sha256, venue.stats(), session.stats.decisions, venue.shown


@pytest.mark.parametrize(
    ("profile", "queue_model", "seed", "rows"),
    [
        ("naive", "risk_averse", 1, 4096),
        ("naive", "probabilistic", 2, 777),
        ("defensive", "risk_averse", 3, 50_000),
        ("defensive", "probabilistic", 4, 1),
    ],
)
def test_bulk_replay_of_an_adversarial_stream_is_identical(
    profile: str, queue_model: str, seed: int, rows: int
) -> None:
    events = adversarial_events(seed, 30_000)
    reference = run_synthetic(events, profile, queue_model, bulk=False, rows=rows)
    bulk = run_synthetic(events, profile, queue_model, bulk=True, rows=rows)
    assert bulk[:3] == reference[:3]
    assert reference[2] > 1_000  # decisions
    if profile == "naive":  # the shipped guards of the others keep them out of this market
        fills = reference[1]["maker_fills"]
        assert isinstance(fills, int) and fills > 1_000  # our orders were hit, again and again
    assert reference[3] == len(events)
    if rows > 1:
        assert bulk[3] < len(events)  # ... and the bulk path did skip events


@pytest.mark.parametrize("window_rows", [1, 3, 64])
def test_bulk_replay_is_identical_whatever_the_stop_window(
    monkeypatch: pytest.MonkeyPatch, window_rows: int
) -> None:
    """Windows that end inside skipped stretches (the event before a window is not applied yet)."""
    events = adversarial_events(6, 20_000)
    reference = run_synthetic(events, "naive", "risk_averse", bulk=False, rows=5_000)
    monkeypatch.setattr(driver_module, "WINDOW_ROWS", window_rows)
    bulk = run_synthetic(events, "naive", "risk_averse", bulk=True, rows=5_000)
    assert bulk[:3] == reference[:3]
    assert bulk[3] < len(events)


def test_a_chunk_whose_time_goes_back_is_replayed_one_event_at_a_time() -> None:
    events = adversarial_events(5, 5_000)
    shuffled = [*events[:2_000], events[2_500], *events[2_000:2_500], *events[2_501:]]
    reference = run_synthetic(shuffled, "naive", "risk_averse", bulk=False, rows=10_000)
    bulk = run_synthetic(shuffled, "naive", "risk_averse", bulk=True, rows=10_000)
    assert bulk == reference  # every event shown: the fallback path


# ----------------------------------------------------------------- the venue's side of a skip


def _taker_then(skip: bool) -> list[tuple[float, float]]:
    """A taker buy eats part of the ask; a book event at unchanged prices (fed, or skipped and
    fast-forwarded) shows the ask again; a second taker buy: (price, size) of every fill."""
    venue, sink = make(FillModelSettings(taker_latency_ms=0.0), LOOSE)
    venue.on_book(T0_NS, T0_NS, 1_000, 100, 1_010, 100)
    buy = PlaceOrder(1, Side.BID, 1_020, 60, post_only=False, immediate_or_cancel=True)
    venue.submit([buy], T0_NS)
    venue.advance(T0_NS + 1)
    assert venue.reach() == (-1, 1 << 62, 1 << 62)  # nothing of ours rests, nothing in flight
    if skip:
        venue.fast_forward(0, 100, 100)
    else:
        venue.on_book(T0_NS + 2, T0_NS + 2, 1_000, 100, 1_010, 100)
    second = PlaceOrder(2, Side.BID, 1_020, 100, post_only=False, immediate_or_cancel=True)
    venue.submit([second], T0_NS + 3)
    venue.advance(T0_NS + 4)
    return [(fill.price, fill.size) for fill in sink.fills]


def test_a_skipped_book_event_gives_back_the_size_our_taker_orders_took() -> None:
    fed = _taker_then(skip=False)
    assert fed[-1] == (1.01, 0.1)  # the whole ask shown again, at the top
    assert _taker_then(skip=True) == fed


def _mirror_capture(target: Path, pivot: float = 5400.0) -> tuple[Path, Path]:
    """The bundled L1 pair reflected about `pivot`: bids become asks (price pivot - p, sizes
    swapped) and every print changes side, so the bulk path's bid-side and ask-side stops trade
    places."""
    stem = "binance_usdm_ETHUSDT_20240808T2354-20240808T2359"
    source = {path.name: path for path in sample_paths()}
    book = pl.read_csv(source[f"{stem}_bookticker.csv.gz"], infer_schema_length=0)
    trades = pl.read_csv(source[f"{stem}_trades.csv.gz"], infer_schema_length=0)

    def reflect(column: str) -> pl.Expr:
        return (pl.lit(pivot) - pl.col(column).cast(pl.Float64)).round(2).cast(pl.Utf8)

    book = book.with_columns(
        reflect("ask_price").alias("bid_price"),
        pl.col("ask_qty").alias("bid_qty"),
        reflect("bid_price").alias("ask_price"),
        pl.col("bid_qty").alias("ask_qty"),
    )
    trades = trades.with_columns(
        reflect("price").alias("price"),
        (pl.lit(1) - pl.col("is_buyer_maker").cast(pl.Int64)).cast(pl.Utf8).alias("is_buyer_maker"),
    )
    paths = (target / f"{stem}_bookticker.csv.gz", target / f"{stem}_trades.csv.gz")
    for frame, path in zip((book, trades), paths, strict=True):
        path.write_bytes(gzip.compress(frame.write_csv().encode()))
    return paths


@pytest.mark.parametrize("profile", ["defensive", "naive"])
def test_bulk_replay_of_the_mirrored_capture_is_byte_identical(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, profile: str
) -> None:
    data = tmp_path / "mirrored"
    data.mkdir()
    request = SimulationRequest(profile=profile, data=_mirror_capture(data))
    summary = _assert_same_run(monkeypatch, tmp_path, request)
    assert summary["decisions"] > 100
