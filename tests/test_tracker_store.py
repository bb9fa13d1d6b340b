"""stores/sql_tracker_store.py against real SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from stores.sql_tracker_store import SESSION_EVENT_COUNT, SESSION_EVENTS, SQLTrackerStore

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet]
slots:
  clinic_name:
    type: text
    mappings: [{type: custom}]
"""
)


def run(coroutine):
    return asyncio.new_event_loop().run_until_complete(coroutine)


def store(path):
    return SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(path))


def conversation(sender, *texts):
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update_with_events(
        [SessionStarted(), ActionExecuted("action_listen"), SlotSet("clinic_name", "Apollo")], DOMAIN
    )
    for text in texts:
        tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
        tracker.update(ActionExecuted("action_listen"))
    return tracker


def test_sqlite_runs_in_write_ahead_log_mode(tmp_path):
    run(store(tmp_path / "t.db").save(conversation("a", "hi")))
    db = sqlite3.connect(tmp_path / "t.db")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_saved_conversation_comes_back_with_its_slots_and_messages(tmp_path):
    first = store(tmp_path / "t.db")
    run(first.save(conversation("a", "hi", "hello again")))
    tracker = run(first.retrieve("a"))
    assert tracker.get_slot("clinic_name") == "Apollo"
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["hi", "hello again"]


def test_two_processes_sharing_the_file_see_each_others_messages(tmp_path):
    # Two stores stand for two Rasa processes (Sanic workers) on one file.
    one, two = store(tmp_path / "t.db"), store(tmp_path / "t.db")
    tracker = conversation("shared", "first")
    run(one.save(tracker))
    tracker = run(two.retrieve("shared"))
    tracker.update(UserUttered("second", {"name": "greet", "confidence": 1.0}))
    run(two.save(tracker))
    texts = [e.text for e in run(one.retrieve("shared")).events if isinstance(e, UserUttered)]
    assert texts == ["first", "second"]  # each stored once, in order


def test_a_saved_event_is_stored_once(tmp_path):
    path = tmp_path / "t.db"
    one = store(path)
    tracker = conversation("once", "hi")
    run(one.save(tracker))
    run(one.save(tracker))  # saving the same tracker again adds nothing
    rows = sqlite3.connect(path).execute("SELECT count(*) FROM events WHERE sender_id = 'once'").fetchone()[0]
    assert rows == len(tracker.events)


def test_the_queries_select_the_rows_rasa_selects(tmp_path):
    """Several sessions, events without a timestamp, and several senders: same rows, same order."""
    import rasa.core.tracker_store as rasa_store

    ours = store(tmp_path / "t.db")
    rows = [
        ("a", "user", 1.0),
        ("a", "session_started", 2.0),
        ("a", "user", 2.0),
        ("a", "user", None),
        ("a", "session_started", 5.0),
        ("a", "slot", 4.0),
        ("a", "user", 6.0),
        ("b", "user", 3.0),
        ("c", "session_started", None),
        ("c", "user", 7.0),
    ]
    with ours.session_scope() as session:
        for sender, kind, timestamp in rows:
            session.add(ours.SQLEvent(sender_id=sender, type_name=kind, timestamp=timestamp, data="{}"))
        session.commit()
    with ours.session_scope() as session:
        for sender in ("a", "b", "c", "nobody"):
            for all_sessions in (False, True):
                rasa_rows = [e.id for e in rasa_store.SQLTrackerStore._event_query(ours, session, sender, all_sessions)]
                query = (
                    """SELECT id FROM events WHERE sender_id = :sender_id ORDER BY id"""
                    if all_sessions
                    else (str(SESSION_EVENTS).replace("SELECT data", "SELECT id"))
                )
                assert [r[0] for r in session.execute(sa.text(query), ours._parameters(sender))] == rasa_rows
            count = session.execute(SESSION_EVENT_COUNT, ours._parameters(sender)).scalar()
            assert count == rasa_store.SQLTrackerStore._event_query(ours, session, sender, False).count()


def test_an_in_memory_database_works(tmp_path):
    memory = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db="")
    run(memory.save(conversation("m", "hi")))
    assert [e.text for e in run(memory.retrieve("m")).events if isinstance(e, UserUttered)] == ["hi"]


def test_a_missing_conversation_is_none(tmp_path):
    assert run(store(tmp_path / "t.db").retrieve("nobody")) is None


# The kept copy of recent conversations (SQLite files only).


def as_dicts(tracker):
    return [event.as_dict() for event in tracker.events]


def fresh_read(path, sender):
    """What a store that has kept nothing reads from the file."""
    return run(store(path).retrieve(sender))


