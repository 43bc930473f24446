"""`simulate --report`: one self-contained HTML file with inline SVG plots (no scripts, no CDN)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.trace import read_trace
from solbot.core.model import OrderStatus

if TYPE_CHECKING:
    from solbot.app.simulate import SimulationResult

NS = 1_000_000_000
WIDTH, HEIGHT, PAD = 900, 220, 48


@dataclass
class Series:
    label: str
    color: str
    points: list[tuple[float, float]] = field(default_factory=list)
    step: bool = True
    markers: bool = False


def _scale(values: list[float], low_pad: float = 0.0) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high == low:
        high, low = high + 1.0, low - 1.0
    span = high - low
    return low - span * low_pad, high + span * low_pad


def svg_plot(title: str, series: list[Series], x_range: tuple[float, float], unit: str) -> str:
    """A small line/step chart as SVG; x in seconds from the start."""
    drawn = [s for s in series if s.points]
    if not drawn:
        return f"<h3>{html.escape(title)}</h3><p>no data</p>"
    ys = [y for s in drawn for _, y in s.points]
    y_low, y_high = _scale(ys, 0.05)
    x_low, x_high = x_range
    x_span = max(x_high - x_low, 1e-9)

    def px(x: float) -> float:
        return PAD + (x - x_low) / x_span * (WIDTH - 2 * PAD)

    def py(y: float) -> float:
        return HEIGHT - PAD / 2 - (y - y_low) / (y_high - y_low) * (HEIGHT - PAD)

    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img">',
        f'<rect x="{PAD}" y="{PAD / 2}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - PAD}" '
        'fill="none" stroke="#ccc"/>',
    ]
    for value in (y_low, (y_low + y_high) / 2, y_high):
        parts.append(f'<text x="4" y="{py(value) + 4:.1f}" font-size="10">{value:.6g}</text>')
    for value in (x_low, (x_low + x_high) / 2, x_high):
        parts.append(
            f'<text x="{px(value) - 10:.1f}" y="{HEIGHT - 4}" font-size="10">{value:.0f}s</text>'
        )
    for item in drawn:
        if item.markers:
            for x, y in item.points:
                parts.append(
                    f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{item.color}"/>'
                )
            continue
        coords: list[str] = []
        previous: tuple[float, float] | None = None
        for x, y in item.points:
            if item.step and previous is not None:
                coords.append(f"{px(x):.1f},{py(previous[1]):.1f}")
            coords.append(f"{px(x):.1f},{py(y):.1f}")
            previous = (x, y)
        parts.append(
            f'<polyline fill="none" stroke="{item.color}" stroke-width="1.2" '
            f'points="{" ".join(coords)}"/>'
        )
    legend = " ".join(
        f'<span style="color:{s.color}">&#9632; {html.escape(s.label)}</span>' for s in drawn
    )
    heading = f"<h3>{html.escape(title)} <small>({html.escape(unit)})</small></h3>"
    return f"{heading}{''.join(parts)}</svg><p>{legend}</p>"


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


def write_report(result: SimulationResult) -> Path:
    """Render report.html next to the trace; returns its path (streams the trace)."""
    market = result.session.policy.market
    start = result.session.stats.first_ts_ns
    end = result.session.stats.last_ts_ns
    x_range = (0.0, max(1.0, (end - start) / NS))

    def sec(ts: int) -> float:
        return (ts - start) / NS

    def sampler() -> Downsampler:
        return Downsampler(x_range)

    mid, bid, ask, buys, sells, inventory, pnl = (sampler() for _ in range(7))
    with Ledger(result.db_path) as ledger:
        window = max(1, (end - start) // MARK_WINDOWS + 1)
        for begin in range(start, end + 1, window):
            for ts, price in ledger.marks(
                result.session.market_key, since_ns=begin, until_ns=begin + window - 1
            ):
                mid.add(sec(ts), price)
    orders: dict[int, str] = {}
    realized = 0.0
    spans = SpanRecorder(x_range)
    header: dict[str, Any] = {}
    for record in read_trace(result.trace_path):
        kind = record["type"]
        if kind == "header":
            header = record
            continue
        if kind == "step":
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
            pnl.add(x, realized)
        elif kind == "decision":
            spans.update(set(record["rules"]), x)
    timeline = _timeline(spans.spans, x_range)
    summary = {k: v for k, v in result.summary.items() if not isinstance(v, dict)}
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in sorted(summary.items())
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    sampled = [s for s in (mid, bid, ask, buys, sells, inventory, pnl) if s.seen > len(s.points)]
    if sampled:
        notes += (
            f"<li>long run: each chart shows the lowest and highest point of {MAX_POINTS // 2} "
            "equal time buckets</li>"
        )

    def series(label: str, color: str, data: Downsampler, **options: bool) -> Series:
        return Series(label, color, data.finish(), **options)

    body = "".join(
        [
            f"<h1>solbot simulate: {html.escape(str(header.get('profile', '')))} "
            f"on {html.escape(str(header.get('market', '')))}</h1>",
            f"<ul>{notes}</ul>" if notes else "",
            svg_plot(
                "price, our quotes and fills",
                [
                    series("mid", "#555", mid, step=False),
                    series("our bid", "#1a7f37", bid),
                    series("our ask", "#cf222e", ask),
                    series("fill: bought", "#1a7f37", buys, markers=True),
                    series("fill: sold", "#cf222e", sells, markers=True),
                ],
                x_range,
                "USD",
            ),
            svg_plot("inventory", [series("inventory", "#0550ae", inventory)], x_range, "units"),
            svg_plot(
                "cumulative FIFO realized PnL",
                [series("FIFO realized PnL", "#8250df", pnl)],
                x_range,
                "USD",
            ),
            timeline,
            f"<h3>summary</h3><table>{rows}</table>",
        ]
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>solbot report</title>"
        f"<style>body{{font-family:sans-serif;max-width:960px;margin:auto}}"
        f"td{{padding:2px 8px;border-bottom:1px solid #eee;font-size:13px}}</style></head>"
        f"<body>{body}</body></html>\n"
    )
    path = result.out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _timeline(
    spans: dict[str, list[tuple[float, float | None]]], x_range: tuple[float, float]
) -> str:
    if not spans:
        return "<h3>rule activations</h3><p>no rule was active</p>"
    names = sorted(spans)
    row = 16
    height = row * len(names) + 24
    span = max(x_range[1] - x_range[0], 1e-9)
    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">']
    for index, name in enumerate(names):
        y = 8 + index * row
        parts.append(f'<text x="2" y="{y + 10}" font-size="10">{html.escape(name)}</text>')
        for begin, finish in spans[name]:
            stop = x_range[1] if finish is None else finish
            x0 = 160 + (begin - x_range[0]) / span * (WIDTH - 170)
            width = max(1.0, (stop - begin) / span * (WIDTH - 170))
            parts.append(
                f'<rect x="{x0:.1f}" y="{y}" width="{width:.1f}" height="{row - 4}" '
                'fill="#d4a72c"/>'
            )
    parts.append("</svg>")
    return "<h3>rule activations over time</h3>" + "".join(parts)
