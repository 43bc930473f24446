"""`solbot analyze`: slice a run's FIFO PnL by external regimes; internal vs external volatility."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from solbot.app.ledger_location import DB_ENV, DEFAULT_DB, LATEST_RUN
from solbot.cli.options import ConfigDirOption, EndOption, StartOption
from solbot.cli.simulate import DataFile, MoreData

analyze_app = typer.Typer(
    name="analyze",
    help=(
        "The notes' loop on the ledger: PnL windows by the external market's trend, volatility "
        "and time (regimes); the bot's volatility against the market's (volatility)."
    ),
    no_args_is_help=True,
)

DbOption = Annotated[
    Path, typer.Option("--db", envvar=DB_ENV, help=f"Ledger file; default ./{DEFAULT_DB}.")
]
RunOption = Annotated[
    str, typer.Option("--run", help="Run to read: an id from `metrics runs`, latest or all.")
]
CandlesOption = Annotated[
    list[Path],
    typer.Option(
        "--candles",
        help="External 1m/5m candle CSV (Binance, Bybit, Hyperliquid layout); repeat for more.",
    ),
]
MarketOption = Annotated[
    str | None, typer.Option("--market", help="Market symbol; needed only with several.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


@analyze_app.command("regimes")
def regimes_command(
    candles: CandlesOption,
    db: DbOption = Path(DEFAULT_DB),
    run: RunOption = LATEST_RUN,
    window: Annotated[str, typer.Option("--window", help="Window length: 300s, 5m, 1h.")] = "300s",
    fees: Annotated[
        str,
        typer.Option(
            "--fees",
            help="Fee what-ifs in bps replacing the recorded fees: MAKER/TAKER or one value "
            "for both, comma separated (e.g. 0,0.4/2.8,2).",
        ),
    ] = "0,0.4/2.8",
    trend_up_bps: Annotated[
        float, typer.Option("--trend-up-bps", help="A window return above this is 'up'.")
    ] = 10.0,
    trend_down_bps: Annotated[
        float, typer.Option("--trend-down-bps", help="A window return below this is 'down'.")
    ] = -10.0,
    min_candles: Annotated[
        int, typer.Option("--min-candles", help="Whole candles a window needs to count.")
    ] = 3,
    market: MarketOption = None,
    as_json: JsonOption = False,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Write the joined per-window table here.")
    ] = None,
    report_out: Annotated[
        Path | None, typer.Option("--report", help="Write an HTML report (plotly) here.")
    ] = None,
) -> None:
    """A run's FIFO net PnL per window, by the candles' trend, volatility tercile and time.

    Buckets: trend (up/down/flat by the window's return), volatility terciles (1m sigma),
    their cross, UTC hour, UTC weekday, session (US market hours, overnight, weekend).
    Per bucket: windows, fills, volume, net PnL, per fill, per $ volume, fee what-ifs.
    Pearson r of window PnL against return, |return|, range, volatility, inventory change.
    Exit 3 when the run and the candles do not overlap (both spans printed).
    """
    from solbot.app.analysis.fees import parse_fees
    from solbot.app.analysis.join import TrendThresholds
    from solbot.app.analysis.regimes import RegimeOptions, analyze_regimes
    from solbot.app.analysis.render import render_regimes

    if min_candles < 1:
        raise _usage(f"--min-candles must be at least 1, got {min_candles}")
    if not trend_down_bps <= trend_up_bps:
        raise _usage("--trend-down-bps must not exceed --trend-up-bps")
    options = RegimeOptions(
        db=db,
        candles=tuple(candles),
        run=run,
        market=market,
        window_s=window_seconds(window),
        fees=tuple(parse_fees(fees)),
        trend=TrendThresholds(trend_up_bps, trend_down_bps),
        min_candles=min_candles,
    )
    report = analyze_regimes(options)
    if csv_out is not None:
        _write_csv(report.windows, csv_out)
    if report_out is not None:
        from solbot.app.analysis.report import write_regime_report

        write_regime_report(report, report_out)
    typer.echo(json.dumps(report.to_json(), indent=2) if as_json else render_regimes(report))


@analyze_app.command("volatility")
def volatility_command(
    candles: CandlesOption,
    db: DbOption = Path(DEFAULT_DB),
    run: RunOption = LATEST_RUN,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", help="Profile whose signal settings and lines to use (default: the run's)."
        ),
    ] = None,
    config_dir: ConfigDirOption = None,
    market: MarketOption = None,
    series_rows: Annotated[
        int, typer.Option("--series-rows", help="Rows of the side-by-side series in --json.")
    ] = 200,
    as_json: JsonOption = False,
    report_out: Annotated[
        Path | None, typer.Option("--report", help="Write an HTML report (plotly) here.")
    ] = None,
) -> None:
    """The bot's own vol_ema_bps against the candles' volatility, and the profile's lines.

    Internal: the engine's SignalState on the run's marks (profile half-life and sampling).
    External: sigma and mean |1-minute return| over the trailing 15 and 60 minutes.
    Lines: low-vol pause, regime switch, high-vol clip, high-vol pause.
    Per line: the share of the run's time the rule would be active under each measure.
    """
    from solbot.app.analysis.render import render_volatility
    from solbot.app.analysis.volatility import analyze_volatility

    if series_rows < 2:
        raise _usage(f"--series-rows must be at least 2, got {series_rows}")
    report = analyze_volatility(
        db, candles, run=run, market=market, profile=profile, config_dir=config_dir
    )
    if report_out is not None:
        from solbot.app.analysis.report import write_volatility_report

        write_volatility_report(report, report_out)
    if as_json:
        typer.echo(json.dumps(report.to_json(series_rows), indent=2))
    else:
        typer.echo(render_volatility(report))


@analyze_app.command("outcome")
def outcome_command(
    data: DataFile = None,
    more_data: MoreData = None,
    profiles: Annotated[
        str, typer.Option("--profiles", help="Profiles to compare, comma separated.")
    ] = "naive,defensive,aggressive",
    baseline: Annotated[
        str, typer.Option("--baseline", help="Profile whose worst bucket the others must cut.")
    ] = "naive",
    fees: Annotated[
        str,
        typer.Option(
            "--fees",
            help="Fee schedules MAKER/TAKER bps, comma separated; the last one judges the "
            "worst bucket, the cut, the days and the drawdown.",
        ),
    ] = "0,0.4/2.8",
    start: StartOption = None,
    end: EndOption = None,
    window: Annotated[
        str | None,
        typer.Option(
            "--window", help="Bucket window (default 5m or 3 bars for candles, 60s for ticks)."
        ),
    ] = None,
    data_market: Annotated[
        str | None,
        typer.Option(
            "--data-market", help="Market the data was recorded on, when its name does not say."
        ),
    ] = None,
    config_dir: ConfigDirOption = None,
    seed: Annotated[int, typer.Option(help="Seed of the fill model.")] = 0,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Keep the runs (trace, ledger) in this folder."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Replay the profiles on each file with one fill model and compare what they earn.

    Per dataset and overall: fills, volume, FIFO net PnL at each fee schedule (default Lighter
    standard 0 and premium 0.4/2.8 bps), net per $ traded, net per trend x volatility bucket
    (analyze regimes' buckets, labelled once per dataset from the market), the baseline's
    worst bucket and the share of its loss each profile cut there, the share of UTC days with
    net >= 0, and the max drawdown of the cumulative net. Bar mode is coarse.
    """
    from solbot.app.analysis.fees import parse_fees
    from solbot.app.analysis.outcome import OutcomeOptions, analyze_outcome, group_datasets
    from solbot.app.analysis.render import render_outcome
    from solbot.core.times import parse_time_ns

    names = tuple(dict.fromkeys(p.strip() for p in profiles.split(",") if p.strip()))
    options = OutcomeOptions(
        datasets=group_datasets(_data_or_sample([*(data or ()), *(more_data or ())])),
        profiles=names,
        baseline=baseline.strip(),
        fees=tuple(parse_fees(fees)),
        config_dir=config_dir,
        data_market=data_market,
        seed=seed,
        start_ns=parse_time_ns(start, "--from") if start else None,
        end_ns=parse_time_ns(end, "--to") if end else None,
        window_s=window_seconds(window) if window is not None else None,
        work_dir=keep,
    )
    report = analyze_outcome(options, progress=_progress_line(as_json))
    typer.echo(json.dumps(report.to_json(), indent=2) if as_json else render_outcome(report))


def _data_or_sample(files: list[Path]) -> list[Path]:
    """The files given, else the bundled L1 sample (as `simulate` does)."""
    if files:
        return files
    from solbot.adapters.data import sample_paths

    return list(sample_paths())


def _progress_line(quiet: bool) -> Callable[[str], None] | None:
    """One stderr line per replay when stderr is a terminal."""
    import sys

    if quiet or not sys.stderr.isatty():
        return None
    return lambda text: typer.echo(f"replaying {text}", err=True)


_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def window_seconds(text: str) -> int:
    """`300`, `300s`, `5m`, `1h`: a whole number of seconds >= 1."""
    value = text.strip()
    scale = _UNITS_S.get(value[-1:], 1)
    number = value[:-1] if value[-1:] in _UNITS_S else value
    if not number.isdigit() or int(number) * scale < 1:
        raise _usage(f"--window {text!r}: expected whole seconds or minutes, e.g. 300s or 5m")
    return int(number) * scale


def _usage(message: str) -> Exception:
    from solbot.errors import UsageError

    return UsageError(message)


def _write_csv(frame: object, path: Path) -> None:
    from solbot.errors import RuntimeFailure

    try:
        frame.write_csv(path)  # type: ignore[attr-defined]
    except OSError as error:
        raise RuntimeFailure(f"cannot write {path}: {error}") from error


def register(app: typer.Typer) -> None:
    """Add the `analyze` command group."""
    app.add_typer(analyze_app, name="analyze")
