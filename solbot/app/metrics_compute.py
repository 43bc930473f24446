"""PnL windows, markouts and per-bucket slices computed from fills, marks and funding.

Definitions (all USD, all over the window [start, end], both ends included):
- realized_pnl_usd: FIFO realized PnL, gross of fees, of the fills inside the window; lots opened
  before the window count (every fill since the beginning is replayed to build them).
- cash_flow_usd: quote received minus quote paid by the window's fills, fees included.
- net_pnl_usd = realized_pnl_usd - fees_usd + funding_usd (closed-trade PnL after costs).
- unrealized_pnl_usd: open lots at the end, valued at the mark (see `PriceHistory.at`).
- total_pnl_usd = net_pnl_usd + unrealized at end - unrealized at start, which equals
  cash_flow_usd + funding_usd + inventory_end * mark_end - inventory_start * mark_start.
- markouts_bps[h]: mean over the window's fills of side * (mid(t + h) - mid(t)) / mid(t) * 1e4,
  i.e. signed bps the mid moved in our favour h seconds after the fill, read off the price path:
  the marks (one a second) together with the mids recorded on our fills. mid(t) is the fill's
  recorded mid, else the path at t; the path at x is interpolated linearly in time between the
  newest observation at or before x and the oldest at or after x when both are at most 5 s from
  x (an observation exactly at x is taken as is); when the earlier one is older than that, the
  later one is used alone. Without an observation in [x, x + 5 s] there is no value (the data
  does not reach x). Fills without both values are left out; no sample gives None.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from solbot.core.model import Fill, FundingPayment
from solbot.core.pnl import BookTotals, FifoBook

MARKOUT_HORIZONS_S = (1, 5, 30, 60)
MARK_TOLERANCE_NS = 5_000_000_000
_NS_PER_S = 1_000_000_000


def _time(observation: tuple[int, float]) -> int:
    return observation[0]


class PriceHistory:
    """Marks of one market, with our own fills as a fallback valuation when marks are missing."""

    def __init__(self, marks: Sequence[tuple[int, float]], fills: Sequence[Fill]) -> None:
        self._mark_ts = [ts for ts, _ in marks]
        self._mark_mid = [mid for _, mid in marks]
        self._fill_ts = [f.ts_ns for f in fills]
        self._fills = list(fills)
        self._path_ts: list[int] | None = None
        self._path_mid: list[float] | None = None

    def at(self, ts_ns: int) -> tuple[float, str] | None:
        """Newest observation at or before ts_ns: a mark, else a fill's mid, else a fill's price."""
        mark_i = bisect.bisect_right(self._mark_ts, ts_ns) - 1
        fill_i = bisect.bisect_right(self._fill_ts, ts_ns) - 1
        if mark_i < 0 and fill_i < 0:
            return None
        # Prefer the mark unless one of our fills is strictly newer than it.
        if fill_i < 0 or (mark_i >= 0 and self._mark_ts[mark_i] >= self._fill_ts[fill_i]):
            return self._mark_mid[mark_i], "mark"
        last = self._fills[fill_i]
        return (last.mid, "fill_mid") if last.mid is not None else (last.price, "fill_price")

    def _path(self) -> tuple[list[int], list[float]]:
        """Marks and our fills' recorded mids, in time order (marks first at equal times)."""
        if self._path_ts is None or self._path_mid is None:
            recorded = [(f.ts_ns, f.mid) for f in self._fills if f.mid is not None and f.mid > 0]
            merged = list(
                heapq.merge(zip(self._mark_ts, self._mark_mid, strict=True), recorded, key=_time)
            )
            self._path_ts = [ts for ts, _ in merged]
            self._path_mid = [mid for _, mid in merged]
        return self._path_ts, self._path_mid

    def mid_at(self, ts_ns: int, tolerance_ns: int = MARK_TOLERANCE_NS) -> float | None:
        """The price path at ts_ns (module docstring): interpolated between its neighbours."""
        times, mids = self._path()
        after = bisect.bisect_left(times, ts_ns)
        if after == len(times) or times[after] - ts_ns > tolerance_ns:
            return None
        if times[after] == ts_ns:
            last = bisect.bisect_right(times, ts_ns) - 1  # the newest observation at that time
            return mids[last]
        before = after - 1
        if before < 0 or ts_ns - times[before] > tolerance_ns:
            return mids[after]
        weight = (ts_ns - times[before]) / (times[after] - times[before])
        return mids[before] + weight * (mids[after] - mids[before])


