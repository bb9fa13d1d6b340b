"""Rasa's SQL tracker store, with SQLite set up for a busy server.

With SQLite, Rasa 3.6's SQLTrackerStore opens a new connection for every read
and write (SQLAlchemy's NullPool) and commits in SQLite's default
rollback-journal mode, which waits for the disk several times per message.
The store blocks Rasa's event loop meanwhile: it was the largest share of the
time per message in the profile (docs/benchmark.md).

This store keeps one connection open per process and puts the file in
write-ahead-log mode with ``synchronous=NORMAL``, SQLite's recommended setting
for WAL: a commit survives the process crashing or being killed; only a power
loss or OS crash can lose the last commits. Several Rasa processes (Sanic
workers) can share the file: readers never wait for the writer, and a writer
waits up to 5 s for another. With any other database (PostgreSQL) it is
exactly Rasa's SQLTrackerStore. Either way it also makes rebuilding a
conversation from its events faster (stores/event_types.py). Use it with
``tracker_store: type: stores.sql_tracker_store.SQLTrackerStore`` and the same
settings as Rasa's ``type: SQL`` (endpoints.yml).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core import tracker_store

from stores import event_types

# How long a write waits for another process's write (Python's sqlite3 default too).
BUSY_TIMEOUT_MS = 5_000


def _tune(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


class SQLTrackerStore(tracker_store.SQLTrackerStore):
    """Rasa's SQLTrackerStore; with SQLite, one open connection and write-ahead logging."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Connect as Rasa's `type: SQL` store does, then tune an SQLite engine."""
        super().__init__(*args, **kwargs)
        event_types.install()
        if self.engine.dialect.name != "sqlite":
            return
        url = self.engine.url
        self.engine.dispose()
        # One connection per process, kept open and reused; the pool hands it to
        # one session at a time. Pre-ping replaces it if the file went away.
        self.engine = sa.create_engine(
            url, poolclass=sa.pool.QueuePool, pool_size=1, max_overflow=4, pool_pre_ping=True,
            connect_args={"check_same_thread": False},
        )
        sa.event.listen(self.engine, "connect", _tune)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
