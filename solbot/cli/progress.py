"""Progress bars for long jobs: drawn on stderr when it is a terminal, silent otherwise.

rich is imported only when a bar may be drawn (`enabled` and a terminal check to make), so
`--json` runs and `--help` never load it (issue 10, start-up)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Update = Callable[[int, int | None], None]


def no_bar(done: int, total: int | None) -> None:
    """What `progress_bar` yields when nothing is drawn (stderr is not a terminal)."""
    return None


@contextmanager
def progress_bar(label: str, unit: str, *, enabled: bool = True) -> Iterator[Update]:
    """Yield `update(done, total)`; draws bar, count, rate and ETA when stderr is a terminal.

    `total` may be None (unknown: the bar pulses and no ETA is shown)."""
    if not enabled:
        yield no_bar
        return
    from solbot.cli.progress_rich import rich_bar  # rich costs ~0.06 s to import

    with rich_bar(label, unit) as update:
        yield update


def format_rate(per_second: float) -> str:
    """A compact rate: 950, 12.3k, 4.56M."""
    for threshold, suffix in ((1e6, "M"), (1e3, "k")):
        if per_second >= threshold:
            return f"{per_second / threshold:.3g}{suffix}"
    return f"{per_second:.0f}"
