"""Plain-text tables for `analyze regimes` and `analyze volatility`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from solbot.app.analysis.outcome import DatasetOutcome as OutcomeDataset
from solbot.app.analysis.outcome import OutcomeReport
from solbot.app.analysis.regimes import DIMENSIONS, RegimeReport
from solbot.app.analysis.timespan import utc
from solbot.app.analysis.volatility import INTERNAL, VolatilityReport, downsample

TEXT_SERIES_ROWS = 12


def table(rows: Sequence[Sequence[str]]) -> str:
    """Aligned columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def number(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:,.{digits}f}"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def render_regimes(report: RegimeReport) -> str:
    s = report.summary
    out = [
        f"run {s['run'] or 'all'} (profile {s['profile']}), market {s['market']}, "
        f"{s['window_s']} s windows; PnL is {s['pnl_definition']}",
        f"ledger  {s['ledger_span_utc']}   "
        f"candles ({s['candle_bar_s'] // 60}m) {s['candles_span_utc']}",
        f"windows {s['joined_windows']} joined of {s['run_windows']}; net of joined windows "
        f"{number(s['joined_net_pnl_usd'], 4)} USD of the run's "
        f"{number(s['run_net_pnl_usd'], 4)}; trend up > {s['trend_up_bps']:g} bps, "
        f"down < {s['trend_down_bps']:g} bps; vol terciles at "
        + (
            " / ".join(f"{edge:.2f}" for edge in s["vol_tercile_edges_bps"]) + " bps (1m sigma)"
            if s["vol_tercile_edges_bps"]
            else "-"
        ),
    ]
    fee_columns = [(f["label"], f["column"]) for f in s["fee_schedules"]]
    for dimension in DIMENSIONS:
        header = [
            "by " + dimension,
            "windows",
            "fills",
            "volume $",
            "net $",
            "net/window",
            "net/fill",
            "net bps/$vol",
            "mo 5s bps",
            "mo 60s bps",
        ]
        header += [f"net @{label}" for label, _ in fee_columns]
        rows = [header]
        for row in report.buckets[dimension]:
            rows.append(
                [
                    str(row["bucket"]),
                    str(row["windows"]),
                    str(row["fills"]),
                    number(row["volume_usd"], 0),
                    number(row["net_pnl_usd"], 4),
                    number(row["net_per_window_usd"], 4),
                    number(row["net_per_fill_usd"], 4),
                    number(row["net_per_volume_bps"], 2),
                    number(row["markout_5s_bps"], 2),
                    number(row["markout_60s_bps"], 2),
                    *(number(row[column], 4) for _, column in fee_columns),
                ]
            )
        pick = report.best_worst[dimension]
        out += ["", table(rows)]
        if pick["best"]:
            best, worst = pick["best"], pick["worst"]
            out.append(
                f"best {best['bucket']} ({number(best['net_per_window_usd'], 4)} $/window), "
                f"worst {worst['bucket']} ({number(worst['net_per_window_usd'], 4)} $/window)"
            )
    corr = report.correlations
    against = list(next(iter(corr.values())))
    rows = [["Pearson r", *against]]
    rows += [[pnl, *(number(corr[pnl][name], 3) for name in against)] for pnl in corr]
    out += ["", table(rows)]
    return "\n".join(out)


