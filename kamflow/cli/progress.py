"""One progress bar for every long operation (demo, apply, projections rebuild, and the
imports, exports and checks to come): drawn on stderr only when stderr is a terminal.

    from kamflow.cli.progress import progress

    with progress("applying", total=lines, unit="lines") as bar:
        for line in lines:
            ...
            bar.advance()

A script, a pipe or a log file gets nothing from it: the bar writes no byte, not even a
line end, when stderr is not a terminal, and rich is not even imported then. On a
terminal it shows what is done, the rate and the time left (for a known ``total``),
and is erased when the block ends, so that the command's own answer (on stdout) is what
stays on the screen. ``NO_COLOR`` (https://no-color.org) is honoured by rich: no
colours, the bar still drawn.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Bar(Protocol):
    """What a long operation tells its bar: ``advance(n)`` after each ``n`` units done
    (usable as a ``Callable[[int], None]`` callback), or ``update(done, total)`` with
    the count so far (and the total); ``set_total(n)`` once the total is known (None:
    unknown, the bar then shows the count and the rate)."""

    def advance(self, n: int = 1) -> None: ...

    def update(self, done: int, total: int | None = None) -> None: ...

    def set_total(self, total: int | None) -> None: ...


class _Silent:
    def advance(self, n: int = 1) -> None:
        pass

    def update(self, done: int, total: int | None = None) -> None:
        pass

    def set_total(self, total: int | None) -> None:
        pass


class _Drawn:
    def __init__(self, bar: Any, task: Any) -> None:
        self._bar = bar
        self._task = task

    def advance(self, n: int = 1) -> None:
        self._bar.advance(self._task, n)

    def update(self, done: int, total: int | None = None) -> None:
        if total is None:
            self._bar.update(self._task, completed=done)
        else:
            self._bar.update(self._task, completed=done, total=total)

    def set_total(self, total: int | None) -> None:
        self._bar.update(self._task, total=total)


def drawn(stream: Any = None) -> bool:
    """Whether a bar is drawn: when ``stream`` (stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False


@contextmanager
def progress(description: str, total: int | None = None, *, unit: str = "") -> Iterator[Bar]:
    """A bar on stderr for the length of the block when stderr is a terminal, else a bar
    that does nothing. ``description`` says what is being done (``applying``),
    ``total`` how many units there are (None: not known yet), ``unit`` what they are
    (``lines``, ``events``), shown after the count and in the rate: ``applying ━━━━━╸
    41% 2,460/6,000 lines 352 lines/s 0:00:10``."""
    if not drawn():
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            shown = f"{speed:,.0f} {unit or 'units'}/s" if speed else ""
            return Text(shown, style="progress.data.speed")

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        Rate(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield _Drawn(bar, bar.add_task(description, total=total))
