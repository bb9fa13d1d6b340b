"""Rasa's SQL tracker store, with SQLite set up for a busy server.

With SQLite, Rasa 3.6's SQLTrackerStore opens a new connection for every read
and write (SQLAlchemy's NullPool) and commits in SQLite's default
rollback-journal mode, which waits for the disk several times per message.
The store blocks Rasa's event loop meanwhile: it was the largest share of the
time per message in the profile (docs/benchmark.md).

This store reads and writes the same rows as Rasa's, with two plain SQL
statements instead of SQLAlchemy ORM queries, whose building and caching cost
more than the database work (reading and saving a message's events went from
4.2 to 2.5 ms). With SQLite it also keeps one connection open per process and
puts the file in write-ahead-log mode with ``synchronous=NORMAL``, SQLite's
recommended setting for WAL: a commit survives the process crashing or being
killed; only a power loss or OS crash can lose the last commits. Several Rasa
processes (Sanic workers) can share the file: readers never wait for the
writer, and a writer waits up to 5 s for another. With any other database
(PostgreSQL) only the two queries differ from Rasa's SQLTrackerStore. Either
way it makes rebuilding a conversation from its events faster
(stores/event_types.py). Use it with
``tracker_store: type: stores.sql_tracker_store.SQLTrackerStore`` and the same
settings as Rasa's ``type: SQL`` (endpoints.yml).
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Optional, Text

import sqlalchemy as sa
from rasa.core import tracker_store
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from stores import event_types

# How long a write waits for another process's write (Python's sqlite3 default too).
BUSY_TIMEOUT_MS = 5_000


# The conversation's events since its latest session start (all of them if it
# has none): the rows Rasa's SQLTrackerStore._event_query selects, same order.
_LATEST_SESSION = """
    FROM events
    WHERE sender_id = :sender_id
      AND (timestamp >= (SELECT max(timestamp) FROM events
                         WHERE sender_id = :sender_id AND type_name = :session_started)
           OR (SELECT max(timestamp) FROM events
               WHERE sender_id = :sender_id AND type_name = :session_started) IS NULL)
"""
SESSION_EVENTS = sa.text(f"SELECT data {_LATEST_SESSION} ORDER BY id")
SESSION_EVENT_COUNT = sa.text(f"SELECT count(*) {_LATEST_SESSION}")
ALL_EVENTS = sa.text("SELECT data FROM events WHERE sender_id = :sender_id ORDER BY id")


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
        if self.engine.dialect.name != "sqlite" or self.engine.url.database in (None, "", ":memory:"):
            return  # an in-memory database lives in Rasa's engine: keep it
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

    def _parameters(self, sender_id: Text) -> dict:
        return {"sender_id": sender_id, "session_started": SessionStarted.type_name}

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """Read the conversation's events (the latest session's, or all) and replay them."""
        with self.session_scope() as session:
            query = ALL_EVENTS if fetch_events_from_all_sessions else SESSION_EVENTS
            events = [json.loads(data) for data in session.execute(query, self._parameters(sender_id)).scalars()]
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Add the events not stored yet, in one transaction."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = session.execute(SESSION_EVENT_COUNT, self._parameters(tracker.sender_id)).scalar()
            rows = []
            for event in itertools.islice(tracker.events, stored, None):
                data = event.as_dict()
                rows.append({
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                })
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
