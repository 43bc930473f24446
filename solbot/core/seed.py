"""Rebuild a new session's PnL state from the fills a ledger already holds (pure).

A restart must not reset the daily kill: the realized-PnL windows (5 m, 1 h, UTC day) and the FIFO
lots of the inventory carried over are rebuilt from the ledger's fills at session start.

The seed deliberately spans runs: the loss limits are per account, market and UTC day, not per
run, so every earlier run's fills on the same venue family and market count (see
`Ledger.fills_for_seed`).

FIFO open lots need no replay from the last flat moment: FIFO closes the oldest lots first, so the
lots open at any time are the newest fills on the position's side, the oldest of them cut to what
is left. That bounds the read to a handful of fills before the windows start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from solbot.core.model import Fill
from solbot.core.pnl import SIZE_EPSILON, FifoBook, Lot

NS = 1_000_000_000
DAY_NS = 86_400 * NS


@dataclass(frozen=True, slots=True)
class SeedFills:
    """What the ledger holds for a seed: the position and fills around `since_ns`."""

    since_ns: int
    position_units: float  # signed position just before since_ns
    opening: tuple[Fill, ...]  # newest fills on the position's side before since_ns, oldest first
    recent: tuple[Fill, ...]  # every fill at or after since_ns, in event order


@dataclass(frozen=True, slots=True)
class SeedPoint:
    """One seeded fill: its realized PnL (net of its fee) and the open lots' PnL at its price."""

    ts_ns: int
    realized_usd: float
    unrealized_usd: float


@dataclass(frozen=True, slots=True)
class SeedState:
    """The rebuilt state: open lots now, and the realized PnL of each fill in the windows."""

    lots: tuple[Lot, ...]
    position_units: float
    points: tuple[SeedPoint, ...]
    fill_keys: tuple[tuple[str, str], ...]  # (venue, trade_id) of every fill read

    @property
    def fills(self) -> int:
        return len(self.points)


def pnl_day(ts_ns: int, day_start_ns: int = 0) -> int:
    """The PnL day holding `ts_ns` when days start `day_start_ns` after 00:00 UTC."""
    return (ts_ns - day_start_ns) // DAY_NS


def seed_since_ns(now_ns: int, longest_window_ns: int, day_start_ns: int = 0) -> int:
    """The oldest fill time any window reads at `now_ns`: the PnL day's start or the longest
    rolling window back."""
    day_start = pnl_day(now_ns, day_start_ns) * DAY_NS + day_start_ns
    return min(day_start, now_ns - longest_window_ns)


def opening_lots(position_units: float, opening: tuple[Fill, ...]) -> tuple[Lot, ...]:
    """The FIFO lots behind `position_units`: the newest same-side fills, the oldest cut short."""
    need = abs(position_units)
    if need <= SIZE_EPSILON:
        return ()
    sign = 1 if position_units > 0 else -1
    lots: list[Lot] = []
    for fill in reversed(opening):
        if need <= SIZE_EPSILON:
            break
        if int(fill.side) != sign:
            raise ValueError(f"fill {fill.trade_id}: opening fills must be on the position's side")
        take = min(fill.size, need)
        lots.append(Lot(math.copysign(take, sign), fill.price, fill.ts_ns))
        need -= take
    if need > 1e-9:
        raise ValueError(
            f"opening fills cover {abs(position_units) - need:g} of a {position_units:g} position"
        )
    return tuple(reversed(lots))


def rebuild(seed: SeedFills) -> SeedState:
    """Replay the recent fills on the opening lots: realized per fill, and the lots left now."""
    book = FifoBook()
    book.open_lots(opening_lots(seed.position_units, seed.opening))
    points = []
    for fill in seed.recent:
        realized = book.apply(fill)
        points.append(SeedPoint(fill.ts_ns, realized, book.unrealized(fill.price)))
    keys = tuple((fill.venue, fill.trade_id) for fill in seed.opening + seed.recent)
    return SeedState(book.lots, book.position, tuple(points), keys)
