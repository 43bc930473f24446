"""Knobs of the simulated exchange's fill model (queue, latency, fees, tx budget, impact)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

from solbot.errors import ConfigError

QueueModelName = Literal["risk_averse", "probabilistic"]
QUEUE_MODELS: tuple[str, ...] = ("risk_averse", "probabilistic")

# What every trace header should say about the matching assumptions, whatever the knobs.
MATCHING_NOTE = (
    "L1 quotes and trades only; a resting order fills only on a public trade at or through its "
    "price after its queue ahead is consumed (book moves alone never fill: conservative); "
    "taker orders fill at the displayed L1 size, the rest at a linear impact price"
)


@dataclass(frozen=True)
class FillModelSettings:
    """How the simulated exchange matches our orders; defaults are a Lighter Standard account."""

    queue_model: QueueModelName = "risk_averse"
    queue_power: float = 2.0  # probabilistic model shape
    order_latency_ms: float = 200.0  # entry latency (Lighter Standard maker)
    cancel_latency_ms: float = 200.0
    taker_latency_ms: float = 300.0
    maker_fee_bps: float = 0.0  # negative = rebate
    taker_fee_bps: float = 0.0
    tx_per_minute: int = 60  # rolling 60 s window, every command = 1 tx (CancelAll too)
    impact_bps_per_l1: float = 2.0  # extra cost per displayed-L1-size of quantity beyond the top
    seed: int = 0
    latency_jitter_ms: float = 0.0  # optional uniform [0, jitter) added to every latency, seeded

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ConfigError("; ".join(problems))

    def describe(self) -> dict[str, object]:
        """Every knob plus the matching assumptions, for the decision-trace header."""
        return {**asdict(self), "matching": MATCHING_NOTE}


def _problems(settings: FillModelSettings) -> list[str]:
    """Every invalid knob, each naming the field, what was found and what was expected."""
    found: list[str] = []
    if settings.queue_model not in QUEUE_MODELS:
        found.append(
            f"fill_model.queue_model: expected one of {', '.join(QUEUE_MODELS)}, "
            f"got {settings.queue_model!r}"
        )
    non_negative = {
        "order_latency_ms": settings.order_latency_ms,
        "cancel_latency_ms": settings.cancel_latency_ms,
        "taker_latency_ms": settings.taker_latency_ms,
        "impact_bps_per_l1": settings.impact_bps_per_l1,
        "latency_jitter_ms": settings.latency_jitter_ms,
    }
    for name, value in non_negative.items():
        if not _is_number(value) or value < 0:
            found.append(f"fill_model.{name}: expected a finite number >= 0, got {value!r}")
    for name, value in {
        "maker_fee_bps": settings.maker_fee_bps,
        "taker_fee_bps": settings.taker_fee_bps,
    }.items():
        if not _is_number(value):
            found.append(f"fill_model.{name}: expected a finite number, got {value!r}")
    if not _is_number(settings.queue_power) or settings.queue_power <= 0:
        found.append(f"fill_model.queue_power: expected a number > 0, got {settings.queue_power!r}")
    if not _is_int(settings.tx_per_minute) or settings.tx_per_minute < 1:
        found.append(
            f"fill_model.tx_per_minute: expected an integer >= 1, got {settings.tx_per_minute!r}"
        )
    if not _is_int(settings.seed):
        found.append(f"fill_model.seed: expected an integer, got {settings.seed!r}")
    return found


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
