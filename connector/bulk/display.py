"""The progress bar of an import (rich): rows done, rate and time left, and what it waits for."""

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
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RowRate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s", style="progress.data.speed")


class Bar:
    """What the importer reports to: rows done, and a note while it waits (rate limit, retries)."""

    def __init__(self, progress: Progress, task: TaskID, title: str) -> None:
        self.progress, self.task, self.title = progress, task, title

    def advance(self, rows: int) -> None:
        self.progress.update(self.task, advance=rows, description=self.title)

    def note(self, text: str) -> None:
        self.progress.update(self.task, description=f"{self.title} ({text})")


@contextmanager
def progress_bar(title: str, total: int, done: int) -> Iterator[Bar]:
    """A bar on stderr for ``total`` rows of which ``done`` were done by an earlier run."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RowRate(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    with progress:
        task = progress.add_task(title, total=total, completed=done)
        yield Bar(progress, task, title)
