"""The progress bar of ``mcp-paginate fetch``, on stderr::

    ⠹ github_issues ━━━━━━━━━━╺━━━━━━━━━━━  1,200/2,874 records · 12 pages · 310 rec/s · 0:00:04

It ends on a final frame that says how the drain ended: ✓ finished (or stopped at
``--max-records``), ✗ failed or interrupted (Ctrl-C), never on a spinner frame. Piped or
redirected, rich prints only that last frame.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Literal

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

__all__ = ["FetchBar", "Outcome"]

Outcome = Literal["done", "failed"]


class _OutcomeColumn(SpinnerColumn):
    """A spinner while the drain runs; ✓ or ✗ once it has ended."""

    def render(self, task: Task) -> RenderableType:
        outcome = task.fields.get("outcome")
        if outcome == "done":
            return Text("✓", style="green")
        if outcome == "failed":
            return Text("✗", style="red")
        return super().render(task)


class _RecordsColumn(ProgressColumn):
    """``1,200/2,874 records`` (or ``1,200 records`` while the total is unknown)."""

    def render(self, task: Task) -> Text:
        done = f"{int(task.completed):,}"
        if task.total is not None:
            return Text(f"{done}/{int(task.total):,} records", style="progress.download")
        return Text(f"{done} records", style="progress.download")


class _PagesColumn(ProgressColumn):
    """``· 12 pages``."""

    def render(self, task: Task) -> Text:
        pages = task.fields.get("pages", 0)
        return Text(f"· {pages:,} page{'' if pages == 1 else 's'}")


class _RateColumn(ProgressColumn):
    """Records per second since this run started."""

    def render(self, task: Task) -> Text:
        rate = task.fields.get("rate")
        return Text("- rec/s" if rate is None else f"{rate:,.0f} rec/s", style="progress.data.speed")


class FetchBar:
    """One drain's bar, as a context manager: leaving it by an exception (a failure, or the
    cancellation Ctrl-C causes) ends it on ✗; `end` says how it ended otherwise.

    Example::

        with FetchBar(console, "github_issues") as bar:
            bar.update(completed=40, total=None, pages=1, rate=None)
            bar.end("done")
    """

    def __init__(self, console: Console, description: str) -> None:
        self.progress = Progress(
            _OutcomeColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=30),
            _RecordsColumn(),
            _PagesColumn(),
            TextColumn("·"),
            _RateColumn(),
            TextColumn("·"),
            TimeElapsedColumn(),
            console=console,
            redirect_stdout=False,
            redirect_stderr=False,
            transient=False,
        )
        self._description = description
        self._task: TaskID | None = None
        self._stopped = False

    def __enter__(self) -> FetchBar:
        self.progress.start()
        self._task = self.progress.add_task(self._description, total=None, pages=0, rate=None)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            self.end("failed")
        self._stop()

    @property
    def total(self) -> float | None:
        assert self._task is not None
        return self.progress.tasks[0].total

    def update(self, **values: Any) -> None:
        """Update the task: ``completed``, ``total``, and the ``pages`` and ``rate`` fields."""
        assert self._task is not None
        self.progress.update(self._task, **values)

    def end(self, outcome: Outcome) -> None:
        """Stop on the final frame: ✓ for ``done``, ✗ for ``failed``; the bar stays on screen to
        show how far the drain got."""
        if not self._stopped:
            self.update(outcome=outcome)
        self._stop()

    def discard(self) -> None:
        """Stop and erase the bar: nothing was fetched, so it has nothing to say."""
        if not self._stopped:
            self._stopped = True
            self.progress.live.transient = True
            # The live display's own stop: `Progress.stop` would end the erased bar's line,
            # an empty line in piped output.
            self.progress.live.stop()

    def _stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.progress.stop()
