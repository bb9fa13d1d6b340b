"""Front desk: durable storage, the command line, the webhook with retries, the token-protected endpoint."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests

from frontdesk.conversations import purge_conversations
from frontdesk.notify import notify_pending
from frontdesk.store import CallbackStore, NewRequest
from tests.servers import action_server, free_port

ROOT = Path(__file__).resolve().parents[1]
REQUEST = NewRequest("apollo_calgary", "Jane Doe", "+1 403-555-0123", "phone", "mornings", "How much is it?")


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'callbacks.db'}"


def frontdesk(db_url, *args, **env):
    return subprocess.run(
        [sys.executable, "-m", "frontdesk", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CALLBACK_DB_URL": db_url, **env},
        timeout=60,
    )


def test_requests_survive_a_process_restart(db_url):
    # Written by one process...
    code = (
        "from frontdesk.store import CallbackStore, NewRequest;"
        f"CallbackStore({db_url!r}).add("
        "NewRequest('apollo_calgary','Jane Doe','+1 403-555-0123','phone',None,'Cost?'), 'p1')"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    # ...read by another.
    [row] = CallbackStore(db_url).list()
    assert (row.name, row.question, row.status, row.notified) == ("Jane Doe", "Cost?", "open", False)


def test_the_same_request_is_stored_once(db_url):
    store = CallbackStore(db_url)
    first, created = store.add(REQUEST, "p1")
    again, created_again = store.add(REQUEST, "p1")
    assert (created, created_again, first.id) == (True, False, again.id)
    other, created_other = store.add(REQUEST, "another-conversation")
    assert created_other and other.id != first.id


def test_command_line_list_show_done_purge(db_url):
    store = CallbackStore(db_url)
    row, _ = store.add(REQUEST, "p1")
    listing = frontdesk(db_url, "list")
    assert listing.returncode == 0
    assert f"#{row.id}" in listing.stdout and "Jane Doe" in listing.stdout and "1 open request(s)" in listing.stdout
    shown = frontdesk(db_url, "show", str(row.id))
    assert "How much is it?" in shown.stdout and "+1 403-555-0123" in shown.stdout
    assert frontdesk(db_url, "done", str(row.id)).stdout.strip() == f"#{row.id} marked done"
    assert "0 open request(s)" in frontdesk(db_url, "list").stdout
    assert "1 request(s)" in frontdesk(db_url, "list", "--all").stdout
    # Nothing is older than 30 days yet; everything is older than 0 hours.
    assert frontdesk(db_url, "purge", "--older-than", "30d").stdout.startswith("purged 0 request(s)")
    assert frontdesk(db_url, "purge", "--older-than", "0h").stdout.startswith("purged 1 request(s)")
    assert CallbackStore(db_url).list(None) == []


def test_command_line_escapes_control_characters_and_shows_local_time_and_clinic(db_url):
    # A patient's text could clear or recolour the front desk's terminal: it is shown escaped.
    store = CallbackStore(db_url)
    hostile = NewRequest("apollo_calgary", "Jane\x1b[2J", "+1 403-555-0123", "phone", None, "Cost?\x1b[31m red\r\n")
    row, _ = store.add(hostile, "p-hostile")
    listing, shown = frontdesk(db_url, "list").stdout, frontdesk(db_url, "show", str(row.id)).stdout
    for output in (listing, shown):
        assert "\x1b" not in output and "\r" not in output
        assert "Jane\\x1b[2J" in output and "Cost?\\x1b[31m red\\r\\n" in output
    # Times in the clinic's zone (America/Edmonton unless its profile says otherwise), with the zone.
    from zoneinfo import ZoneInfo

    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
    local = created.astimezone(ZoneInfo("America/Edmonton")).strftime("%Y-%m-%d %H:%M %Z")
    assert "(America/Edmonton)" in listing.splitlines()[0] and local in listing and local in shown
    assert "apollo_calgary" in listing.splitlines()[1]  # the clinic column


@pytest.mark.parametrize(
    "args, message",
    [
        (["show", "999"], "no request #999"),  # unknown id
        (["done", "999"], "no request #999"),  # unknown id
        (["purge", "--older-than", "soon"], "is not a duration"),  # bad duration
        (["notify"], "NOTIFY_WEBHOOK_URL is not set"),  # no webhook configured
    ],
)
def test_command_line_errors_are_clear(db_url, args, message):
    result = frontdesk(db_url, *args, NOTIFY_WEBHOOK_URL="")
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


class Hook(BaseHTTPRequestHandler):
    received = []
    paths = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        Hook.paths.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_down_then_up(db_url):
    store = CallbackStore(db_url)
    row, _ = store.add(REQUEST, "p1")
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    # Down: nothing listens. The request stays stored, marked not yet notified.
    assert notify_pending(store, url, attempts=2, backoff=0.01) == 0
    [pending] = store.pending_notifications()
    assert (pending.id, pending.notify_attempts) == (row.id, 2 - 1)
    # Up: the next attempt delivers it, once.
    Hook.received = []
    server = HTTPServer(("127.0.0.1", port), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert notify_pending(store, url, attempts=2, backoff=0.01) == 1
        assert notify_pending(store, url, attempts=2, backoff=0.01) == 0
    finally:
        server.shutdown()
    assert store.pending_notifications() == []
    [message] = Hook.received
    assert f"#{row.id}" in message["text"]
    # No personal details leave in the announcement.
    for private in ("Jane", "403", "How much"):
        assert private not in message["text"]


def test_old_conversations_are_purged(tmp_path):
    db = tmp_path / "tracker.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp REAL)")
        now = time.time()
        conn.executemany(
            "INSERT INTO events (sender_id, timestamp) VALUES (?, ?)",
            [("old", now - 40 * 86400), ("old", now - 35 * 86400), ("recent", now - 40 * 86400), ("recent", now)],
        )
    assert purge_conversations(db, timedelta(days=30)) == 1
    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute("SELECT DISTINCT sender_id FROM events")] == ["recent"]


@pytest.fixture(scope="module")
def actions_with_token(tmp_path_factory):
    logs = tmp_path_factory.mktemp("frontdesk")
    url = f"sqlite:///{logs / 'callbacks.db'}"
    CallbackStore(url).add(REQUEST, "p1")
    server = action_server(logs, env={"FRONTDESK_TOKEN": "s3cret-token", "CALLBACK_DB_URL": url}).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    "headers, status",
    [
        ({}, 401),  # no token
        ({"Authorization": "Bearer wrong"}, 401),  # wrong token
        ({"Authorization": "s3cret-token"}, 401),  # not a bearer token
        ({"Authorization": "Bearer s3cret-token"}, 200),  # the right token
    ],
)
def test_endpoint_needs_the_token(actions_with_token, headers, status):
    response = requests.get(f"{actions_with_token.url}/frontdesk/requests", headers=headers, timeout=10)
    assert response.status_code == status
    if status == 200:
        [request] = response.json()["requests"]
        assert request["name"] == "Jane Doe" and request["status"] == "open"
    else:
        assert "Jane" not in response.text


def test_endpoint_marks_done(actions_with_token):
    auth = {"Authorization": "Bearer s3cret-token"}
    [request] = requests.get(f"{actions_with_token.url}/frontdesk/requests", headers=auth, timeout=10).json()[
        "requests"
    ]
    done = requests.post(f"{actions_with_token.url}/frontdesk/requests/{request['id']}/done", headers=auth, timeout=10)
    assert done.json()["status"] == "done"
    assert requests.get(f"{actions_with_token.url}/frontdesk/requests", headers=auth, timeout=10).json() == {
        "requests": []
    }
    assert (
        requests.post(f"{actions_with_token.url}/frontdesk/requests/999/done", headers=auth, timeout=10).status_code
        == 404
    )


@pytest.mark.parametrize(
    "request_id",
    [
        "abc",  # not a number (was a 500 with a traceback)
        "-1",  # negative
        "1.5",  # not a whole number
        "99999999999999999999999",  # larger than the database holds
        "%F0%9F%98%80",  # an emoji
    ],
)
def test_endpoint_answers_a_malformed_id_with_404(actions_with_token, request_id):
    auth = {"Authorization": "Bearer s3cret-token"}
    done = requests.post(f"{actions_with_token.url}/frontdesk/requests/{request_id}/done", headers=auth, timeout=10)
    assert done.status_code == 404 and "error" in done.json()


def test_endpoint_is_off_without_a_configured_token(tmp_path):
    server = action_server(
        tmp_path, env={"FRONTDESK_TOKEN": "", "CALLBACK_DB_URL": f"sqlite:///{tmp_path}/c.db"}
    ).start()
    try:
        response = requests.get(f"{server.url}/frontdesk/requests", headers={"Authorization": "Bearer "}, timeout=10)
        assert response.status_code == 503
    finally:
        server.stop()


# ---- Tenancy: each clinic's front desk sees and closes only its own requests.
ANN = NewRequest("apollo_calgary", "Ann Apollo", "+1 403-555-0101", "phone", None, "Apollo question?")
BOB = NewRequest("dynamic_okotoks", "Bob Dynamic", "+1 403-555-0202", "phone", None, "Dynamic question?")
TOKENS = {
    "FRONTDESK_TOKEN": "",
    "FRONTDESK_TOKEN_APOLLO_CALGARY": "token-apollo",
    "FRONTDESK_TOKEN_DYNAMIC_OKOTOKS": "token-dynamic",
}


@pytest.fixture(scope="module")
def two_clinics(tmp_path_factory):
    logs = tmp_path_factory.mktemp("tenancy")
    url = f"sqlite:///{logs / 'callbacks.db'}"
    store = CallbackStore(url)
    ann, _ = store.add(ANN, "conversation-a")
    bob, _ = store.add(BOB, "conversation-b")
    server = action_server(logs, env={**TOKENS, "CALLBACK_DB_URL": url}).start()
    yield server, ann.id, bob.id, store
    server.stop()


def _get(server, token):
    response = requests.get(
        f"{server.url}/frontdesk/requests?status=all", timeout=10, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    return {r["id"]: r for r in response.json()["requests"]}


def test_a_clinics_token_can_neither_read_nor_close_another_clinics_requests(two_clinics):
    server, ann, bob, store = two_clinics
    # Each token lists only its own clinic's request.
    assert set(_get(server, "token-apollo")) == {ann}
    assert set(_get(server, "token-dynamic")) == {bob}
    assert "Bob" not in json.dumps(_get(server, "token-apollo"))
    # Apollo's token cannot close Dynamic's request: a 404, as for a request that does not exist.
    refused = requests.post(
        f"{server.url}/frontdesk/requests/{bob}/done", timeout=10, headers={"Authorization": "Bearer token-apollo"}
    )
    assert refused.status_code == 404 and "Bob" not in refused.text
    assert store.get(bob).status == "open"
    # Dynamic's own token closes it.
    closed = requests.post(
        f"{server.url}/frontdesk/requests/{bob}/done", timeout=10, headers={"Authorization": "Bearer token-dynamic"}
    )
    assert closed.status_code == 200 and closed.json()["clinic_id"] == "dynamic_okotoks"
    assert store.get(bob).status == "done" and store.get(ann).status == "open"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer token-apollo-and-more"},  # a longer string that starts like a token
        {"Authorization": "token-apollo"},  # not a bearer token
        {"Authorization": "Bearer "},  # an empty token (the default clinic has none here)
    ],
)
def test_only_a_clinics_exact_token_is_let_in(two_clinics, headers):
    server = two_clinics[0]
    assert requests.get(f"{server.url}/frontdesk/requests", headers=headers, timeout=10).status_code == 401


def test_the_command_line_shows_and_closes_only_the_named_clinics_requests(db_url):
    store = CallbackStore(db_url)
    ann, _ = store.add(ANN, "conversation-a")
    bob, _ = store.add(BOB, "conversation-b")
    listing = frontdesk(db_url, "list", "--clinic", "dynamic_okotoks")
    assert "Bob Dynamic" in listing.stdout and "Ann Apollo" not in listing.stdout
    default = frontdesk(db_url, "list", CLINIC_ID="apollo_calgary")  # CLINIC_ID when --clinic is not given
    assert "Ann Apollo" in default.stdout and "Bob Dynamic" not in default.stdout
    refused = frontdesk(db_url, "done", str(bob.id), "--clinic", "apollo_calgary")
    assert refused.returncode == 1 and f"no request #{bob.id} for apollo_calgary" in refused.stderr
    assert frontdesk(db_url, "show", str(bob.id), "--clinic", "apollo_calgary").returncode == 1
    assert store.get(bob.id).status == "open"
    assert frontdesk(db_url, "done", str(bob.id), "--clinic", "dynamic_okotoks").returncode == 0
    assert store.get(bob.id).status == "done" and store.get(ann.id).status == "open"


def test_each_clinic_is_told_on_its_own_webhook(db_url):
    store = CallbackStore(db_url)
    ann, _ = store.add(ANN, "conversation-a")
    bob, _ = store.add(BOB, "conversation-b")
    port = free_port()
    hooks = {"apollo_calgary": f"http://127.0.0.1:{port}/apollo", "dynamic_okotoks": f"http://127.0.0.1:{port}/dynamic"}
    Hook.received, Hook.paths = [], []
    server = HTTPServer(("127.0.0.1", port), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert notify_pending(store, hooks.get, attempts=1) == 2
    finally:
        server.shutdown()
    told = dict(zip(Hook.paths, (m["text"] for m in Hook.received)))
    assert f"#{ann.id} for apollo_calgary" in told["/apollo"]
    assert f"#{bob.id} for dynamic_okotoks" in told["/dynamic"]
