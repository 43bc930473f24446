"""`simulate --report` stays small for any run length: series are downsampled, spikes kept."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.trace import TraceWriter
from solbot.app.report import MAX_POINTS, Downsampler, write_report
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


def test_report_of_a_long_run_stays_under_5_mb(tmp_path: Path) -> None:
    page = write_report(cast(Any, long_run(tmp_path, 150_000))).read_text()
    assert len(page.encode()) < 5_000_000
    for points in re.findall(r'points="([^"]*)"', page):
        assert len(points.split()) <= 2 * MAX_POINTS  # a step chart draws two vertices a point
    assert len(re.findall(r"<circle", page)) <= 2 * MAX_POINTS  # bought + sold markers
    assert "lowest and highest point" in page


def test_downsampling_keeps_spikes_and_order() -> None:
    sampler = Downsampler((0.0, 1000.0), buckets=10)
    for x in range(1000):
        sampler.add(float(x), 1000.0 if x == 517 else float(x % 50))
    points = sampler.finish()
    assert len(points) <= 20
    assert (517.0, 1000.0) in points
    assert points == sorted(points)
    assert max(y for _, y in points) == 1000.0 and min(y for _, y in points) == 0.0
