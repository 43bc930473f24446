"""`simulate --report`: one self-contained HTML file with inline SVG plots (no scripts, no CDN)."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from solbot.adapters.storage.ledger import Ledger

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


def _read_trace(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def write_report(result: SimulationResult) -> Path:
    """Render report.html next to the trace; returns its path."""
    records = _read_trace(result.trace_path)
    header = records[0]
    market = result.session.policy.market
    start = result.session.stats.first_ts_ns
    end = result.session.stats.last_ts_ns
    x_range = (0.0, max(1.0, (end - start) / NS))

    def sec(ts: int) -> float:
        return (ts - start) / NS

    with Ledger(result.db_path) as ledger:
        marks = ledger.marks(result.session.market_key)
    mid = Series("mid", "#555", [(sec(ts), price) for ts, price in marks], step=False)
    bid, ask = Series("our bid", "#1a7f37"), Series("our ask", "#cf222e")
    buys = Series("fill: bought", "#1a7f37", markers=True)
    sells = Series("fill: sold", "#cf222e", markers=True)
    inventory = Series("inventory", "#0550ae")
    pnl = Series("FIFO realized PnL", "#8250df")
    orders: dict[int, str] = {}
    realized = 0.0
    rule_spans: dict[str, list[tuple[float, float | None]]] = {}
    for record in records[1:]:
        kind = record["type"]
        x = sec(record["t"])
        if kind == "command" and record["op"] in ("place", "modify"):
            side = record.get("side") or orders.get(record["id"], "")
            orders[record["id"]] = side
            if record.get("tag", "quote") == "quote" or record["op"] == "modify":
                target = bid if side == "bid" else ask if side == "ask" else None
                if target is not None:
                    target.points.append((x, market.ticks_to_price(record["price"])))
        elif kind == "fill":
            (buys if record["side"] == "bid" else sells).points.append((x, record["price"]))
            inventory.points.append((x, record["inventory_lots"] * market.lot))
            realized += record["realized"]
            pnl.points.append((x, realized))
        elif kind == "decision":
            _spans(rule_spans, set(record["rules"]), x)
    timeline = _timeline(rule_spans, x_range)
    summary = {k: v for k, v in result.summary.items() if not isinstance(v, dict)}
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in sorted(summary.items())
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    body = "".join(
        [
            f"<h1>solbot simulate: {html.escape(header['profile'])} "
            f"on {html.escape(header['market'])}</h1>",
            f"<ul>{notes}</ul>" if notes else "",
            svg_plot("price, our quotes and fills", [mid, bid, ask, buys, sells], x_range, "USD"),
            svg_plot("inventory", [inventory], x_range, "units"),
            svg_plot("cumulative FIFO realized PnL", [pnl], x_range, "USD"),
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


def _spans(spans: dict[str, list[tuple[float, float | None]]], active: set[str], x: float) -> None:
    for rule_id, items in spans.items():
        if items and items[-1][1] is None and rule_id not in active:
            items[-1] = (items[-1][0], x)
    for rule_id in active:
        items = spans.setdefault(rule_id, [])
        if not items or items[-1][1] is not None:
            items.append((x, None))


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
