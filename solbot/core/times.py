"""Reading times users type: ISO-8601 or epoch numbers, to integer nanoseconds (pure)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from solbot.errors import UsageError

NS_PER_S = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_to_ns(value: int | float | str) -> int:
    """Epoch time in s, ms, µs or ns (told apart by magnitude) to integer nanoseconds, exactly."""
    # Decimal keeps 1.7e18 ns exact, where float arithmetic would be off by ~100 ns.
    number = Decimal(str(value).strip())
    if number < Decimal("1e11"):
        scaled = number * NS_PER_S
    elif number < Decimal("1e14"):
        scaled = number * 1_000_000
    elif number < Decimal("1e17"):
        scaled = number * 1_000
    else:
        scaled = number
    return int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN))


def parse_time_ns(text: str, option: str = "time") -> int:
    """ISO-8601 (UTC when no zone is given) or an epoch time in s, ms, µs or ns."""
    value = text.strip()
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if math.isfinite(number) and number > 0:
        return epoch_to_ns(value)
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise UsageError(
            f"{option}: cannot read time '{text}'; expected ISO-8601 such as "
            "2024-08-08T23:55:00Z or an epoch time in s, ms or ns"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1_000
