"""Summary figures of one run, computed from its ledger (fills, marks, funding) in one place.

Definitions (USD unless said otherwise):
- equity curve: at every mark, FIFO realized PnL - fees + funding of everything up to and
  including the mark's time, plus the unrealized PnL of the open lots at the mark's mid
  (mark-to-market). Fills and funding at the same nanosecond as a mark count before it.
- max_drawdown_usd: the largest fall of the equity curve from its running peak (the peak starts
  at 0, the equity before the first fill); 0 when the curve never falls.
- daily_net_pnl_usd: per UTC day, the equity at the day's last mark minus the equity at the
  previous day's last mark (0 before the first day): mark-to-market, so the days sum to the
  final equity.
- profit_factor: gross profit / gross loss over the FIFO realized PnL (gross of fees) of each
  fill that closed lots; None when no close lost money.
- hit_rate_5s: share of the fills with a 5 s markout whose markout is > 0 (see metrics_compute).
- inventory dwell: time-weighted mean |inventory| over [start, end]; the time to flat of each
  excursion (from leaving flat to the fill that brings inventory back to 0): mean and longest of
  the completed ones, and the age of the excursion still open at `end` (0 when flat).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from solbot.app.metrics_compute import PriceHistory, fill_markout_bps
from solbot.core.model import Fill, FundingPayment
from solbot.core.pnl import FifoBook

NS = 1_000_000_000
HIT_HORIZON_S = 5
_FLAT = 1e-12  # |inventory| at or below this is flat (sizes are sums of floats)


@dataclass(frozen=True, slots=True)
class RunFigures:
    """The figures of one run (definitions in the module docstring)."""

    equity: list[tuple[int, float]]
    final_equity_usd: float
    max_drawdown_usd: float
    daily_net_pnl_usd: dict[str, float]
    profit_factor: float | None
    gross_profit_usd: float
    gross_loss_usd: float
    hit_rate_5s: float | None
    hit_samples_5s: int
    mean_abs_inventory: float
    mean_time_to_flat_s: float | None
    max_time_to_flat_s: float | None
    open_excursion_s: float

    def summary(self) -> dict[str, object]:
        """The keys `simulate --json` adds (rounded like the rest of the summary)."""
        return {
            "equity_usd": round(self.final_equity_usd, 6),
            "max_drawdown_usd": round(self.max_drawdown_usd, 6),
            "daily_net_pnl_usd": {d: round(v, 6) for d, v in self.daily_net_pnl_usd.items()},
            "profit_factor": None if self.profit_factor is None else round(self.profit_factor, 4),
            "gross_profit_usd": round(self.gross_profit_usd, 6),
            "gross_loss_usd": round(self.gross_loss_usd, 6),
            "hit_rate_5s": None if self.hit_rate_5s is None else round(self.hit_rate_5s, 4),
            "hit_samples_5s": self.hit_samples_5s,
            "mean_abs_inventory": round(self.mean_abs_inventory, 9),
            "mean_time_to_flat_s": _round(self.mean_time_to_flat_s),
            "max_time_to_flat_s": _round(self.max_time_to_flat_s),
            "open_excursion_s": round(self.open_excursion_s, 3),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def utc_day(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns // NS, UTC).strftime("%Y-%m-%d")


class EquityTracker:
    """The equity curve one mark at a time (marks in time order): bounded state besides fills."""

    def __init__(
        self, market: str, fills: Sequence[Fill], funding: Sequence[FundingPayment]
    ) -> None:
        self.book = FifoBook(market)
        self.fills = fills
        self.funding = funding
        self._fill_i = self._funding_i = 0

    def at(self, ts_ns: int, mid: float) -> float:
        """Realized - fees + funding up to ts_ns, plus the open lots at `mid`."""
        book, fills, funding = self.book, self.fills, self.funding
        while self._fill_i < len(fills) and fills[self._fill_i].ts_ns <= ts_ns:
            book.apply(fills[self._fill_i])
            self._fill_i += 1
        while self._funding_i < len(funding) and funding[self._funding_i].ts_ns <= ts_ns:
            book.apply_funding(funding[self._funding_i].amount_usd)
            self._funding_i += 1
        return book.realized_usd - book.fees_usd + book.funding_usd + book.unrealized(mid)


def equity_curve(
    market: str,
    fills: Sequence[Fill],
    marks: Sequence[tuple[int, float]],
    funding: Sequence[FundingPayment],
) -> list[tuple[int, float]]:
    """(mark time, realized - fees + funding + unrealized at the mark) at every mark."""
    tracker = EquityTracker(market, fills, funding)
    return [(ts, tracker.at(ts, mid)) for ts, mid in marks]


def max_drawdown(curve: Sequence[tuple[int, float]]) -> float:
    peak, worst = 0.0, 0.0
    for _, equity in curve:
        peak = max(peak, equity)
        worst = max(worst, peak - equity)
    return worst


def daily_net(curve: Sequence[tuple[int, float]]) -> dict[str, float]:
    closes: dict[str, float] = {}
    for ts, equity in curve:
        closes[utc_day(ts)] = equity  # the day's last mark wins
    out, previous = {}, 0.0
    for day, close in closes.items():
        out[day] = close - previous
        previous = close
    return out


def realized_closes(market: str, fills: Sequence[Fill]) -> list[float]:
    """FIFO realized PnL (gross of fees) of each fill that closed lots, in order."""
    book = FifoBook(market)
    closes = []
    for fill in fills:
        position = book.position
        gross = book.apply(fill) + fill.fee_usd
        if position != 0 and (position > 0) != (fill.signed_size > 0):
            closes.append(gross)
    return closes


def dwell(fills: Sequence[Fill], start_ns: int, end_ns: int) -> tuple[float, list[float], float]:
    """(time-weighted mean |inventory|, completed times to flat in s, open excursion in s)."""
    inventory = 0.0
    area = 0.0
    last = start_ns
    left_flat: int | None = None
    completed: list[float] = []
    for fill in fills:
        ts = min(max(fill.ts_ns, start_ns), end_ns)
        area += abs(inventory) * (ts - last)
        last = ts
        was_flat = abs(inventory) <= _FLAT
        inventory += fill.signed_size
        now_flat = abs(inventory) <= _FLAT
        if was_flat and not now_flat:
            left_flat = ts
        elif not was_flat and now_flat and left_flat is not None:
            completed.append((ts - left_flat) / NS)
            left_flat = None
    area += abs(inventory) * (end_ns - last)
    span = end_ns - start_ns
    mean = area / span if span > 0 else abs(inventory)
    open_s = (end_ns - left_flat) / NS if left_flat is not None else 0.0
    return mean, completed, open_s


def compute_run_figures(
    market: str,
    fills: Sequence[Fill],
    marks: Sequence[tuple[int, float]],
    funding: Sequence[FundingPayment],
    start_ns: int,
    end_ns: int,
    markouts_5s: Sequence[float | None] | None = None,
) -> RunFigures:
    """Every figure of one run from its fills, marks and funding, in time order.

    `markouts_5s`: each fill's 5 s markout when known better (from the full price path of a
    replay, solbot/app/price_path.py); else read off the marks like `metrics`."""
    curve = equity_curve(market, fills, marks, funding)
    closes = realized_closes(market, fills)
    profit = sum(c for c in closes if c > 0)
    loss = -sum(c for c in closes if c < 0)
    if markouts_5s is None:
        prices = PriceHistory(marks, fills)
        markouts_5s = [fill_markout_bps(f, prices, HIT_HORIZON_S) for f in fills]
    outs = markouts_5s
    sampled = [m for m in outs if m is not None]
    mean_abs, completed, open_s = dwell(fills, start_ns, end_ns)
    return RunFigures(
        equity=curve,
        final_equity_usd=curve[-1][1] if curve else 0.0,
        max_drawdown_usd=max_drawdown(curve),
        daily_net_pnl_usd=daily_net(curve),
        profit_factor=profit / loss if loss > 0 else None,
        gross_profit_usd=profit,
        gross_loss_usd=loss,
        hit_rate_5s=sum(1 for m in sampled if m > 0) / len(sampled) if sampled else None,
        hit_samples_5s=len(sampled),
        mean_abs_inventory=mean_abs,
        mean_time_to_flat_s=sum(completed) / len(completed) if completed else None,
        max_time_to_flat_s=max(completed) if completed else None,
        open_excursion_s=open_s,
    )
