"""`solbot compare`: runs side by side (summary figures, days, rules), differences marked."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from solbot.app.metrics import LATEST, bucket_rows, window_report
from solbot.errors import DataError, Problem, UsageError

DAY_S = 86_400
# Figures that say where or how fast a run went, not what it did: never a "difference".
SKIPPED = frozenset({"wall_s", "events_per_s", "window_start_ns", "window_end_ns"})
RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class RunView:
    """What compare reads from one run: a run folder (summary.json + ledger) or a ledger."""

    label: str
    figures: dict[str, float | int | str | None]
    days: dict[str, dict[str, float]]  # YYYY-MM-DD -> net_pnl_usd, volume_usd
    rule_active_s: dict[str, float] | None  # None: the source does not record rules (a ledger)
    bucket_pnl: dict[str, float] = field(default_factory=dict)  # regime bucket -> net PnL


# The hook for per-regime-bucket PnL (`analyze regimes`): a run's ledger and the candle files to
# {bucket label: net PnL}.
BucketPnl = Callable[[Path, tuple[Path, ...]], dict[str, float]]


@dataclass
class Comparison:
    """Rows of values, one per source, with a flag where the sources disagree."""

    labels: list[str]
    figures: list[tuple[str, list[Any], bool]] = field(default_factory=list)
    days: list[tuple[str, list[dict[str, float] | None], bool]] = field(default_factory=list)
    rules: list[tuple[str, list[float | None], bool]] = field(default_factory=list)
    buckets: list[tuple[str, list[float | None], bool]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for `--json`."""
        return {
            "sources": self.labels,
            "figures": {n: {"values": v, "differs": d} for n, v, d in self.figures},
            "days": {n: {"values": v, "differs": d} for n, v, d in self.days},
            "rule_active_s": {n: {"values": v, "differs": d} for n, v, d in self.rules},
            "bucket_pnl_usd": {n: {"values": v, "differs": d} for n, v, d in self.buckets},
        }


def load_view(
    path: Path,
    run: str = LATEST,
    candles: tuple[Path, ...] = (),
    bucket_pnl: BucketPnl | None = None,
) -> RunView:
    """A run folder (`runs/<name>/` with summary.json) or a ledger file (+ `run`); with candles
    and the bucket hook, also the run's PnL per regime bucket."""
    view = _load(path, run)
    if bucket_pnl is None or not candles:
        return view
    ledger = path / "ledger.db" if path.is_dir() else path
    if not ledger.is_file():
        return view
    return replace(view, bucket_pnl=bucket_pnl(ledger, candles))


def _load(path: Path, run: str) -> RunView:
    if path.is_dir():
        return _run_folder(path)
    if path.is_file():
        report = window_report(path, run=run)
        figures = {
            key: value
            for key, value in report.to_json().items()
            if _scalar(value) and key not in SKIPPED
        }
        return RunView(f"{path}@{run}", figures, _days(path, run), None)
    raise UsageError(f"{path}: no such run folder or ledger file")


def _run_folder(folder: Path) -> RunView:
    summary_path = folder / "summary.json"
    if not summary_path.is_file():
        raise UsageError(f"{folder}: not a run folder (no summary.json); give a ledger file")
    try:
        summary = json.loads(summary_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(Problem(str(summary_path), 1, 1, "", f"not JSON: {error}")) from None
    if not isinstance(summary, dict):
        raise DataError(Problem(str(summary_path), 1, 1, "", "expected a JSON object"))
    figures = {
        key: value for key, value in summary.items() if _scalar(value) and key not in SKIPPED
    }
    figures.pop("db", None)
    figures.pop("out_dir", None)
    figures.pop("trace", None)
    rules = {
        rule_id: float(info.get("active_s", 0.0))
        for rule_id, info in (summary.get("rules") or {}).items()
        if isinstance(info, dict)
    }
    ledger = folder / "ledger.db"
    days = _days(ledger, LATEST) if ledger.is_file() else {}
    return RunView(str(folder), figures, days, rules)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, int | float | str)


def _days(ledger: Path, run: str) -> dict[str, dict[str, float]]:
    """Net PnL (realized - fees + funding) and volume per UTC day of the run."""
    _, rows = bucket_rows(ledger, window_s=DAY_S, run=run)
    days: dict[str, dict[str, float]] = {}
    for row in rows:
        day = datetime.fromtimestamp(row["bucket_start_ms"] / 1000, UTC).strftime("%Y-%m-%d")
        net = row["realized_pnl_usd"] - row["fees_usd"] + row["funding_usd"]
        entry = days.setdefault(day, {"net_pnl_usd": 0.0, "volume_usd": 0.0})
        entry["net_pnl_usd"] = round(entry["net_pnl_usd"] + net, 6)
        entry["volume_usd"] = round(entry["volume_usd"] + row["volume_usd"], 6)
    return days


def compare_views(views: Sequence[RunView]) -> Comparison:
    """Line the views up: every figure, day and rule any of them has, in a stable order."""
    if len(views) < 2:
        raise UsageError("compare needs at least two runs or ledgers")
    comparison = Comparison([view.label for view in views])
    for name in _union(view.figures for view in views):
        values = [view.figures.get(name) for view in views]
        comparison.figures.append((name, values, _differs(values)))
    for day in sorted(_union(view.days for view in views)):
        entries = [view.days.get(day) for view in views]
        flat = [None if e is None else (e["net_pnl_usd"], e["volume_usd"]) for e in entries]
        comparison.days.append((day, entries, _differs(flat)))
    with_rules = [view.rule_active_s for view in views]
    for rule_id in sorted(_union(r for r in with_rules if r is not None)):
        active = [None if r is None else r.get(rule_id, 0.0) for r in with_rules]
        comparison.rules.append((rule_id, active, _differs(active)))
    for bucket in _union(view.bucket_pnl for view in views):
        pnl = [view.bucket_pnl.get(bucket) for view in views]
        comparison.buckets.append((bucket, pnl, _differs(pnl)))
    return comparison


def _union(mappings: Any) -> list[str]:
    seen: dict[str, None] = {}
    for mapping in mappings:
        for key in mapping:
            seen.setdefault(key, None)
    return list(seen)


def _differs(values: Sequence[Any]) -> bool:
    """True when two sources that both have the value disagree (a missing value is no verdict)."""
    present = [value for value in values if value is not None]
    return any(not _same(present[0], value) for value in present[1:])


def _same(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
