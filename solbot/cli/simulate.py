"""`solbot simulate`: replay recorded ticks through the engine and the fill model."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from solbot.cli.completion import complete_profile
from solbot.cli.options import ConfigDirOption, EndOption, StartOption
from solbot.cli.progress import progress_bar
from solbot.core.times import parse_time_ns


class QueueModel(StrEnum):
    """Where our resting order sits in the queue (docs/simulated_exchange.md)."""

    risk_averse = "risk_averse"
    probabilistic = "probabilistic"


DataFile = Annotated[
    list[Path] | None,
    typer.Option(
        "--data",
        help="Data files: `--data A B`, `--data A --data B` or plain arguments "
        "(e.g. bookticker + trades). Default: bundled sample.",
        exists=True,
        dir_okay=False,
        readable=True,
        show_default=False,
    ),
]
MoreData = Annotated[
    list[Path] | None,
    typer.Argument(
        help="More data files (what follows `--data A` lands here).",
        metavar="DATA",
        exists=True,
        dir_okay=False,
        readable=True,
        show_default=False,
    ),
]


def simulate_command(
    more_data: MoreData = None,
    profile: Annotated[
        str,
        typer.Option("--profile", help="Profile to simulate.", autocompletion=complete_profile),
    ] = "defensive",
    data: DataFile = None,
    market: Annotated[
        str | None,
        typer.Option(
            "--market",
            help="Instrument to trade (default: the profile's market, e.g. lighter:SOL).",
        ),
    ] = None,
    data_market: Annotated[
        str | None,
        typer.Option(
            "--data-market", help="Market the data was recorded on (default: from the file name)."
        ),
    ] = None,
    reference_price: Annotated[
        float | None,
        typer.Option(
            help="When data and traded market differ, rescale prices so the first mid is this."
        ),
    ] = None,
    start: StartOption = None,
    end: EndOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default runs/<profile>-<key>).")
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="Ledger file (default <out>/ledger.db).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the probabilistic parts of the fill model.")
    ] = 0,
    queue_model: Annotated[
        QueueModel, typer.Option(help="Queue position model of the fill model.")
    ] = QueueModel.risk_averse,
    tier: Annotated[
        str | None, typer.Option(help="Account tier (fees, latency, tx budget).")
    ] = None,
    funding: Annotated[
        Path | None,
        typer.Option(
            help="Funding-rate CSV (funding_time_ms, funding_rate): funding on inventory."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout.")
    ] = False,
    report: Annotated[
        bool, typer.Option("--report", help="Write report.html to the output folder.")
    ] = False,
    config_dir: ConfigDirOption = None,
    markets: Annotated[
        Path | None,
        typer.Option(
            "--markets",
            help="Markets file (markets.yaml schema) adding or overriding market specs.",
        ),
    ] = None,
    bar_ticks: Annotated[
        int,
        typer.Option(
            help="Bar mode (candle files): synthetic ticks per bar, >= 4; more ticks make a "
            "smoother path (docs/simulated_exchange.md).",
        ),
    ] = 4,
    bar_spread_bps: Annotated[
        float, typer.Option(help="Bar mode (candle files): synthetic book spread, bps.")
    ] = 2.0,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="Override a profile value by its dotted path, e.g. "
            "--set params.vol_low_pause_bps=1.5 (repeatable; validated like the profile).",
        ),
    ] = None,
) -> None:
    """Replay ticks through the engine of `run` and a realistic fill model; print a summary."""
    from solbot.app.simulate import SimulationRequest, run_simulation
    from solbot.config.overrides import parse_override

    files = [*(data or ()), *(more_data or ())]
    paths = tuple(files) if files else tuple(sample_data())
    request = SimulationRequest(
        profile=profile,
        data=paths,
        config_dir=config_dir,
        market=market,
        data_market=data_market,
        reference_price=reference_price,
        start_ns=parse_time_ns(start, "--from") if start else None,
        end_ns=parse_time_ns(end, "--to") if end else None,
        out_dir=out,
        db=db,
        seed=seed,
        queue_model=queue_model.value,
        tier=tier,
        funding=funding,
        markets=markets,
        overrides=tuple(parse_override(text) for text in settings or ()),
        bar_ticks=bar_ticks,
        bar_spread_bps=bar_spread_bps,
    )
    with progress_bar("replaying", "events", enabled=not as_json) as update:
        result = run_simulation(request, update)
    summary = result.summary
    if report:
        from solbot.app.report import write_report

        summary["report"] = str(write_report(result))
    if as_json:
        typer.echo(json.dumps(summary, sort_keys=True, default=str))
        return
    _render(summary)


def sample_data() -> list[Path]:
    from solbot.adapters.data import sample_paths

    return sample_paths()


def _optional(value: Any, fmt: str) -> str:
    return "n/a" if value is None else fmt.format(value)


def _equity(summary: dict[str, Any]) -> str:
    days = len(summary.get("daily_net_pnl_usd") or {})
    return (
        f"${summary.get('equity_usd', 0.0):,.4f} / ${summary.get('max_drawdown_usd', 0.0):,.4f}"
        f" ({days} UTC day{'s' if days != 1 else ''})"
    )


def _hit_rate(summary: dict[str, Any]) -> str:
    rate = summary.get("hit_rate_5s")
    samples = summary.get("hit_samples_5s", 0)
    return "n/a" if rate is None else f"{100 * rate:.1f} % of {samples} fills"


def _dwell(summary: dict[str, Any]) -> str:
    mean = _optional(summary.get("mean_time_to_flat_s"), "{:.1f} s")
    longest = _optional(summary.get("max_time_to_flat_s"), "{:.1f} s")
    return (
        f"{summary.get('mean_abs_inventory', 0.0):g} / mean {mean}, longest {longest}"
        f" (open {summary.get('open_excursion_s', 0.0):.1f} s)"
    )


def _render(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout)  # the terminal's width (COLUMNS, or 80 when piped)
    table = Table(title=f"simulate {summary['profile']} on {summary['market']}", show_header=False)
    table.add_column(overflow="fold")
    table.add_column(overflow="fold")
    rows = [
        (
            "events",
            f"{summary['events']:,} in {summary['simulated_s']:.1f} s simulated "
            f"({summary['events_per_s'] or 0:,.0f} events/s)",
        ),
        (
            "fills",
            f"{summary['fills']} (maker {summary['maker_fills']}, taker {summary['taker_fills']})",
        ),
        ("volume", f"${summary['volume_usd']:,.2f}"),
        ("FIFO realized PnL", f"${summary['realized_pnl_usd']:,.4f}"),
        ("fees", f"${summary['fees_usd']:,.4f}"),
        ("net PnL (realized - fees + funding)", f"${summary['net_pnl_usd']:,.4f}"),
        ("unrealized at last mid", f"${summary['unrealized_pnl_usd']:,.4f}"),
        (
            "inventory / max |inventory|",
            f"{summary['inventory']:g} / {summary['max_abs_inventory']:g}",
        ),
        ("time flat", f"{summary['time_flat_pct']:.1f} %"),
        (
            "quoting denied by the guard",
            f"{summary.get('quoting_denied_pct', 0.0):.1f} % of decisions",
        ),
        ("markouts 1/5/30/60 s (bps)", _markouts(summary.get("markouts_bps") or {})),
        ("equity (mark-to-market) / max drawdown", _equity(summary)),
        ("profit factor (FIFO closes)", _optional(summary.get("profit_factor"), "{:.2f}")),
        ("hit rate (5 s markout > 0)", _hit_rate(summary)),
        ("mean |inventory| / time to flat", _dwell(summary)),
        (
            "txs per minute",
            f"{summary['tx_per_minute']:.1f} of {summary['tx_budget_per_minute']} "
            f"({summary['tx_dropped_by_budget']} held back by the budget)",
        ),
        (
            "regimes",
            ", ".join(f"{k} {v:.0f} s" for k, v in summary["regime_s"].items())
            + f" ({summary['regime_switches']} switches)",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    # Outside the table and never wrapped by rich: a hash or path must survive copy and paste.
    console.print(f"trace sha256 {summary['trace_sha256']}", soft_wrap=True, highlight=False)
    console.print(f"ledger {summary['db']}", soft_wrap=True, highlight=False)
    active = {k: v for k, v in summary["rules"].items() if v["activations"]}
    if active:
        rules = Table(title="rule activations", show_header=True)
        rules.add_column("rule")
        rules.add_column("activations", justify="right")
        rules.add_column("failed closed", justify="right")  # of which: evaluation failed
        rules.add_column("active s", justify="right")
        for rule_id, info in sorted(active.items()):
            failed = str(info.get("failed_closed_activations", 0))
            rules.add_row(rule_id, str(info["activations"]), failed, f"{info['active_s']:.1f}")
        console.print(rules)
    for note in summary.get("notes", []):
        console.print(f"note: {note}", soft_wrap=True, highlight=False)
    denied = summary.get("quoting_denied_pct") or 0.0
    if denied >= QUOTING_DENIED_WARN_PCT:
        console.print(
            f"warning: the guard denied all quoting in {denied:.1f} % of decisions: "
            f"{summary.get('quoting_denied_reason')}",
            soft_wrap=True,
            highlight=False,
        )


QUOTING_DENIED_WARN_PCT = 50.0  # "most of the run"


def _markouts(markouts: dict[str, float | None]) -> str:
    if not markouts:
        return "n/a"
    return " / ".join("n/a" if v is None else f"{v:+.2f}" for v in markouts.values())


def register(app: typer.Typer) -> None:
    """Add `simulate`."""
    app.command("simulate")(simulate_command)
