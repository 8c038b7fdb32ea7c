"""kamflow's clock: record time, and "now" for the business date of reads.

One module-level clock that tests swap (``set_clock``; tests/conftest.py ``fake_clock``)
and that no command-line option reaches. A ``Kamflow`` may carry a clock of its own
(the demo lays a year of history that way). Cheap to import: reports read it without
loading the event store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def real_clock() -> datetime:
    """The machine's time, timezone-aware, in UTC (as record times are stored)."""
    return datetime.now(UTC)


_clock: Clock = real_clock


def set_clock(clock: Clock | None) -> None:
    """Swap the module's clock, which every Kamflow built without a clock of its own
    reads (the tests' ``fake_clock``); ``None`` puts the real clock back."""
    global _clock
    _clock = clock or real_clock


def now() -> datetime:
    """The module clock's time now."""
    return _clock()
