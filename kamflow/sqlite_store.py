"""eventsourcing's SQLite factory, waiting for another process's lock as kamflow says.

A module of its own, named by topic in the store's settings (Kamflow.__init__), so that
opening a PostgreSQL store does not import eventsourcing's SQLite module.
"""

from __future__ import annotations

import eventsourcing.sqlite
from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.utils import EnvType

from kamflow.sealed import SealedSQLiteRecorder, sealing_off


class SQLiteStoreFactory(eventsourcing.sqlite.SQLiteFactory):
    """eventsourcing's SQLite factory, making the sealed application recorder
    (``kamflow.sealed``) and waiting for another process's lock as long as
    KAMFLOW_LOCK_TIMEOUT says, fractions of a second included (eventsourcing's own
    setting takes whole seconds and reads 0 as its default of 5)."""

    LOCK_SECONDS = "SQLITE_LOCK_SECONDS"
    application_recorder_class = SealedSQLiteRecorder

    def __init__(self, env: EnvType | None) -> None:
        super().__init__(env)
        seconds = float(self.env.get(self.LOCK_SECONDS) or "5")
        # Before any connection is made: the pool reads it in each new connection.
        self.datastore.pool.lock_timeout = max(seconds, 0.001)  # type: ignore[assignment]

    def application_recorder(self) -> ApplicationRecorder:
        if not sealing_off():
            return super().application_recorder()
        # The benchmark's baseline (and an "older kamflow" in tests): no seal tables.
        recorder = UnsealedSQLiteRecorder(datastore=self.datastore)
        if self.env_create_table():
            recorder.create_table()
        return recorder


class UnsealedSQLiteRecorder(SealedSQLiteRecorder):
    """The same recorder without seals or their tables (``sealing_off``)."""

    sealing = False
