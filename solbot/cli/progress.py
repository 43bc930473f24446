"""Progress bars for long jobs: drawn on stderr when it is a terminal, silent otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

Update = Callable[[int, int | None], None]


def no_bar(done: int, total: int | None) -> None:
    """What `progress_bar` yields when nothing is drawn (stderr is not a terminal)."""
    return None


@contextmanager
def progress_bar(label: str, unit: str, *, enabled: bool = True) -> Iterator[Update]:
    """Yield `update(done, total)`; draws bar, count, rate and ETA when stderr is a terminal.

    `total` may be None (unknown: the bar pulses and no ETA is shown)."""
    console = Console(stderr=True)
    if not (enabled and console.is_terminal):
        yield no_bar
        return
    with Progress(
        TextColumn(label),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        _RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


class _RateColumn(ProgressColumn):
    """Items per second, e.g. `1.2M events/s` (rich's own speed column is for bytes)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{format_rate(speed)} {self.unit}/s")


def format_rate(per_second: float) -> str:
    """A compact rate: 950, 12.3k, 4.56M."""
    for threshold, suffix in ((1e6, "M"), (1e3, "k")):
        if per_second >= threshold:
            return f"{per_second / threshold:.3g}{suffix}"
    return f"{per_second:.0f}"
