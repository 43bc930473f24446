"""`simulate --report` stays small for any run length: series are downsampled, spikes kept."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.trace import TraceWriter
from solbot.app.report import MAX_POINTS, WIDTH, Downsampler, collect, write_report
from solbot.config.markets import resolve_market

NS = 1_000_000_000
T0 = 1_700_000_000 * NS


def long_run(folder: Path, fills: int) -> Any:
    """A synthetic 60-day run: `fills` quotes, fills and decisions, and a mark every 30 s."""
    market = resolve_market("lighter:SOL").spec
    span = 60 * 86_400 * NS
    step = span // fills
    trace = TraceWriter(folder / "trace.jsonl", {"profile": "synthetic", "market": "lighter:SOL"})
    inventory = 0
    for i in range(fills):
        t = T0 + i * step
        side = "bid" if i % 2 == 0 else "ask"
        price = 150_000 + (i % 977) - (5_000 if i == fills // 2 else 0)  # one deep spike
        trace.write({"t": t, "type": "command", "op": "place", "id": i, "side": side,
                     "price": price, "size": 70, "tag": "quote"})  # fmt: skip
        inventory += 70 if side == "bid" else -70
        trace.write({"t": t + 1, "type": "fill", "side": side, "price": price / 1000,
                     "inventory_lots": inventory, "realized": 0.01})  # fmt: skip
        trace.write({"t": t + 2, "type": "update", "id": i, "status": "filled"})
        trace.write({"t": t + 3, "type": "decision", "rules": ["a"] if i % 3 else []})
    trace.close()
    db = folder / "ledger.db"
    with Ledger(db) as ledger:
        for t in range(T0, T0 + span, 30 * NS):
            ledger.record_mark("SOL", t, 150.0 + (t // NS) % 7)
    session = SimpleNamespace(
        policy=SimpleNamespace(market=market),
        stats=SimpleNamespace(first_ts_ns=T0, last_ts_ns=T0 + span),
        market_key="SOL",
    )
    return SimpleNamespace(
        session=session,
        trace_path=folder / "trace.jsonl",
        db_path=db,
        out_dir=folder,
        summary={"events": fills * 4},
        notes=[],
    )


def test_report_of_a_long_run_stays_small(tmp_path: Path) -> None:
    import plotly.offline

    path = write_report(cast(Any, long_run(tmp_path, 150_000)))
    page = path.read_text()
    library = plotly.offline.get_plotlyjs()
    assert library not in page and '<script src="plotly.min.js">' in page
    assert (path.parent / "plotly.min.js").read_text() == library  # offline, beside the page
    assert len(page.encode()) < 1_000_000  # the run's data, downsampled: far under 5 MB
    assert page.count("Plotly.newPlot") == 2  # the shared-time charts and the daily bars
    assert "lowest and highest point" in page


def test_report_series_are_downsampled_and_keep_the_spike(tmp_path: Path) -> None:
    data = collect(cast(Any, long_run(tmp_path, 150_000)))
    lines = [*data.price, *data.equity, data.inventory]
    assert all(len(line.points) <= MAX_POINTS for line in lines)
    assert data.downsampled
    quotes = [y for line in data.price[1:3] for _, y in line.points]
    assert min(quotes) < 149.0  # the one deep quote (5 USD under the rest, 145.748) survives
    assert sum(len(items) for items in data.spans.values()) <= WIDTH  # merged below a pixel


def test_downsampling_keeps_spikes_and_order() -> None:
    sampler = Downsampler((0.0, 1000.0), buckets=10)
    for x in range(1000):
        sampler.add(float(x), 1000.0 if x == 517 else float(x % 50))
    points = sampler.finish()
    assert len(points) <= 20
    assert (517.0, 1000.0) in points
    assert points == sorted(points)
    assert max(y for _, y in points) == 1000.0 and min(y for _, y in points) == 0.0