def fill_markout_bps(fill: Fill, prices: PriceHistory, horizon_s: int) -> float | None:
    """Signed bps the mid moved in our favour `horizon_s` after one fill; None without prices."""
    reference = fill.mid if fill.mid is not None else prices.mid_at(fill.ts_ns)
    if reference is None or reference <= 0:
        return None
    later = prices.mid_at(fill.ts_ns + horizon_s * _NS_PER_S)
    if later is None:
        return None
    return int(fill.side) * (later - reference) / reference * 1e4


@dataclass(frozen=True, slots=True)
class Markouts:
    """Mean signed markout per horizon (None without samples) and the sample counts."""

    bps: dict[str, float | None]
    samples: dict[str, int]


def markouts(fills: Sequence[Fill], prices: PriceHistory) -> Markouts:
    """Markouts at MARKOUT_HORIZONS_S for `fills` (see module docstring)."""
    sums = dict.fromkeys(MARKOUT_HORIZONS_S, 0.0)
    counts = dict.fromkeys(MARKOUT_HORIZONS_S, 0)
    for f in fills:
        for horizon in MARKOUT_HORIZONS_S:
            value = fill_markout_bps(f, prices, horizon)
            if value is not None:
                sums[horizon] += value
                counts[horizon] += 1
    return Markouts(
        bps={str(h): (sums[h] / counts[h] if counts[h] else None) for h in MARKOUT_HORIZONS_S},
        samples={str(h): counts[h] for h in MARKOUT_HORIZONS_S},
    )


@dataclass(frozen=True, slots=True)
class WindowReport:
    """PnL of one market over one window (definitions in the module docstring)."""

    market: str | None
    window_start_ns: int | None
    window_end_ns: int | None
    fills: int = 0
    maker_fills: int = 0
    taker_fills: int = 0
    volume_usd: float = 0.0
    maker_volume_usd: float = 0.0
    taker_volume_usd: float = 0.0
    realized_pnl_usd: float = 0.0
    cash_flow_usd: float = 0.0
    fees_usd: float = 0.0
    funding_usd: float = 0.0
    net_pnl_usd: float = 0.0
    inventory_start: float = 0.0
    inventory: float = 0.0
    mark_price: float | None = None
    mark_source: str | None = None
    unrealized_pnl_usd: float | None = 0.0
    total_pnl_usd: float | None = 0.0
    markouts_bps: dict[str, float | None] = field(default_factory=dict)
    markout_samples: dict[str, int] = field(default_factory=dict)
    run: RunScope | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain dict for `--json` output."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RunScope:
    """Which run a report reads: one run (its profile and data span) or all (FIFO spans runs)."""

    run_id: str | None  # None: every run
    kind: str | None = None
    profile: str | None = None
    first_ns: int | None = None
    last_ns: int | None = None
    runs: int = 1
    fifo_spans_runs: bool = False  # True when lots of one run may be closed by another's fills

    def describe(self) -> str:
        """One line for text output."""
        if self.run_id is None:
            spans = "; FIFO spans runs" if self.fifo_spans_runs else ""
            return f"all runs ({self.runs}){spans}"
        return f"{self.run_id} ({self.kind}, profile {self.profile})"


