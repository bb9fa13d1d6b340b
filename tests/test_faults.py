"""Faults, through the real servers: the chat goes on in every case.

The action server down, hung or restarted, the Rasa server killed, and the
databases locked or read-only.

The figures are in docs/reliability.md.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
import uuid
from contextlib import contextmanager

import pytest
import yaml

from tests.live import DOMAIN_FILE
from tests.replies import clinic_said

pytestmark = pytest.mark.model

DOMAIN = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
HURTS = clinic_said("utter_faq/does_it_hurt")
PRICE = clinic_said("utter_handoff/price")
CONTACT = (
    "The team at Apollo Physiotherapy Massage and Chiro (NE Calgary, Alberta) can help: "
    "email info@apollophysioyyc.com."
)  # clinics/apollo_calgary.yml, worded by shared/clinic.py
OFFER = "Would you like the clinic to contact you?"
NOT_SAVED = "Sorry, I couldn't save your request just now, so nothing was sent. Please contact the clinic directly."
# What the patient types into the callback form; none of it may reach a log.
NAME, PHONE, EMAIL = "Quentin Zebulon", "403-555-0187", "quentin.zebulon@example.org"


def patient(label: str) -> str:
    return f"fault-{label}-{uuid.uuid4().hex[:8]}"


@contextmanager
def action_server_down(live):
    live.actions.stop()
    try:
        yield
    finally:
        live.actions.start()


def test_action_server_down_faq_works_and_handoff_falls_back_to_the_contact(live):
    sender = patient("down")
    with action_server_down(live):
        # A new session still opens with the notice (Rasa's own session start + the notice).
        opening = live.texts(sender, "hi")
        assert "not medical advice" in opening[0] and "Apollo Physiotherapy" in opening[0], opening
        assert "Apollo Physiotherapy Massage and Chiro" in opening[-1]  # the greeting names the clinic
        # FAQ answers need no action server.
        assert live.texts(sender, "does it hurt?") == [HURTS]
        # The hand-off: its lead, then the contact details from the Rasa server, no callback offer.
        assert live.texts(sender, "how much does a session cost?") == [PRICE, CONTACT]
        # A message it cannot place: the contact details (the clarify action is on the action server).
        [sorry] = live.texts(sender, "blorp zzzt qwv")
        assert sorry.startswith("Sorry, I can't help with that just now.") and CONTACT in sorry
    log = live.rasa.log.read_text(errors="replace")
    assert "Action server unavailable for 'action_clinic_contact' (ClientConnectorError)" in log
    # Back up: the next hand-off has the full contact and the callback offer again.
    assert live.texts(sender, "do you direct bill?")[-2:] == [CONTACT, OFFER]


def test_action_server_hung_times_out_to_the_contact(live):
    """A frozen action server (SIGSTOP) costs ACTION_SERVER_TIMEOUT (10 s here), not Rasa's 5 minutes."""
    sender = patient("hung")
    live.texts(sender, "hi")
    os.killpg(live.actions.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert live.texts(sender, "how much does a session cost?") == [PRICE, CONTACT]
        waited = time.monotonic() - started
    finally:
        os.killpg(live.actions.process.pid, signal.SIGCONT)
    assert 9 < waited < 20, waited
    assert "Action server unavailable for 'action_clinic_contact' (timed out)" in live.rasa.log.read_text()


def test_action_server_down_in_the_callback_form_ends_it_with_the_contact(live):
    sender = patient("form-down")
    assert live.texts(sender, "do you direct bill?")[-1] == OFFER
    assert "What name" in live.texts(sender, "/affirm")[0]
    with action_server_down(live):
        # The form's validation is on the action server: the form ends, the contact is said once.
        assert live.texts(sender, NAME) == [f"Sorry, I can't help with that just now. {CONTACT}"]
        assert live.texts(sender, "does it hurt?") == [HURTS]


def test_action_server_restarted_mid_conversation(live):
    sender = patient("actions-restart")
    assert live.texts(sender, "do you direct bill?")[-1] == OFFER
    assert "What name" in live.texts(sender, "/affirm")[0]
    live.actions.stop()
    live.actions.start()
    assert "phone number or email" in live.texts(sender, NAME)[0]
    assert "good time" in live.texts(sender, PHONE)[0]
    assert "do you direct bill?" in live.texts(sender, "any time")[0]
    assert "Do you agree?" in live.texts(sender, "yes")[0]
    [thanks] = live.texts(sender, "yes")
    assert thanks.startswith(f"Thank you, {NAME}. Your request #")


def test_rasa_server_killed_mid_form_continues_from_the_tracker_store(live):
    """SIGKILL, not a clean stop (tests/test_server.py restarts cleanly): nothing is lost."""
    sender = patient("rasa-kill")
    assert live.texts(sender, "do you direct bill?")[-1] == OFFER
    assert "What name" in live.texts(sender, "/affirm")[0]
    assert "phone number or email" in live.texts(sender, NAME)[0]
    before = live.user_events(sender)
    os.killpg(live.rasa.process.pid, signal.SIGKILL)
    live.rasa.process.wait()
    live.rasa.process = None
    live.rasa.start()
    assert live.user_events(sender) == before == 3
    # The form goes on where it was: the contact details are the next step.
    assert "good time" in live.texts(sender, EMAIL)[0]
    assert live.texts(sender, "cancel") == ["Okay, I've cancelled that and saved nothing."]


def fill_callback_form(live, sender: str) -> list:
    """A whole callback conversation up to the consent; returns the replies to "yes"."""
    assert live.texts(sender, "do you direct bill?")[-1] == OFFER
    for answer in ("/affirm", NAME, PHONE, "weekday mornings", "yes"):
        live.texts(sender, answer)
    return live.texts(sender, "yes")


@contextmanager
def locked(db_path):
    """Another process holds an EXCLUSIVE transaction on the SQLite file."""
    db = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    db.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        db.rollback()
        db.close()


@contextmanager
def read_only(*paths):
    """The files cannot be written: chmod for a normal user; root ignores modes, so chattr +i."""
    if os.geteuid() != 0:
        modes = [path.stat().st_mode for path in paths]
        for path in paths:
            path.chmod(0o444)
        try:
            yield
        finally:
            for path, mode in zip(paths, modes):
                path.chmod(mode)
        return
    names = [str(path) for path in paths]
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", *names]).returncode != 0:
        pytest.skip("running as root without a working chattr: cannot make a file read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *names], check=True)


def tracker_files(db):
    """The tracker database and its write-ahead log (stores/sql_tracker_store.py).

    Root only: the store keeps its connection open, and chmod does not affect a
    file that is already open (chattr +i does).

    Not the -shm index: SQLite maps it into memory, and a write to a mapped page
    of an immutable file kills the process with SIGBUS (tried here). With only
    the database file read-only, writes still succeed into the log.
    """
    if os.geteuid() != 0:
        pytest.skip("an open SQLite connection ignores chmod: making the tracker database read-only needs root")
    return [db, db.with_name(db.name + "-wal")]


def assert_logged_without_personal_data(live, since: int, error: str) -> None:
    log = live.actions.log.read_text(errors="replace")[since:]
    assert f"Could not store a callback request: {error}" in log, log[-2000:]
    for detail in (NAME, "Quentin", "Zebulon", PHONE, "555-0187", "555 0187", EMAIL):
        assert detail not in log


@pytest.mark.parametrize("fault", ["locked", "read-only"])
def test_callback_database_fault_is_logged_and_the_chat_goes_on(live, fault):
    from frontdesk.store import CallbackStore

    CallbackStore(f"sqlite:///{live.callback_db}").list()  # the file and its schema exist
    sender = patient(f"callback-db-{fault}")
    since = live.actions.log.stat().st_size
    with (locked if fault == "locked" else read_only)(live.callback_db):
        replies = fill_callback_form(live, sender)
    assert replies == [NOT_SAVED, CONTACT]
    assert_logged_without_personal_data(live, since, "OperationalError")
    assert live.texts(sender, "does it hurt?") == [HURTS]
    # Once the database is writable again, requests are stored again.
    assert fill_callback_form(live, patient(f"after-{fault}"))[0].startswith(f"Thank you, {NAME}.")


@pytest.mark.parametrize("fault", ["locked", "read-only"])
def test_tracker_database_fault_is_logged_and_the_chat_goes_on(live, fault):
    """What Rasa does when its SQLite tracker store fails (docs/reliability.md has the findings).

    Rasa wraps the tracker store in a FailSafeTrackerStore: on an error it logs it and
    uses an in-memory store for that call, so the patient is answered, but the message
    is not stored in the file, and a locked file costs 5 s per attempt (3 attempts).
    """
    sender = patient(f"tracker-db-{fault}")
    assert live.texts(sender, "hi")
    before = live.user_events(sender)
    since = live.rasa.log.stat().st_size
    with locked(live.tracker_db) if fault == "locked" else read_only(*tracker_files(live.tracker_db)):
        during = live.texts(sender, "does it hurt?")
    assert during[-1] == HURTS  # answered all the same
    log = live.rasa.log.read_text(errors="replace")[since:]
    error = "database is locked" if fault == "locked" else "disk I/O error"
    assert "Error happened when trying to save conversation tracker to 'SQLTrackerStore'" in log
    assert error in log
    # The error names no message text or contact detail (channels/rest.py hides the SQL parameters).
    assert "does it hurt" not in log
    # The message answered during the fault was not stored; the conversation goes on from the file.
    assert live.user_events(sender) == before
    assert live.texts(sender, "does it hurt?") == [HURTS]
    assert live.user_events(sender) == before + 1