def count_statements(one):
    """Count the statements the store sends to SQLite."""
    statements = []
    sa.event.listen(one.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    return statements


def read_from_copy(one, path, sender):
    """Read the conversation back; the kept copy must serve it and equal the database's rows."""
    statements = count_statements(one)
    tracker = run(one.retrieve(sender))
    assert not any("SELECT data" in sql for sql in statements)  # no events read: the copy was used
    assert as_dicts(tracker) == as_dicts(fresh_read(path, sender))
    return tracker


def start_session(tracker, text):
    """What Rasa's processor adds for a new session and its first message."""
    tracker.update_with_events(
        [
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted("action_listen"),
            UserUttered(text, {"name": "greet", "confidence": 1.0}),
        ],
        DOMAIN,
    )
    return tracker


def say(one, sender, text):
    """One message: read the conversation, add to it, save it, as Rasa's processor does."""
    tracker = run(one.retrieve(sender))
    tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
    tracker.update(ActionExecuted("action_listen"))
    run(one.save(tracker))
    return tracker


def test_a_conversation_read_again_comes_from_the_kept_copy_and_equals_the_database(tmp_path):
    path = tmp_path / "t.db"
    one = store(path)
    run(one.save(conversation("k", "hi")))
    say(one, "k", "and again")
    tracker = read_from_copy(one, path, "k")
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["hi", "and again"]


def test_a_handed_out_tracker_does_not_change_the_kept_copy(tmp_path):
    path = tmp_path / "t.db"
    one = store(path)
    run(one.save(conversation("k", "hi")))
    handed_out = run(one.retrieve("k"))
    handed_out.update(UserUttered("never saved", {"name": "greet", "confidence": 1.0}))
    texts = [e.text for e in run(one.retrieve("k")).events if isinstance(e, UserUttered)]
    assert texts == ["hi"]


def test_another_process_writing_the_conversation_makes_the_copy_out_of_date(tmp_path):
    path = tmp_path / "t.db"
    one, two = store(path), store(path)
    run(one.save(conversation("k", "hi")))
    run(one.retrieve("k"))  # one keeps a copy
    say(two, "k", "from the other process")
    texts = [e.text for e in run(one.retrieve("k")).events if isinstance(e, UserUttered)]
    assert texts == ["hi", "from the other process"]
    say(one, "k", "and back")  # saved after a fresh read: nothing twice, nothing lost
    assert [e.text for e in fresh_read(path, "k").events if isinstance(e, UserUttered)] == [
        "hi",
        "from the other process",
        "and back",
    ]
    rows = sqlite3.connect(path).execute("SELECT count(*) FROM events WHERE sender_id = 'k'").fetchone()[0]
    assert rows == len(fresh_read(path, "k").events)


def test_messages_saved_through_the_copy_are_stored_once_each(tmp_path):
    path = tmp_path / "t.db"
    one = store(path)
    run(one.save(conversation("k", "hi")))
    for number in range(5):
        tracker = say(one, "k", f"message {number}")
    run(one.save(tracker))  # the same tracker again: nothing new
    rows = sqlite3.connect(path).execute("SELECT count(*) FROM events WHERE sender_id = 'k'").fetchone()[0]
    assert rows == len(tracker.events)
    assert as_dicts(run(one.retrieve("k"))) == as_dicts(fresh_read(path, "k"))


def test_a_tracker_not_read_from_this_store_is_saved_by_counting_rows_as_rasa_does(tmp_path):
    path = tmp_path / "t.db"
    one = store(path)
    run(one.save(conversation("k", "hi")))
    rebuilt = DialogueStateTracker.from_dict("k", as_dicts(fresh_read(path, "k")), DOMAIN.slots)  # new objects
    rebuilt.update(UserUttered("later", {"name": "greet", "confidence": 1.0}))
    run(one.save(rebuilt))
    assert [e.text for e in fresh_read(path, "k").events if isinstance(e, UserUttered)] == ["hi", "later"]
    rows = sqlite3.connect(path).execute("SELECT count(*) FROM events WHERE sender_id = 'k'").fetchone()[0]
    assert rows == len(rebuilt.events)


def test_a_conversation_spanning_a_session_start_is_read_back_as_its_latest_session(tmp_path):
    path = tmp_path / "t.db"
    one = store(path)
    run(one.save(conversation("k", "old session")))
    run(one.save(start_session(run(one.retrieve("k")), "new session")))
    again = read_from_copy(one, path, "k")  # kept: the latest session only
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["new session"]
    say(one, "k", "and on")  # saved through the copy: stored once, after the session's rows
    assert as_dicts(run(one.retrieve("k"))) == as_dicts(fresh_read(path, "k"))
    rows = sqlite3.connect(path).execute("SELECT count(*) FROM events WHERE sender_id = 'k'").fetchone()[0]
    assert rows == len(conversation("k", "old session").events) + 4 + 2


def test_a_new_conversation_with_rasas_session_start_is_kept_as_its_session(tmp_path):
    """Rasa's first message: action_session_start, then SessionStarted, then the session."""
    path = tmp_path / "t.db"
    one = store(path)
    tracker = start_session(DialogueStateTracker("n", DOMAIN.slots), "first")
    run(one.save(tracker))
    kept = read_from_copy(one, path, "n")
    assert len(kept.events) == len(tracker.events) - 1  # the database gives back the session only


def test_a_failed_save_forgets_the_copy(tmp_path, monkeypatch):
    path = tmp_path / "t.db"
    one = store(path)
    run(one.save(conversation("k", "hi")))
    tracker = run(one.retrieve("k"))
    tracker.update(UserUttered("lost", {"name": "greet", "confidence": 1.0}))

    import stores.sql_tracker_store as module

    # The write fails (as with a full disk or a locked file): nothing of it may stay.
    monkeypatch.setattr(module, "INSERT_EVENT", "INSERT INTO no_such_table VALUES (?, ?, ?, ?, ?, ?)")
    with pytest.raises(sqlite3.OperationalError):
        run(one.save(tracker))
    monkeypatch.undo()
    statements = count_statements(one)
    texts = [e.text for e in run(one.retrieve("k")).events if isinstance(e, UserUttered)]
    assert any("SELECT data" in sql for sql in statements)  # read from the database
    assert texts == ["hi"]


def test_only_the_latest_conversations_are_kept(tmp_path, monkeypatch):
    import stores.sql_tracker_store as module

    monkeypatch.setattr(module, "CACHE_SIZE", 2)
    one = store(tmp_path / "t.db")
    for sender in ("a", "b", "c"):
        run(one.save(conversation(sender, "hi")))
    assert list(one._kept) == ["b", "c"]
    run(one.retrieve("b"))  # reading makes it the most recent
    run(one.save(conversation("d", "hi")))
    assert list(one._kept) == ["b", "d"]


def test_an_in_memory_database_keeps_no_copy():
    memory = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db="")
    run(memory.save(conversation("m", "hi")))
    assert memory._kept is None