def render_volatility(report: VolatilityReport) -> str:
    s = report.summary
    measures = report.measures
    out = [
        f"run {s['run'] or 'all'} (profile {s['profile']}), market {s['market']}, "
        f"{s['marks']} marks {s['run_span_utc']}",
        f"candles ({s['candle_bar_s'] // 60}m) {s['candles_span_utc']}",
        f"internal: {s['internal_definition']}",
        f"external: {s['external_definition']}",
        "",
    ]
    rows = [["measure (bps)", "samples", "median", "mean", "p10", "p90"]]
    for name, stats in measures.items():
        rows.append(
            [
                name,
                str(stats["samples"]),
                *(number(stats[k], 2) for k in ("median", "mean", "p10", "p90")),
            ]
        )
    out.append(table(rows))
    series = downsample(report.series, TEXT_SERIES_ROWS)
    rows = [["side by side (UTC)", *series.columns[1:]]]
    for row in series.iter_rows():
        rows.append([utc(int(row[0])), *(number(value) for value in row[1:])])
    out += ["", f"{series.height} of {report.series.height} candle closes:", table(rows)]
    names = list(measures)
    rows = [["rule (share of time active)", "line bps", *names]]
    for rule in report.rules:
        line = (
            f"{rule['on_bps']:g}"
            if rule["on_bps"] == rule["off_bps"]
            else f"{rule['on_bps']:g}/{rule['off_bps']:g}"
        )
        rows.append(
            [
                f"{rule['rule']} ({rule['active_when']})",
                line,
                *(percent(rule["active_share"][n]) for n in names),
            ]
        )
    out += ["", table(rows)]
    low = next((r for r in report.rules if r["rule"] == "vol.low_pause"), None)
    if low is not None:
        inside, outside = low["active_share"][INTERNAL], low["active_share"].get("mean_abs_60m_bps")
        out += [
            "",
            f"at a glance: internal median {number(measures[INTERNAL]['median'])} bps vs external "
            f"mean |1m return| 60m median {number(measures['mean_abs_60m_bps']['median'])} bps; "
            f"low-vol pause active {percent(inside)} of the time on the internal measure, "
            f"{percent(outside)} on the external one",
        ]
    return "\n".join(out)


def render_outcome(report: OutcomeReport) -> str:
    """Per dataset and overall: the profiles side by side, then their trend x volatility nets."""
    judge = report.judge.label
    out = [
        f"PnL is FIFO net (realized - fees + funding); fee schedules "
        f"{', '.join(s.label for s in report.fees)} (maker/taker bps, recorded fees swapped on "
        f"the run's maker and taker volume); worst bucket, cut, days and drawdown at {judge}; "
        f"baseline {report.baseline}"
    ]
    for outcome in [*report.datasets, report.overall]:
        out += ["", _outcome_block(outcome, report)]
    return "\n".join(out)


def _outcome_block(outcome: OutcomeDataset, report: OutcomeReport) -> str:
    judge = report.judge.label
    head = (
        f"== {outcome.name} [{outcome.mode}] {utc(outcome.span_ns[0])} -> {utc(outcome.span_ns[1])}"
    )
    if outcome.window_s:
        head += f", {outcome.window_s} s windows"
    if outcome.vol_tercile_edges_bps:
        low, high = outcome.vol_tercile_edges_bps
        head += f", vol terciles at {low:.2f} / {high:.2f} bps (1m sigma)"
    worst = outcome.baseline_worst
    lines = [head]
    lines.append(
        f"{report.baseline}'s worst trend x vol bucket at {judge}: "
        + (
            f"{worst['bucket']} ({number(worst['net_usd'], 4)} USD over {worst['windows']} windows)"
            if worst
            else "none lost money"
        )
    )
    header = ["profile", "fills", "volume $", "vol vs " + report.baseline]
    header += [f"net @{s.label}" for s in report.fees]
    header += [f"bps/$ @{s.label}" for s in report.fees]
    header += ["days", f"days>=0 @{judge}", f"max DD @{judge}", "worst-bucket cut"]
    rows = [header]
    base_volume = outcome.profiles[0].volume_usd
    for p in outcome.profiles:
        rows.append(
            [
                p.profile,
                str(p.fills),
                number(p.volume_usd, 0),
                percent(p.volume_usd / base_volume) if base_volume else "-",
                *(number(p.net_usd[s.label], 4) for s in report.fees),
                *(number(p.net_per_volume_bps[s.label], 3) for s in report.fees),
                str(p.days),
                percent(p.days_nonnegative_share[judge]),
                number(p.max_drawdown_usd[judge], 4),
                percent(p.baseline_worst_cut),
            ]
        )
    lines.append(table(rows))
    labels = [str(r["bucket"]) for r in outcome.profiles[0].buckets]
    bucket_rows = [
        ["net @" + judge + " by trend/vol", "windows", *(p.profile for p in outcome.profiles)]
    ]
    column = report.judge.column
    for label in labels:
        cells = []
        windows = "-"
        for p in outcome.profiles:
            row = next((r for r in p.buckets if r["bucket"] == label), None)
            cells.append(number(row[column], 4) if row else "-")
            windows = str(row["windows"]) if row else windows
        bucket_rows.append([label, windows, *cells])
    lines.append(table(bucket_rows))
    return "\n".join(lines)