def compute_window(
    market: str,
    fills: Sequence[Fill],
    marks: Sequence[tuple[int, float]],
    funding: Sequence[FundingPayment],
    start_ns: int | None,
    end_ns: int,
) -> WindowReport:
    """Window report from every fill up to end_ns (in event order), marks and window funding."""
    prices = PriceHistory(marks, fills)
    book = FifoBook(market)
    first_inside = 0
    while (
        start_ns is not None and first_inside < len(fills) and fills[first_inside].ts_ns < start_ns
    ):
        book.apply(fills[first_inside])
        first_inside += 1
    before = book.totals()
    unrealized_start = 0.0 if start_ns is None else _unrealized(book, prices, start_ns - 1)[0]
    inside = [f for f in fills[first_inside:] if f.ts_ns <= end_ns]
    for fill in inside:
        book.apply(fill)
    unrealized_end, mark = _unrealized(book, prices, end_ns)
    return assemble_window(
        WindowEnds(market, start_ns, end_ns, fills[0].ts_ns if fills else None),
        (before, unrealized_start),
        (book.totals(), unrealized_end, mark),
        funding,
        markouts(inside, prices),
    )


@dataclass(frozen=True, slots=True)
class WindowEnds:
    """Which market and window a report covers; first_fill_ns starts an open-ended window."""

    market: str
    start_ns: int | None
    end_ns: int
    first_fill_ns: int | None


def assemble_window(
    ends: WindowEnds,
    start: tuple[BookTotals, float | None],
    end: tuple[BookTotals, float | None, tuple[float, str] | None],
    funding: Sequence[FundingPayment],
    outs: Markouts,
) -> WindowReport:
    """The report from the FIFO totals and unrealized PnL at both ends (and mark at the end)."""
    before, unrealized_start = start
    after, unrealized_end, mark = end
    funding_usd = sum(p.amount_usd for p in funding)
    net = after.realized_usd - before.realized_usd - (after.fees_usd - before.fees_usd)
    net += funding_usd
    total = None
    if unrealized_end is not None and unrealized_start is not None:
        total = net + unrealized_end - unrealized_start
    return WindowReport(
        market=ends.market,
        window_start_ns=ends.start_ns if ends.start_ns is not None else ends.first_fill_ns,
        window_end_ns=ends.end_ns,
        **_deltas(before, after),
        funding_usd=funding_usd,
        net_pnl_usd=net,
        inventory_start=before.position,
        inventory=after.position,
        mark_price=mark[0] if mark else None,
        mark_source=mark[1] if mark else None,
        unrealized_pnl_usd=unrealized_end,
        total_pnl_usd=total,
        markouts_bps=outs.bps,
        markout_samples=outs.samples,
    )


def no_markouts() -> Markouts:
    """Markouts of a window without fills or without any price to read them from."""
    return Markouts(
        bps={str(h): None for h in MARKOUT_HORIZONS_S},
        samples={str(h): 0 for h in MARKOUT_HORIZONS_S},
    )


def unrealized_at(
    book: FifoBook, mark: tuple[float, str] | None
) -> tuple[float | None, tuple[float, str] | None]:
    """Unrealized PnL at a mark; None when holding inventory with no price."""
    if mark is None:
        return (0.0 if book.position == 0 else None), None
    return book.unrealized(mark[0]), mark


def _unrealized(
    book: FifoBook, prices: PriceHistory, ts_ns: int
) -> tuple[float | None, tuple[float, str] | None]:
    """Unrealized PnL at the price known at ts_ns; None when holding inventory with no price."""
    return unrealized_at(book, prices.at(ts_ns))


