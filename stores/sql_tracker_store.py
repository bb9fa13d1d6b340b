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
(PostgreSQL) only the two queries differ from Rasa's SQLTrackerStore. Use it with
``tracker_store: type: stores.sql_tracker_store.SQLTrackerStore`` and the same
settings as Rasa's ``type: SQL`` (endpoints.yml).

With an SQLite file it also keeps a copy of the last ``CACHE_SIZE``
conversations it read or wrote. Reading a conversation back (the query, then
decoding and replaying every event of the session) was the largest cost per
message left (1 ms of about 6; `make profile`): each message re-reads the
whole session. A copy is kept only when the database holds exactly its
events (after reading them, or after a save that continued a kept copy or
wrote a whole new session), and used only while the conversation's rows are
unchanged: one indexed query (the highest row id, the row count and the
newest timestamp of that conversation, read *before* the events, so a write
in between makes the copy out of date, never the reverse) decides, so another
process writing to the same file, or the privacy purge, is seen. A save takes
SQLite's write lock before it checks, so no other process can write in
between. On save, the events that are new since the copy are the ones
inserted; otherwise the store counts the stored rows as Rasa does. A
conversation that spans a session start is kept as its latest session (the database gives
back only the latest session: the copy is that session's events, replayed as
a read replays them). Copies are dropped
after ``KEEP_SECONDS`` without use and when the model (and its domain)
changes.
These checks and the SQLite writes run on the sqlite3 connection itself:
SQLAlchemy's session layers cost more than the database work (saving a
message's events went from about 0.7 to 0.37 ms).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections import OrderedDict
from typing import Any, Iterable, Iterator, List, NamedTuple, Optional, Text, Tuple

import sqlalchemy as sa
from rasa.core import tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from rasa_patches.tracker_copy import KEEP_SECONDS, continues, copy_of, forget_least_recent

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
# SQLite only (the kept copies and the direct writes), in sqlite3's parameter style.
# What a kept copy is checked against:
# (SQLite reuses the ids of deleted rows: the newest timestamp tells a purged and
# rewritten conversation apart.)
ROWS_MARKER = "SELECT max(id), count(*), max(timestamp) FROM events WHERE sender_id = ?"
# The columns of Rasa's events table that a save fills, in the order of `_rows`.
COLUMNS = ("sender_id", "type_name", "timestamp", "intent_name", "action_name", "data")
INSERT_EVENT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
CACHE_SIZE = 128  # conversations; a 10-message conversation's copy is about 100 KB


class _Kept(NamedTuple):
    tracker: DialogueStateTracker  # a private copy, never handed out
    marker: Tuple[Any, ...]  # the conversation's (highest row id, row count, newest timestamp) it matches
    since: float  # time.monotonic() when kept


def _latest_session(events: Iterable[Event]) -> List[Event]:
    """Return the events the database gives back as the latest session (``SESSION_EVENTS``), in order.

    Those at or after the newest session start's timestamp; all of them if none
    starts a session.
    """
    events = list(events)
    starts = [event.timestamp for event in events if isinstance(event, SessionStarted)]
    if not starts:
        return events
    newest = max(starts)
    return [event for event in events if event.timestamp >= newest]


def _marker(connection: Any, sender_id: Text) -> Tuple[Any, ...]:
    """Return the conversation's (highest row id, row count, newest timestamp), on an sqlite3 connection."""
    return tuple(connection.execute(ROWS_MARKER, (sender_id,)).fetchone())


