"""`solbot compare`: runs or ledgers side by side, the differences highlighted."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from solbot.app.compare import Comparison


def compare_command(
    sources: Annotated[
        list[Path],
        typer.Argument(
            help="Run folders (runs/<name>/ with summary.json and ledger.db) or ledger files.",
            metavar="RUN_DIR|LEDGER...",
            show_default=False,
        ),
    ],
    run: Annotated[
        str, typer.Option(help="Run of a ledger file: latest, all or a run id.")
    ] = "latest",
    only_differences: Annotated[
        bool, typer.Option("--only-differences", help="Print only the rows that differ.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout.")
    ] = False,
    candles: Annotated[
        list[Path] | None,
        typer.Option(
            "--candles",
            help="External candles (repeat): also net PnL per trend x volatility bucket.",
        ),
    ] = None,
) -> None:
    """Compare summary figures, per-day net PnL and volume, rule activation time and, with
    --candles, net PnL per trend x volatility bucket."""
    from solbot.app.compare import compare_views, load_view

    bars = tuple(candles or ())
    comparison = compare_views(
        [load_view(path, run, bars, _bucket_pnl(run) if bars else None) for path in sources]
    )
    if as_json:
        typer.echo(json.dumps(comparison.to_json(), sort_keys=True, default=str))
        return
    _render(comparison, only_differences)


def _render(comparison: Comparison, only_differences: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout)
    labels = comparison.labels
    sections: list[tuple[str, list[tuple[str, list[Any], bool]]]] = [
        ("summary figures", list(comparison.figures)),
        (
            "per day: net PnL $ / volume $",
            [(d, [_day(e) for e in v], x) for d, v, x in comparison.days],
        ),
        ("rule active time (s)", list(comparison.rules)),
        ("net PnL $ per regime bucket", list(comparison.buckets)),
    ]
    for title, rows in sections:
        shown = [row for row in rows if row[2] or not only_differences]
        if not shown:
            continue
        table = Table(title=title)
        table.add_column("", no_wrap=True)
        for number, label in enumerate(labels):
            table.add_column(
                f"[{number}] {Path(label).name or label}", justify="right", overflow="fold"
            )
        for name, values, differs in shown:
            style = "bold yellow" if differs else None
            marker = f"* {name}" if differs else name
            table.add_row(marker, *(_cell(v) for v in values), style=style)
        console.print(table)
    for number, label in enumerate(labels):
        console.print(f"[{number}] {label}", soft_wrap=True, highlight=False, markup=False)
    differing = sum(row[2] for _, rows in sections for row in rows)
    console.print(f"{differing} rows differ (marked *)", highlight=False)


def _day(entry: dict[str, float] | None) -> str | None:
    if entry is None:
        return None
    return f"{entry['net_pnl_usd']:.4f} / {entry['volume_usd']:.2f}"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str) and len(value) == 64:  # a sha256: its head tells runs apart
        return value[:12] + "…"
    return str(value)


def register(app: typer.Typer) -> None:
    """Add `compare`."""
    app.command("compare")(compare_command)


def _bucket_pnl(run: str) -> Callable[[Path, tuple[Path, ...]], dict[str, float]]:
    """Net PnL per trend x volatility bucket of `run` of a ledger (as `analyze regimes`)."""
    from solbot.app.analysis.regimes import trend_vol_pnl

    return lambda ledger, candles: trend_vol_pnl(ledger, candles, run)
