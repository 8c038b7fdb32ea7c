"""Which views a report reads: the stored ones, or, on a read-only store, throw-away ones.

A store whose file or folder is not writable is opened read-only (kamflow.storage). Its
stored views answer when they are already caught up; when they are not, they cannot be
caught up there, so the report reads views built in memory from the whole log, exactly
as ``--as-of`` does for a past date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kamflow.projections.db import ViewDB
from kamflow.projections.engine import caught_up_views, views_as_of
from kamflow.storage import ReadOnlyStore, parse

if TYPE_CHECKING:
    from kamflow.application import Kamflow

# Later than any record time: every stored event is in the throw-away views.
END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def report_views(locator: str, open_store: Callable[[], Kamflow]) -> ViewDB:
    """The views of a store, caught up with its log (see caught_up_views); on a read-only
    store whose views are behind (or missing), views built in memory from its log.
    Raises StorageError when the store cannot be read at all."""
    if not parse(locator).read_only:
        return caught_up_views(locator, open_store)
    try:
        return caught_up_views(locator, open_store)
    except ReadOnlyStore:
        return views_as_of(open_store(), END_OF_TIME)
