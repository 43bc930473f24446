"""Checks that refuse data files that lie: clocks out of order, absurd prices, crossed books.

Each check names the first offending row as file:line:column (via `Table`) so the user can look.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from solbot.adapters.data.table import Table

Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# A receive clock may step back a little (capture threads, NTP slews); more than this is a row
# that lies about its time, and sorting it would move it minutes or years away from its place.
BACKWARDS_TOLERANCE_NS = 10 * 1_000_000_000
# A row whose exchange-minus-receive gap differs from the file's typical gap by more than this
# has a wrong exchange time (the capture clock is off by a constant, not by minutes per row).
CLOCK_GAP_TOLERANCE_NS = 60 * 1_000_000_000
# Quote files where more rows are crossed than this share are refused (bid and ask swapped?).
MAX_CROSSED_SHARE = 0.5


def check_receive_clock(table: Table, name: str, receive_ns: Ints) -> None:
    """Refuse a non-positive receive time, or one out of order beyond the tolerance."""
    table.check(receive_ns <= 0, name, "expected a positive epoch time")
    if len(receive_ns) < 2:
        return
    step = np.diff(receive_ns)
    backwards = step < -BACKWARDS_TOLERANCE_NS
    if not backwards.any():
        return
    k = int(np.argmax(backwards))  # rows k and k+1 disagree by more than the tolerance
    # Blame row k when the rows around it agree with each other (a spike), else row k+1.
    spike = k > 0 and receive_ns[k + 1] - receive_ns[k - 1] >= -BACKWARDS_TOLERANCE_NS
    row = k if spike else k + 1
    seconds = abs(int(step[k])) / 1e9
    raise table.fail(
        row,
        name,
        f"receive time out of order by {seconds:,.3f} s against its neighbours (more than "
        f"{BACKWARDS_TOLERANCE_NS // 1_000_000_000} s allowed), found {int(receive_ns[row])}",
    )


def typical_clock_gap_ns(receive_ns: Ints, exchange_ns: Ints) -> int:
    """The exchange-minus-receive gap that puts the capture clock at or after the exchange's.

    The largest gap among rows that agree with the file's median gap within
    CLOCK_GAP_TOLERANCE_NS, not the largest of all: one row with a wrong exchange time must not
    shift every row of the replay. (A plain percentile would also resist it, but would leave the
    fastest 0.1 % of rows of a clean capture with a negative feed latency.)
    """
    gaps = exchange_ns - receive_ns
    median = np.median(gaps)
    agreeing = gaps[np.abs(gaps - median) <= CLOCK_GAP_TOLERANCE_NS]
    return int(agreeing.max())


def check_clock_gaps(
    table: Table, name: str, receive_ns: Ints, exchange_ns: Ints, known: Mask
) -> None:
    """Refuse a row whose exchange time is far off what the rest of the file says."""
    if not known.any():
        return
    gaps = exchange_ns - receive_ns
    median = int(np.median(gaps[known]))
    bad = known & (np.abs(gaps - median) > CLOCK_GAP_TOLERANCE_NS)
    if bad.any():
        row = int(np.argmax(bad))
        off = (int(gaps[row]) - median) / 1e9
        found = table.frame.get_column(name)[row]
        raise table.fail(
            row,
            name,
            f"exchange time {off:+,.3f} s off the file's usual receive gap (more than "
            f"{CLOCK_GAP_TOLERANCE_NS // 1_000_000_000} s allowed), found {found!r}",
        )


def crossed_note(
    table: Table, bid_ticks: Ints, ask_ticks: Ints, present: Mask | None = None
) -> list[str]:
    """A note counting crossed rows (bid above ask), or a refusal when most rows are crossed."""
    crossed = bid_ticks > ask_ticks
    if present is not None:
        crossed &= present
    count = int(np.count_nonzero(crossed))
    if count == 0:
        return []
    row = int(np.argmax(crossed))
    problem = table.problem(row, "bid_price", "")
    where = f"{problem.path}:{problem.line}"
    rows = int(np.count_nonzero(present)) if present is not None else len(crossed)
    if count > MAX_CROSSED_SHARE * rows:
        raise table.fail(
            row,
            "bid_price",
            f"bid above ask in {count} of {rows} rows: are the bid and ask columns swapped?",
        )
    return [f"{count} crossed rows (bid above ask), the first at {where}"]