def test_a_tracker_that_differs_from_the_stored_rows_is_not_kept(tmp_path):
    # Rasa saves a tracker by counting the stored rows and adding the rest; if the
    # tracker's first events are not those rows (Rasa's HTTP API can replace a
    # conversation's events), the database ends up different from the tracker.
    path = tmp_path / "t.db"
    one = store(path)
    run(one.save(conversation("k", "hi")))
    other = conversation("k", "X", "Y")  # new objects, a different first message
    run(one.save(other))
    assert as_dicts(run(one.retrieve("k"))) == as_dicts(fresh_read(path, "k"))


def test_a_purged_and_rewritten_conversation_is_read_from_the_database(tmp_path):
    # The privacy purge deletes rows from another process; SQLite then reuses
    # their ids, so a new conversation under the same id can have the same
    # highest id and row count: the newest timestamp still differs.
    path = tmp_path / "t.db"
    one, two = store(path), store(path)
    run(one.save(conversation("k", "secret old")))
    run(one.retrieve("k"))  # one keeps a copy
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM events WHERE sender_id = 'k'")
    run(two.save(conversation("k", "new patient")))
    assert [e.text for e in run(one.retrieve("k")).events if isinstance(e, UserUttered)] == ["new patient"]


def test_a_new_model_drops_the_copies(tmp_path):
    one = store(tmp_path / "t.db")
    run(one.save(conversation("k", "hi")))
    assert "k" in one._kept
    one.domain = DOMAIN  # what Rasa does when it loads a model
    assert not one._kept
    assert one.domain is DOMAIN


def test_copies_are_forgotten_after_a_while(tmp_path, monkeypatch):
    import stores.sql_tracker_store as module

    one = store(tmp_path / "t.db")
    run(one.save(conversation("old", "hi")))
    monkeypatch.setattr(module, "KEEP_SECONDS", 0)
    statements = count_statements(one)
    run(one.retrieve("old"))  # too old: read from the database
    assert any("SELECT data" in sql for sql in statements)
    run(one.save(conversation("new", "hi")))
    assert "old" not in one._kept