def _continues(tracker: DialogueStateTracker, kept: DialogueStateTracker) -> bool:
    """Whether the tracker is the kept copy plus new events (the same event objects first)."""
    return continues(tracker.events, kept.events)


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
        self._kept: Optional["OrderedDict[Text, _Kept]"] = None
        if self.engine.dialect.name != "sqlite" or self.engine.url.database in (None, "", ":memory:"):
            return  # an in-memory database lives in Rasa's engine: keep it
        url = self.engine.url
        self.engine.dispose()
        # One connection per process, kept open and reused; the pool hands it to
        # one session at a time. Pre-ping replaces it if the file went away.
        self.engine = sa.create_engine(
            url,
            poolclass=sa.pool.QueuePool,
            pool_size=1,
            max_overflow=4,
            pool_pre_ping=True,
            connect_args={"check_same_thread": False},
        )
        sa.event.listen(self.engine, "connect", _tune)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self._kept = OrderedDict()

    @property
    def domain(self) -> Domain:
        """The model's domain (Rasa sets it on each model load)."""
        return self._domain

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:
        self._domain = domain or Domain.empty()
        if getattr(self, "_kept", None):
            self._kept.clear()  # the copies carry the old domain's slots

    def _parameters(self, sender_id: Text) -> dict:
        return {"sender_id": sender_id, "session_started": SessionStarted.type_name}

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """Return the tracker of the latest session (from the kept copy if the rows are unchanged), or all sessions."""
        if self._kept is None or fetch_events_from_all_sessions:
            return self._read(sender_id, fetch_events_from_all_sessions)
        with self._sqlite() as connection:  # the marker first: see the module docstring
            marker = _marker(connection, sender_id)
        kept = self._kept.get(sender_id)
        if kept is not None and kept.marker == marker and time.monotonic() - kept.since < KEEP_SECONDS:
            self._kept[sender_id] = kept._replace(since=time.monotonic())
            self._kept.move_to_end(sender_id)
            return kept.tracker.copy()
        tracker = self._read(sender_id, False)
        self._keep(sender_id, tracker, marker)
        return tracker

    def _read(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """Read the conversation's events (the latest session's, or all) and replay them."""
        with self.session_scope() as session:
            query = ALL_EVENTS if fetch_events_from_all_sessions else SESSION_EVENTS
            events = [json.loads(data) for data in session.execute(query, self._parameters(sender_id)).scalars()]
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _keep(self, sender_id: Text, tracker: Optional[DialogueStateTracker], marker: Tuple[Any, ...]) -> None:
        """Keep a copy of the conversation as the database holds it (or forget it)."""
        if tracker is None:
            self._kept.pop(sender_id, None)
            return
        session = _latest_session(tracker.events)
        if len(session) < len(tracker.events):
            # A conversation spanning a session start (its first message, or one after
            # a session expired): keep what a read gives back, the latest session
            # replayed as `_read` replays it.
            tracker = DialogueStateTracker.from_events(sender_id, session, self.domain.slots)
        now = time.monotonic()
        self._kept[sender_id] = _Kept(copy_of(tracker), marker, now)
        self._kept.move_to_end(sender_id)
        forget_least_recent(self._kept, CACHE_SIZE, KEEP_SECONDS, now)

    @contextlib.contextmanager
    def _sqlite(self) -> Iterator[Any]:
        """Yield the process's sqlite3 connection from the pool, without SQLAlchemy's session layers."""
        connection = self.engine.raw_connection()
        try:
            yield connection.connection
        finally:
            connection.close()  # back to the pool

    @staticmethod
    def _rows(tracker: DialogueStateTracker, stored: int) -> List[Tuple[Any, ...]]:
        """Return the events after the first `stored`, as rows of Rasa's events table (`COLUMNS`)."""
        rows = []
        for event in itertools.islice(tracker.events, stored, None):
            data = event.as_dict()
            rows.append(
                (
                    tracker.sender_id,
                    event.type_name,
                    data.get("timestamp"),
                    data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    data.get("name"),
                    json.dumps(data),
                )
            )
        return rows

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Add the events not stored yet, in one transaction."""
        await self.stream_events(tracker)
        if self._kept is not None:
            return self._save_sqlite(tracker)
        with self.session_scope() as session:
            stored = session.execute(SESSION_EVENT_COUNT, self._parameters(tracker.sender_id)).scalar()
            rows = self._rows(tracker, stored)
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), [dict(zip(COLUMNS, row)) for row in rows])
            session.commit()

    def _save_sqlite(self, tracker: DialogueStateTracker) -> None:
        """Save as `save` does, on the sqlite3 connection itself, and keep a copy."""
        sender_id = tracker.sender_id
        # Forget the copy first: if this write fails, the next read goes to the database.
        kept = self._kept.pop(sender_id, None)
        with self._sqlite() as connection:
            try:
                # Take the write lock first: no other process can add rows between
                # the check below and the commit.
                connection.execute("BEGIN IMMEDIATE")
                marker = _marker(connection, sender_id) if kept is not None else None
                if kept is not None and marker == kept.marker and _continues(tracker, kept.tracker):
                    stored = len(kept.tracker.events)  # the kept copy is all stored
                else:
                    marker = None
                    stored = connection.execute(str(SESSION_EVENT_COUNT), self._parameters(sender_id)).fetchone()[0]
                rows = self._rows(tracker, stored)
                if rows:
                    connection.executemany(INSERT_EVENT, rows)
                    # Keep a copy only if the database now holds exactly this tracker:
                    # it continued the kept copy, or the session had no rows before.
                    # (A tracker that differs from the stored rows, say from Rasa's
                    # HTTP API, is saved as Rasa saves it, and read back next time.)
                    if marker is not None or stored == 0:
                        marker = _marker(connection, sender_id)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
        if marker is not None:  # unchanged (nothing new) or read inside the write
            self._keep(sender_id, tracker, marker)
