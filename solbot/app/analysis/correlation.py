"""Pearson correlation with the cases that have no answer made explicit (None)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def pearson(x: Sequence[float | None], y: Sequence[float | None]) -> float | None:
    """Pearson r over the pairs where both values are known; None for < 3 pairs or no variance."""
    pairs = [
        (float(a), float(b))
        for a, b in zip(x, y, strict=True)
        if a is not None and b is not None and math.isfinite(a) and math.isfinite(b)
    ]
    count = len(pairs)
    if count < 3:
        return None
    mean_x = sum(a for a, _ in pairs) / count
    mean_y = sum(b for _, b in pairs) / count
    sxx = sum((a - mean_x) ** 2 for a, _ in pairs)
    syy = sum((b - mean_y) ** 2 for _, b in pairs)
    if sxx <= 0.0 or syy <= 0.0:
        return None
    sxy = sum((a - mean_x) * (b - mean_y) for a, b in pairs)
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))