def _deltas(before: BookTotals, after: BookTotals) -> dict[str, Any]:
    """Differences of the running totals that a window or bucket reports."""
    return {
        "fills": after.fills - before.fills,
        "maker_fills": after.maker_fills - before.maker_fills,
        "taker_fills": after.taker_fills - before.taker_fills,
        "volume_usd": after.volume_usd - before.volume_usd,
        "maker_volume_usd": after.maker_volume_usd - before.maker_volume_usd,
        "taker_volume_usd": after.taker_volume_usd - before.taker_volume_usd,
        "realized_pnl_usd": after.realized_usd - before.realized_usd,
        "cash_flow_usd": after.cash_flow_usd - before.cash_flow_usd,
        "fees_usd": after.fees_usd - before.fees_usd,
    }


def data_span(
    fills: Sequence[Fill],
    marks: Sequence[tuple[int, float]],
    funding: Sequence[FundingPayment],
) -> tuple[int, int]:
    """First and last time an export covers: from the first fill or funding to the newest data."""
    starts = [fills[0].ts_ns] + ([funding[0].ts_ns] if funding else [])
    ends = [fills[-1].ts_ns] + ([marks[-1][0]] if marks else []) + [p.ts_ns for p in funding[-1:]]
    return min(starts), max(ends)


BUCKET_COLUMNS = (
    "bucket_start_ms", "window_seconds", "market", "fills", "maker_fills", "taker_fills",
    "volume_usd", "maker_volume_usd", "taker_volume_usd", "base_delta", "realized_pnl_usd",
    "realized_cumulative_usd", "cash_flow_usd", "fees_usd", "funding_usd", "inventory_end",
    "mark_price", "mark_source", "unrealized_pnl_usd", "true_pnl_usd",
)  # fmt: skip


def compute_buckets(
    market: str,
    fills: Sequence[Fill],
    marks: Sequence[tuple[int, float]],
    funding: Sequence[FundingPayment],
    window_s: int,
) -> list[dict[str, Any]]:
    """One row per bucket floor(ts / W) * W over `data_span` (empty when there are no fills).

    Every row uses the lots, inventory and mark AT THE END OF ITS OWN BUCKET. Empty buckets are
    kept, so true_pnl_usd (= realized - fees + funding + change in unrealized) sums over the rows
    to the mark-to-market PnL of the whole period.
    """
    if not fills:
        return []
    width = window_s * _NS_PER_S
    first_ts, last_ts = data_span(fills, marks, funding)
    first_bucket, last_bucket = first_ts // width, last_ts // width
    prices = PriceHistory(marks, fills)
    book = FifoBook(market)
    fill_i = funding_i = 0
    previous_unrealized: float | None = 0.0
    rows = []
    for bucket in range(first_bucket, last_bucket + 1):
        end = (bucket + 1) * width  # exclusive
        before = book.totals()
        while fill_i < len(fills) and fills[fill_i].ts_ns < end:
            book.apply(fills[fill_i])
            fill_i += 1
        while funding_i < len(funding) and funding[funding_i].ts_ns < end:
            book.apply_funding(funding[funding_i].amount_usd)
            funding_i += 1
        after = book.totals()
        unrealized, mark = _unrealized(book, prices, end - 1)
        deltas = _deltas(before, after)
        funding_usd = after.funding_usd - before.funding_usd
        true_pnl = None
        if unrealized is not None and previous_unrealized is not None:
            true_pnl = deltas["realized_pnl_usd"] - deltas["fees_usd"] + funding_usd
            true_pnl += unrealized - previous_unrealized
        rows.append(
            {
                "bucket_start_ms": bucket * width // 1_000_000,
                "window_seconds": window_s,
                "market": market,
                **deltas,
                "base_delta": after.position - before.position,
                "realized_cumulative_usd": after.realized_usd,
                "funding_usd": funding_usd,
                "inventory_end": after.position,
                "mark_price": mark[0] if mark else None,
                "mark_source": mark[1] if mark else None,
                "unrealized_pnl_usd": unrealized,
                "true_pnl_usd": true_pnl,
            }
        )
        previous_unrealized = unrealized
    return [{name: row[name] for name in BUCKET_COLUMNS} for row in rows]
