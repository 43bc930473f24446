"""`solbot data`: describe market data files and convert them to solbot Parquet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from solbot.cli.progress import progress_bar
from solbot.core.times import parse_time_ns

if TYPE_CHECKING:
    from solbot.adapters.data import DataFileInfo

data_app = typer.Typer(
    help="Market data files: inspect them, convert them to solbot Parquet.", no_args_is_help=True
)

InputsArgument = Annotated[
    list[Path],
    typer.Argument(
        help="Data files (Binance bookTicker/trades/depth, Tardis quotes/trades, candles, "
        "solbot Parquet; plain or gzip).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
MarketsOption = Annotated[
    Path | None,
    typer.Option(
        "--markets", help="Markets file (markets.yaml schema) adding or overriding market specs."
    ),
]


@data_app.command("convert")
def convert_command(
    inputs: InputsArgument,
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write.")],
    market: Annotated[
        str | None,
        typer.Option(help="Market key (lighter:SOL, binance-usdm:ETHUSDT); default: from names."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Keep events at or after T (ISO-8601 UTC or ms).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Keep events before T (ISO-8601 UTC or unix ms).")
    ] = None,
    bar_spread_bps: Annotated[
        float, typer.Option(help="Bar mode: synthetic book spread around the bar's path.")
    ] = 2.0,
    bar_ticks: Annotated[int, typer.Option(help="Bar mode: synthetic ticks per bar (>= 4).")] = 4,
    markets: MarketsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Merge INPUTS into one time-ordered event stream and write it as solbot Parquet."""
    from solbot.adapters.data import convert_files
    from solbot.config.markets import markets_with, select_market

    entry = select_market(inputs, market, markets_with([markets] if markets else []))
    with progress_bar("converting", "events", enabled=not as_json) as update:
        info = convert_files(
            inputs,
            out,
            entry.spec,
            start_ns=parse_time_ns(start, "--from") if start else None,
            end_ns=parse_time_ns(end, "--to") if end else None,
            bar_spread_bps=bar_spread_bps,
            bar_ticks=bar_ticks,
            progress=update,
        )
    if as_json:
        typer.echo(json.dumps(_as_json(info) | {"market": entry.key}, indent=2))
        return
    typer.echo(f"wrote {info.path}: {info.rows:,} events of {entry.key}")
    _render(info, with_path=False)


@data_app.command("info")
def info_command(
    inputs: InputsArgument,
    market: Annotated[
        str | None,
        typer.Option(help="Market key, to check prices and sizes against its tick and lot."),
    ] = None,
    markets: MarketsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Format, rows, time span, clock shift and sha256 of each file."""
    from solbot.adapters.data import describe_files
    from solbot.config.markets import markets_with, resolve_market

    table = markets_with([markets] if markets else [])
    spec = resolve_market(market, table).spec if market else None
    infos = describe_files(inputs, spec)
    if as_json:
        typer.echo(json.dumps([_as_json(info) for info in infos], indent=2))
        return
    for info in infos:
        _render(info, with_path=True)


def _as_json(info: DataFileInfo) -> dict[str, object]:
    from solbot.adapters.data import format_time_ns

    return info.to_dict() | {
        "first_utc": format_time_ns(info.first_ts_ns),
        "last_utc": format_time_ns(info.last_ts_ns),
    }


def _render(info: DataFileInfo, *, with_path: bool) -> None:
    from solbot.adapters.data import format_time_ns

    if with_path:
        typer.echo(info.path)
    seconds = (info.last_ts_ns - info.first_ts_ns) / 1e9
    first, last = format_time_ns(info.first_ts_ns), format_time_ns(info.last_ts_ns)
    lines = [
        ("format", info.format + ("  (COARSE: bar mode)" if info.coarse else "")),
        ("rows", f"{info.rows:,}"),
        ("span", f"{first} → {last} ({seconds:,.1f} s)"),
        ("clock shift", f"{info.clock_shift_ns / 1e9:+.6f} s"),
        ("sha256", info.sha256),
    ]
    lines += [("note", note) for note in info.notes]
    for label, value in lines:
        typer.echo(f"  {label:<12} {value}")


def register(app: typer.Typer) -> None:
    """Add the `data` command group."""
    app.add_typer(data_app, name="data")
