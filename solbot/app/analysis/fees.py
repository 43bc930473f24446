"""Maker/taker fee what-ifs: the recorded fees replaced by a hypothetical schedule, in bps.

net at a schedule = net_pnl_usd + fees_usd - (maker_bps * maker_volume + taker_bps *
taker_volume) / 1e4. So two schedules differ by exactly the fee difference times the volume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from solbot.errors import UsageError


@dataclass(frozen=True)
class FeeSchedule:
    """Maker and taker fee in bps (negative: a rebate)."""

    maker_bps: float
    taker_bps: float

    @property
    def label(self) -> str:
        if self.maker_bps == self.taker_bps:
            return f"{self.maker_bps:g}bps"
        return f"{self.maker_bps:g}/{self.taker_bps:g}bps"

    @property
    def column(self) -> str:
        return f"net_fees_{self.label}_usd"


def parse_fees(text: str) -> list[FeeSchedule]:
    """`0,0.4/2.8,2`: schedules separated by commas; `M/T` maker/taker, `X` both at X bps."""
    schedules = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        parts = item.split("/")
        if len(parts) > 2:
            raise UsageError(f"--fees {text!r}: {item!r} is not MAKER or MAKER/TAKER (bps)")
        try:
            values = [float(part) for part in parts]
        except ValueError:
            raise UsageError(f"--fees {text!r}: {item!r} is not a number of bps") from None
        if not all(math.isfinite(v) and abs(v) <= 1000 for v in values):
            raise UsageError(f"--fees {text!r}: {item!r} must be finite bps within ±1000")
        schedule = FeeSchedule(values[0], values[-1])
        if schedule not in schedules:
            schedules.append(schedule)
    return schedules


def with_fee_columns(frame: pl.DataFrame, schedules: list[FeeSchedule]) -> pl.DataFrame:
    """Add one net column per schedule (see module docstring)."""
    gross = pl.col("net_pnl_usd") + pl.col("fees_usd")
    return frame.with_columns(
        (
            gross
            - (
                pl.col("maker_volume_usd") * schedule.maker_bps
                + pl.col("taker_volume_usd") * schedule.taker_bps
            )
            / 1e4
        ).alias(schedule.column)
        for schedule in schedules
    )
