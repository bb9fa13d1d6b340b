"""The front desk's inbox page and the live hand-off, over HTTP against the real action and Rasa servers.

The patient talks over REST; the front desk signs in, sees the conversation
waiting, takes it, replies and hands it back through the inbox's forms (which
call Rasa's HTTP API with the run's token). The widget's side is in
tests/browser/test_inbox_browser.py.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest
import requests
import yaml

from frontdesk.auth import check_password, hash_password
from frontdesk.report import redact, similar, wording
from frontdesk.store import CallbackStore, NewRequest
from tests.servers import ROOT, action_server, free_port, rasa_server

pytestmark = pytest.mark.model

PASSWORD = "correct horse battery staple"
DYNAMIC_TOKEN = "dynamic-front-desk-token"
API_TOKEN = uuid.uuid4().hex
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
INBOX = "/frontdesk/inbox"


class Webhook:
    """A Slack-compatible webhook on loopback that keeps what it is told."""

    def __init__(self) -> None:
        told = self.told = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                told.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def webhook():
    hook = Webhook()
    yield hook
    hook.server.shutdown()


@pytest.fixture(scope="module")
def servers(tmp_path_factory, webhook):
    """Start the action server (with the inbox) and Rasa with its HTTP API; yield (actions, rasa, callbacks url)."""
    folder = tmp_path_factory.mktemp("inbox")
    callbacks = f"sqlite:///{folder / 'callbacks.db'}"
    rasa_port = free_port()
    env = {
        "CALLBACK_DB_URL": callbacks,
        "TRACKER_DB": str(folder / "tracker.db"),
        "FRONTDESK_PASSWORD_HASH_APOLLO_CALGARY": hash_password(PASSWORD),
        "FRONTDESK_TOKEN_DYNAMIC_OKOTOKS": DYNAMIC_TOKEN,
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "RASA_API_TOKEN": API_TOKEN,
        "PERSON_WAIT_MINUTES": "0.1",  # 6 s: the callback offer comes in the test's time
        "NOTIFY_WEBHOOK_URL": webhook.url,
    }
    actions = action_server(folder, env=env).start()
    rasa = rasa_server(
        folder, actions.url, folder / "tracker.db", extra=["--enable-api", "--auth-token", API_TOKEN], port=rasa_port
    ).start()
    yield actions, rasa, callbacks
    rasa.stop()
    actions.stop()


def say(rasa, sender, text, clinic_id="apollo_calgary"):
    body = {"sender": sender, "message": text, "metadata": {"clinic_id": clinic_id}}
    response = requests.post(f"{rasa.url}/webhooks/rest/webhook", json=body, timeout=60)
    response.raise_for_status()
    return [m.get("text") for m in response.json()]


def sign_in(actions, clinic, password):
    browser = requests.Session()
    response = browser.post(f"{actions.url}{INBOX}/sign-in", data={"clinic": clinic, "password": password}, timeout=30)
    return browser, response


def csrf(page_html):
    return re.search(r"name='csrf' value='([^']+)'", page_html).group(1)


def events(rasa, sender):
    response = requests.get(f"{rasa.url}/conversations/{sender}/tracker", params={"token": API_TOKEN}, timeout=30)
    return response.json()["events"]


def test_passwords_are_stored_only_as_pbkdf2_hashes():
    stored = hash_password(PASSWORD, iterations=1000)
    assert stored.startswith("pbkdf2_sha256$1000$") and PASSWORD not in stored
    assert check_password(PASSWORD, stored) and not check_password("wrong", stored)
    assert not check_password(PASSWORD, "md5$whatever")  # another scheme: refused


def test_the_session_cookie_is_httponly_and_samesite(servers):
    actions, _, _ = servers
    _, response = sign_in(actions, "dynamic_okotoks", DYNAMIC_TOKEN)
    cookie = response.history[0].headers["Set-Cookie"]
    assert "dn_inbox=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/frontdesk/inbox" in cookie


def test_callback_requests_are_listed_as_text_in_local_time_and_closed_only_with_the_csrf_token(servers):
    actions, _, callbacks = servers
    request = NewRequest("dynamic_okotoks", "<b>Sam</b>", "+1 403-555-0199", "phone", None, "<script>alert(1)</script>")
    row, _ = CallbackStore(callbacks).add(request, f"p-{uuid.uuid4().hex[:6]}")
    browser, page = sign_in(actions, "dynamic_okotoks", DYNAMIC_TOKEN)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
    assert "&lt;b&gt;Sam&lt;/b&gt;" in page.text and "America/Edmonton" in page.text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d M[SD]T", page.text)  # the clinic's local time, with its zone
    done = f"{actions.url}{INBOX}/requests/{row.id}/done"
    assert browser.post(done, data={}, timeout=30).status_code == 403  # no CSRF token
    assert browser.post(done, data={"csrf": "forged"}, timeout=30).status_code == 403  # a wrong one
    assert CallbackStore(callbacks).get(row.id).status == "open"
    assert browser.post(done, data={"csrf": csrf(page.text)}, timeout=30).status_code == 200
    assert CallbackStore(callbacks).get(row.id).status == "done"


def test_live_hand_off_take_reply_hand_back(servers, webhook):
    actions, rasa, _ = servers
    patient = f"live-{uuid.uuid4().hex[:8]}"
    asked = say(rasa, patient, "can I talk to a real person please")
    # The clinic's webhook is told someone is waiting, with no personal data.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any("waiting" in t.get("text", "") for t in webhook.told):
        time.sleep(0.2)
    ping = [t for t in webhook.told if "waiting" in t.get("text", "")][-1]
    assert ping == {"text": "A patient is waiting for a person in the Apollo Physiotherapy Massage and Chiro inbox."}
    requested = DOMAIN["responses"]["utter_person_requested"][0]["text"].split("{")[0]
    assert any(t and t.startswith(requested) for t in asked)  # told honestly what happens next
    browser, page = sign_in(actions, "apollo_calgary", PASSWORD)
    url = f"{actions.url}{INBOX}/conversations/{quote(patient, safe='')}"
    assert f"/conversations/{patient}" in page.text and "Waiting since" in page.text
    # Take it: the assistant says so and goes quiet.
    conversation = browser.get(url, timeout=30)
    token = csrf(conversation.text)
    assert browser.post(f"{url}/take", data={"csrf": token}, timeout=60).status_code == 200
    assert say(rasa, patient, "my knee hurts after needling, what should I do?") == []  # paused: nobody answers
    assert browser.post(f"{url}/reply", data={"csrf": token, "text": "Hi, this is Jo. Can you describe it?"}).ok
    shown = browser.get(url, timeout=30).text
    assert "my knee hurts after needling" in shown and "Hi, this is Jo. Can you describe it?" in shown
    stored = [e for e in events(rasa, patient) if e["event"] == "bot" and (e.get("data") or {}).get("custom")]
    assert stored[-1]["data"]["custom"]["data"]["frontdesk"]["text"] == "Hi, this is Jo. Can you describe it?"
    # Hand it back: the assistant answers again.
    assert browser.post(f"{url}/hand-back", data={"csrf": token}, timeout=60).status_code == 200
    assert any(say(rasa, patient, "does it hurt?"))


def test_another_clinics_conversations_are_invisible(servers):
    actions, rasa, _ = servers
    patient = f"other-{uuid.uuid4().hex[:8]}"
    say(rasa, patient, "I want to talk to a human")
    browser, page = sign_in(actions, "dynamic_okotoks", DYNAMIC_TOKEN)
    assert patient not in page.text
    url = f"{actions.url}{INBOX}/conversations/{patient}"
    assert browser.get(url, timeout=30).status_code == 404
    assert browser.post(f"{url}/take", data={"csrf": csrf(page.text)}, timeout=30).status_code == 404


def test_nobody_takes_it_in_time_and_the_callback_form_is_offered(servers):
    _, rasa, _ = servers
    patient = f"wait-{uuid.uuid4().hex[:8]}"
    say(rasa, patient, "can I speak to someone at the clinic")
    nobody = DOMAIN["responses"]["utter_nobody_came"][0]["text"].split("{")[0]
    deadline = time.monotonic() + 60
    said = []
    while time.monotonic() < deadline:
        said = [e.get("text") or "" for e in events(rasa, patient) if e["event"] == "bot"]
        if any(t.startswith(nobody) for t in said):
            break
        time.sleep(1)
    assert any(t.startswith(nobody) for t in said)
    assert said[-1] == DOMAIN["responses"]["utter_offer_callback"][0]["text"]


def test_the_unanswered_questions_report_groups_counts_and_redacts(servers):
    actions, rasa, _ = servers
    for sender, text in [
        (f"r1-{uuid.uuid4().hex[:6]}", "how much does it cost? call me at 403-555-0123"),
        (f"r2-{uuid.uuid4().hex[:6]}", "How much does it cost"),
        (f"r3-{uuid.uuid4().hex[:6]}", "my name is Jane Smith, do you direct bill? jane@example.com"),
    ]:
        say(rasa, sender, text)
    browser, _ = sign_in(actions, "apollo_calgary", PASSWORD)
    page = browser.get(f"{actions.url}{INBOX}/report", timeout=30).text
    assert "hand-off: price" in page and "hand-off: insurance" in page
    csv = browser.get(f"{actions.url}{INBOX}/report.csv", timeout=30)
    assert csv.headers["Content-Type"].startswith("text/csv")
    rows = csv.text.splitlines()
    assert rows[0] == "week,outcome,count,example"
    price = [r for r in rows if "hand-off: price" in r]
    assert len(price) == 1 and ",2," in price[0]  # two wordings of one question, counted together
    for private in ("403-555-0123", "Jane", "Smith", "jane@example.com"):
        assert private not in csv.text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("call me at 403-555-0123 please", "call me at [phone] please"),  # a phone number
        ("write to jane.doe@example.ca", "write to [email]"),  # an email address
        ("Hi, I'm Jane Doe, is it safe?", "Hi, I'm [name], is it safe?"),  # an introduced name
        ("I'm worried about bruising", "I'm worried about bruising"),  # not a name
    ],
)
def test_the_report_removes_personal_details(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "a, b, grouped",
    [
        ("How much does it cost?", "how much does it COST", True),  # case and punctuation
        ("how much does it cost?", "how much does it cost? call me at [phone]", True),  # a detail added
        ("how much does it cost?", "does it hurt?", False),  # another question
    ],
)
def test_similar_wordings_are_grouped(a, b, grouped):
    assert similar(wording(a), wording(b)) is grouped


def test_a_wrong_password_is_refused_and_attempts_are_limited(servers):
    # Last in this file: it locks Apollo's sign-in from this address for 15 minutes.
    actions, _, _ = servers
    for attempt in range(5):
        browser, response = sign_in(actions, "apollo_calgary", f"guess {attempt}")
        assert response.status_code == 401 and "Wrong clinic or password" in response.text
        assert "dn_inbox" not in browser.cookies
    _, response = sign_in(actions, "apollo_calgary", PASSWORD)  # even the right one, for a while
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    _, response = sign_in(actions, "dynamic_okotoks", DYNAMIC_TOKEN)  # per clinic (and address)
    assert response.status_code == 200
