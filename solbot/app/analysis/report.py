"""Self-contained HTML reports (plotly): the plotly JS is embedded once, series downsampled."""

from __future__ import annotations

from pathlib import Path

from solbot.app.analysis.regimes import RegimeReport
from solbot.app.analysis.volatility import INTERNAL, VolatilityReport, downsample
from solbot.errors import RuntimeFailure

MAX_POINTS = 2_000


def _write(path: Path, title: str, figures: list[object]) -> None:
    from solbot.app.plotly_page import charts_html

    charts = charts_html(figures, path.parent)
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{charts}</body></html>"
    )
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as error:
        raise RuntimeFailure(f"cannot write {path}: {error}") from error


def write_regime_report(report: RegimeReport, path: Path) -> None:
    """Net PnL per bucket of each dimension, and window PnL against the window's return."""
    import plotly.graph_objects as go

    figures: list[object] = []
    for dimension, rows in report.buckets.items():
        figure = go.Figure(
            go.Bar(x=[str(r["bucket"]) for r in rows], y=[r["net_pnl_usd"] for r in rows])
        )
        figure.update_layout(title=f"net PnL (FIFO) by {dimension}", yaxis_title="USD", height=320)
        figures.append(figure)
    windows = downsample(report.windows, MAX_POINTS)
    scatter = go.Figure(
        go.Scattergl(
            x=windows["return_bps"].to_list(), y=windows["net_pnl_usd"].to_list(), mode="markers"
        )
    )
    scatter.update_layout(
        title="window net PnL vs external return", xaxis_title="bps", yaxis_title="USD"
    )
    figures.append(scatter)
    _write(path, f"solbot analyze regimes: run {report.summary['run']}", figures)


def write_volatility_report(report: VolatilityReport, path: Path) -> None:
    """Internal and external volatility over time, with the profile's lines."""
    import plotly.graph_objects as go

    series = downsample(report.series, MAX_POINTS)
    times = [str(t) for t in series["ts_ns"].cast(__import__("polars").Datetime("ns")).to_list()]
    figure = go.Figure()
    for column in series.columns[1:]:
        figure.add_trace(go.Scatter(x=times, y=series[column].to_list(), name=column, mode="lines"))
    for rule in report.rules:
        figure.add_hline(y=rule["on_bps"], line_dash="dot", annotation_text=rule["rule"])
    figure.update_layout(
        title="internal vs external volatility (bps)", yaxis_title="bps", height=500
    )
    _write(path, f"solbot analyze volatility: run {report.summary['run']} ({INTERNAL})", [figure])
