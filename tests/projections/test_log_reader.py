"""The views' reader of the event log (kamflow/projections/log.py), without the application.

It reads a store by its locator and decodes with the mapper the application builds for
that store (kamflow.stored.log_mapper): the same transcodings, and the same cipher and
compressor settings from the environment, so what the application writes the reader
reads, event for event.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run, typed

from kamflow.application import Kamflow
from kamflow.projections.engine import Projector, caught_up_views
from kamflow.projections.log import StoreSource
from kamflow.storage import parse
from kamflow.stored import log_mapper


@pytest.fixture
def compressed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Under the application's own name, as eventsourcing reads its settings.
    monkeypatch.setenv("KAMFLOW_COMPRESSOR_TOPIC", "eventsourcing.compressor:ZlibCompressor")
    yield


def test_the_reader_decodes_what_the_application_stores_with_its_settings(
    locator: str, compressed: None
) -> None:
    kf = Kamflow(locator)
    try:
        run(kf, "account open", {"account": "acme", "name": "Acme", "industry": "f", "owner": "li"})
        run(kf, "sale record", {"account": "acme", "invoice": "INV-1", "product": "p",
                                "amount": "1200.50", "cost": "700"})  # fmt: skip
        run(kf, "policy set", {"policy": "complaint-sla-days.key", "value": "3", "reason": "r"})
        stored = kf.app.recorder.select_notifications(start=1, limit=100)
        assert kf.app.mapper.compressor is not None  # (the setting is in force)

        with StoreSource(locator) as source:
            read = source.read(0, 100)
            assert source.max_position() == stored[-1].id
    finally:
        kf.close()

    assert [p for p, _ in read] == [n.id for n in stored]
    for (_, got), notification in zip(read, stored, strict=True):
        expected = kf.app.mapper.to_domain_event(notification)
        assert type(got) is type(expected)
        assert typed(vars(got)) == typed(vars(expected))


def test_the_reader_and_the_application_build_the_same_mapper(
    sqlite_locator: str, compressed: None
) -> None:
    kf = Kamflow(sqlite_locator)
    try:
        app = kf.app.mapper
        reader = log_mapper(parse(sqlite_locator).env())
    finally:
        kf.close()

    assert type(reader) is type(app)
    assert sorted(reader.transcoder.names) == sorted(app.transcoder.names)  # type: ignore[attr-defined]
    assert "date_iso" in reader.transcoder.names  # type: ignore[attr-defined]
    assert type(reader.compressor) is type(app.compressor) and reader.cipher is app.cipher is None


def test_a_store_without_an_event_table_reads_as_empty(tmp_path: Path) -> None:
    store = str(tmp_path / "new.db")

    with StoreSource(store) as source:
        assert (source.max_position(), source.read(0, 10)) == (0, [])
    db = caught_up_views(store)
    try:
        projector = Projector(db)
        assert projector.catch_up(StoreSource(store)) == 0
        assert not projector.behind()
    finally:
        db.close()
