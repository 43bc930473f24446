"""The rich half of `solbot.cli.progress`, imported only when a bar may be drawn."""

from __future__ import annotations

from collections.abc import Iterator
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

from solbot.cli.progress import Update, format_rate, no_bar


@contextmanager
def rich_bar(label: str, unit: str) -> Iterator[Update]:
    """A rich progress bar on stderr when it is a terminal; `no_bar` otherwise."""
    console = Console(stderr=True)
    if not console.is_terminal:
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
