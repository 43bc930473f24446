"""`simulate --report`: one self-contained HTML page of interactive plotly charts.

plotly.js is embedded once, inline (no CDN: the page works offline); the charts share one time
axis, so zooming one zooms all, and hover shows the values. Every series is downsampled to at
most MAX_POINTS points, so the data part of the page stays small for any run length.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.trace import read_trace
from solbot.app.plotly_page import charts_html
from solbot.app.run_figures import EquityTracker, daily_net
from solbot.core.model import OrderStatus

if TYPE_CHECKING:
    from solbot.app.simulate import SimulationResult

NS = 1_000_000_000
WIDTH = 900  # the chart width in pixels the span merging assumes


MAX_POINTS = 2_000  # per series: the page stays small (< 5 MB) for any run length
FINAL_STATUSES = frozenset(status.value for status in OrderStatus if status.is_final)
MARK_WINDOWS = 64  # mid marks are read from the ledger in this many time slices


class Downsampler:
    """Keeps at most `2 * buckets` points of a series streamed in time order.

    The x range is cut into equal buckets; each keeps its lowest and highest point (in time
    order), so spikes stay visible however long the run. Memory is bounded by the bucket count.
    """

    def __init__(self, x_range: tuple[float, float], buckets: int = MAX_POINTS // 2) -> None:
        self.low = x_range[0]
        self.width = max(x_range[1] - x_range[0], 1e-9) / buckets
        self.buckets = buckets
        self._bucket = -1
        self._min: tuple[float, float] | None = None
        self._max: tuple[float, float] | None = None
        self.points: list[tuple[float, float]] = []
        self.seen = 0

    def add(self, x: float, y: float) -> None:
        self.seen += 1
        bucket = min(self.buckets - 1, max(0, int((x - self.low) / self.width)))
        if bucket != self._bucket:
            self._close()
            self._bucket = bucket
            self._min = self._max = (x, y)
            return
        assert self._min is not None and self._max is not None
        if y < self._min[1]:
            self._min = (x, y)
        if y > self._max[1]:
            self._max = (x, y)

    def _close(self) -> None:
        if self._min is None or self._max is None:
            return
        if self._min == self._max:
            self.points.append(self._min)
        else:
            self.points.extend(sorted((self._min, self._max)))
        self._min = self._max = None

    def finish(self) -> list[tuple[float, float]]:
        self._close()
        return self.points


class SpanRecorder:
    """Rule activation spans, merged when closer than a fraction of a pixel (bounded count)."""

    def __init__(self, x_range: tuple[float, float], pixels: int = WIDTH) -> None:
        self.gap = max(x_range[1] - x_range[0], 1e-9) / (2 * pixels)
        self.spans: dict[str, list[tuple[float, float | None]]] = {}

    def update(self, active: set[str], x: float) -> None:
        for rule_id, items in self.spans.items():
            if items and items[-1][1] is None and rule_id not in active:
                items[-1] = (items[-1][0], x)
        for rule_id in active:
            items = self.spans.setdefault(rule_id, [])
            if items and items[-1][1] is None:
                continue
            last_end = items[-1][1] if items else None
            if last_end is not None and x - last_end < self.gap:
                items[-1] = (items[-1][0], None)  # reopen: the gap is not visible
            else:
                items.append((x, None))


@dataclass
class Line:
    """One downsampled series to draw: points are (seconds from the start, value)."""

    label: str
    color: str
    points: list[tuple[float, float]] = field(default_factory=list)
    step: bool = True
    markers: bool = False


@dataclass
class ReportData:
    """Everything the page draws, already bounded in size."""

    start_ns: int
    x_range: tuple[float, float]
    price: list[Line]
    equity: list[Line]
    inventory: Line
    spans: dict[str, list[tuple[float, float | None]]]
    daily: dict[str, float]
    downsampled: bool


def write_report(result: SimulationResult) -> Path:
    """Render report.html next to the trace; returns its path (streams the trace)."""
    data = collect(result)
    header = _trace_header(result.trace_path)
    summary = {k: v for k, v in result.summary.items() if not isinstance(v, dict)}
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in sorted(summary.items())
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    if data.downsampled:
        notes += (
            f"<li>long run: each chart shows the lowest and highest point of {MAX_POINTS // 2} "
            "equal time buckets</li>"
        )
    charts = render_charts(data, result.out_dir)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>solbot report</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "td{padding:2px 8px;border-bottom:1px solid #eee;font-size:13px}</style></head><body>"
        f"<h1>solbot simulate: {html.escape(str(header.get('profile', '')))} "
        f"on {html.escape(str(header.get('market', '')))}</h1>"
        f"{f'<ul>{notes}</ul>' if notes else ''}{charts}"
        f"<h3>summary</h3><table>{rows}</table></body></html>\n"
    )
    path = result.out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _trace_header(path: Path) -> dict[str, Any]:
    for record in read_trace(path):
        return record if record.get("type") == "header" else {}
    return {}


def collect(result: SimulationResult) -> ReportData:
    """Stream the ledger's marks and the trace into bounded series."""
    market = result.session.policy.market
    market_key = result.session.market_key
    start = result.session.stats.first_ts_ns
    end = result.session.stats.last_ts_ns
    x_range = (0.0, max(1.0, (end - start) / NS))

    def sec(ts: int) -> float:
        return (ts - start) / NS

    def sampler() -> Downsampler:
        return Downsampler(x_range)

    mid, bid, ask, buys, sells, inventory, realized_line, equity = (sampler() for _ in range(8))
    closes: list[tuple[int, float]] = []  # the equity at the last mark of each UTC day
    with Ledger(result.db_path, read_only=True) as ledger:
        run_id = getattr(result.session, "run_id", None)
        fills = ledger.fills(market=market_key, run_id=run_id)
        funding = ledger.funding_payments(market=market_key, run_id=run_id)
        tracker = EquityTracker(market_key, fills, funding)
        window = max(1, (end - start) // MARK_WINDOWS + 1)
        day = -1
        for begin in range(start, end + 1, window):
            for ts, price in ledger.marks(
                market_key, since_ns=begin, until_ns=begin + window - 1, run_id=run_id
            ):
                mid.add(sec(ts), price)
                value = tracker.at(ts, price)
                equity.add(sec(ts), value)
                if ts // (86_400 * NS) != day:
                    day = ts // (86_400 * NS)
                    closes.append((ts, value))
                else:
                    closes[-1] = (ts, value)
    orders: dict[int, str] = {}
    realized = 0.0
    spans = SpanRecorder(x_range)
    for record in read_trace(result.trace_path):
        kind = record["type"]
        if kind in ("header", "step"):
            continue
        x = sec(record["t"])
        if kind == "command" and record["op"] in ("place", "modify"):
            side = record.get("side") or orders.get(record["id"], "")
            orders[record["id"]] = side
            if record.get("tag", "quote") == "quote" or record["op"] == "modify":
                target = bid if side == "bid" else ask if side == "ask" else None
                if target is not None:
                    target.add(x, market.ticks_to_price(record["price"]))
        elif kind == "update" and record["status"] in FINAL_STATUSES:
            orders.pop(record["id"], None)  # done: keeps the map as small as the open orders
        elif kind == "fill":
            (buys if record["side"] == "bid" else sells).add(x, record["price"])
            inventory.add(x, record["inventory_lots"] * market.lot)
            realized += record["realized"]
            realized_line.add(x, realized)
        elif kind == "decision":
            spans.update(set(record["rules"]), x)
    samplers = (mid, bid, ask, buys, sells, inventory, realized_line, equity)
    downsampled = any(s.seen > len(s.points) for s in samplers)
    return ReportData(
        start_ns=start,
        x_range=x_range,
        price=[
            Line("mid", "#555", mid.finish(), step=False),
            Line("our bid", "#1a7f37", bid.finish()),
            Line("our ask", "#cf222e", ask.finish()),
            Line("fill: bought", "#1a7f37", buys.finish(), markers=True),
            Line("fill: sold", "#cf222e", sells.finish(), markers=True),
        ],
        equity=[
            Line("equity (mark-to-market)", "#0a3069", equity.finish(), step=False),
            Line("FIFO realized (gross)", "#8250df", realized_line.finish()),
        ],
        inventory=Line("inventory", "#0550ae", inventory.finish()),
        spans=spans.spans,
        daily=daily_net(closes),
        downsampled=downsampled,
    )


def render_charts(data: ReportData, folder: Path) -> str:
    """The plotly charts as HTML; plotly.js goes beside the page, once per folder."""
    import numpy as np
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    start_ms = data.start_ns / 1e6

    def times(points: list[tuple[float, float]]) -> Any:
        # epoch milliseconds on date axes: a typed array, a third of the size of date strings
        return np.array([start_ms + x * 1e3 for x, _ in points], dtype=np.float64)

    def values(points: list[tuple[float, float]]) -> Any:
        return np.array([y for _, y in points], dtype=np.float64)  # sent as a typed array

    def trace(line: Line) -> Any:
        if line.markers:
            return go.Scattergl(
                x=times(line.points), y=values(line.points), name=line.label, mode="markers",
                marker={"color": line.color, "size": 6},
            )  # fmt: skip
        shape = "hv" if line.step else "linear"
        return go.Scatter(
            x=times(line.points), y=values(line.points), name=line.label, mode="lines",
            line={"color": line.color, "width": 1.2, "shape": shape},
        )  # fmt: skip

    rules = sorted(data.spans)
    main = make_subplots(
        rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.04,
        row_heights=[0.34, 0.24, 0.18, max(0.08, min(0.3, 0.03 * len(rules)))],
        subplot_titles=(
            "price, our quotes and fills (USD)", "equity: realized - fees + funding + "
            "unrealized at the mark (USD)", "inventory (base units)", "rule activations",
        ),
    )  # fmt: skip
    for line in data.price:
        if line.points:
            main.add_trace(trace(line), row=1, col=1)
    for line in data.equity:
        if line.points:
            main.add_trace(trace(line), row=2, col=1)
    if data.inventory.points:
        main.add_trace(trace(data.inventory), row=3, col=1)
    end_s = data.x_range[1]
    for rule in rules:
        xs: list[str | None] = []
        for begin, finish in data.spans[rule]:
            stop = end_s if finish is None else finish
            xs += [_iso(data.start_ns + round(begin * NS)), _iso(data.start_ns + round(stop * NS))]
            xs.append(None)
        main.add_trace(
            go.Scatter(
                x=xs, y=[None if x is None else rule for x in xs], mode="lines", name=rule,
                line={"width": 8, "color": "#d4a72c"}, showlegend=False,
                hovertemplate=f"{html.escape(rule)}<br>%{{x}}<extra></extra>",
            ),
            row=4, col=1,
        )  # fmt: skip
    main.update_layout(height=1000 + 18 * len(rules), hovermode="x unified", margin={"t": 60})
    main.update_xaxes(type="date")
    daily = go.Figure(
        go.Bar(
            x=list(data.daily), y=list(data.daily.values()),
            marker_color=["#1a7f37" if v >= 0 else "#cf222e" for v in data.daily.values()],
        )
    )  # fmt: skip
    daily.update_layout(
        title="net PnL per UTC day (change of the mark-to-market equity, USD)", height=320
    )
    empty = "" if rules else "<p>no rule was active</p>"
    return charts_html((main, daily), folder) + empty


def _iso(ts_ns: int) -> str:
    moment = datetime.fromtimestamp(ts_ns // NS, UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{ts_ns % NS // 1_000_000:03d}"
