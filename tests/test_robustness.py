"""Bad input through the real REST and socket.io channels: a clear 4xx or a polite reply.

Never a 500, never a conversation that stops answering: after every bad input
the same sender still gets the normal answer to "does it hurt?". The cases are
counted in docs/reliability.md.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import List

import pytest
import requests
import socketio
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.live import ALLOWED_ORIGIN, DOMAIN_FILE
from tests.replies import clinic_said

pytestmark = pytest.mark.model

DOMAIN = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
HURTS = clinic_said("utter_faq/does_it_hurt")
ENGLISH_ONLY = DOMAIN["responses"]["utter_other_language"][0]["text"]
CLINIC_EMAIL = "info@apollophysioyyc.com"  # clinics/apollo_calgary.yml, the default clinic
TOO_LONG = "Sorry, that message is too long for me."

# Message texts that reach the assistant (both channels). One per class of bad input.
TEXTS = {
    "empty": "",  # nothing at all
    "whitespace": " \t\n  \u3000 ",  # spaces, tab, newline, ideographic space
    "10000 characters": ("does it hurt? " * 715)[:10000],  # far past any question
    "emoji": "😬🪡💉❓🔥👍🏽",  # emoji only, with a skin-tone modifier
    "non-Latin script": "干针疗法疼吗？ هل الإبر مؤلمة؟",  # Chinese and Arabic
    "other language": "¿Duele la punción seca?",  # Spanish: must get the English-only reply
    "HTML and script": '<script>alert("x")</script><img src=x onerror=alert(1)><b>does it hurt?</b>',
    "SQL": "'; DROP TABLE events; -- \" OR 1=1; SELECT * FROM callback_requests",
    "control characters": "\x00\x07\x08\x1b[2J\x7f\u202e\u200b\ufeff hi",  # NUL, bell, ANSI, RTL override
}


def new_sender(label: str) -> str:
    return f"bad-{label.replace(' ', '-')}-{uuid.uuid4().hex[:8]}"


def still_answers(live, sender: str) -> None:
    texts = live.texts(sender, "does it hurt?")
    assert texts and texts[-1] == HURTS, texts


def assert_polite(texts: List[str]) -> None:
    """A reply: at least one message, each a non-empty text, no server error wording."""
    assert texts, "no reply at all"
    for text in texts:
        assert text.strip(), texts
        assert "Traceback" not in text and "Internal Server Error" not in text


# --- REST --------------------------------------------------------------------


@pytest.mark.parametrize("label", list(TEXTS))
def test_rest_bad_text_gets_a_4xx_or_a_polite_reply(live, label):
    sender, text = new_sender(label), TEXTS[label]
    response = requests.post(live.webhook, json={"sender": sender, "message": text}, timeout=60)
    if label in ("empty", "whitespace"):
        assert response.status_code == 400 and response.json()["error"] == "'message' is empty"
    elif label == "10000 characters":
        assert response.status_code == 413 and "longer than 5000" in response.json()["error"]
    else:
        assert response.status_code == 200, response.text[:300]
        texts = [r.get("text", "") for r in response.json()]
        assert_polite(texts)
        # The bot never echoes markup or SQL back.
        assert not any("<script" in t or "DROP TABLE" in t for t in texts)
        if label == "other language":
            assert ENGLISH_ONLY in texts and any(CLINIC_EMAIL in t for t in texts), texts
    still_answers(live, sender)


# Typed text that looks like a button payload ("/intent", "/faq/<topic>").
FORGED_PAYLOADS = [
    "/no_such_intent",  # an intent the domain does not have
    "/faq/no_such_topic",  # a topic that does not exist
    '/affirm{"callback_name": "Mallory"}',  # entities smuggled into a payload
    "/restart",  # Rasa's own command: restarts this sender's conversation only
    "/faq",  # a retrieval intent without a topic (components/faq_gate.py)
    '/handoff{"x": 1}',  # the same, with entities
]


@pytest.mark.parametrize("payload", FORGED_PAYLOADS)
def test_rest_forged_payload_gets_a_polite_reply(live, payload):
    sender = new_sender("payload")
    live.say(sender, "hi")
    assert_polite(live.texts(sender, payload))
    still_answers(live, sender)


# Requests that are not a proper message: each gets a 4xx with a JSON error.
BAD_REQUESTS = {
    "invalid JSON": (b'{"sender": "x", "message": ', "application/json", 400),
    "empty body": (b"", "application/json", 400),
    "JSON that is not an object": (b'["does it hurt?"]', "application/json", 400),  # was a 500
    "JSON null": (b"null", "application/json", 400),  # was a 500
    "wrong content type": (b"sender=x&message=does+it+hurt", "application/x-www-form-urlencoded", 415),
    "missing sender": (
        b'{"message": "does it hurt?"}',
        "application/json",
        400,
    ),  # was the shared "default" conversation
    "sender not a string": (b'{"sender": ["a"], "message": "does it hurt?"}', "application/json", 400),
    "message not a string": (
        b'{"sender": "SENDER", "message": {"text": "hi"}}',
        "application/json",
        400,
    ),  # was a silent []
    "missing message": (b'{"sender": "SENDER"}', "application/json", 400),
    "metadata not an object": (b'{"sender": "SENDER", "message": "hi", "metadata": "x"}', "application/json", 400),
}


@pytest.mark.parametrize("label", list(BAD_REQUESTS))
def test_rest_bad_request_gets_a_clear_4xx(live, label):
    body, content_type, status = BAD_REQUESTS[label]
    sender = new_sender(label)
    response = requests.post(
        live.webhook, data=body.replace(b"SENDER", sender.encode()), headers={"Content-Type": content_type}, timeout=60
    )
    assert response.status_code == status, response.text[:300]
    assert response.json()["error"]
    assert live.user_events(sender) == 0  # nothing reached the conversation
    still_answers(live, sender)


def test_rest_missing_sender_starts_no_shared_conversation(live):
    requests.post(live.webhook, json={"message": "my number is 403-555-0199"}, timeout=60)
    assert live.user_events("default") == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=300))
def test_rest_random_text_is_answered_and_the_server_keeps_working(live, text):
    sender = f"fuzz-{uuid.uuid4().hex[:8]}"
    response = requests.post(live.webhook, json={"sender": sender, "message": text}, timeout=60)
    if text.strip():
        assert response.status_code == 200, response.text[:300]
        replies = response.json()
        assert isinstance(replies, list) and replies, replies
        assert all(isinstance(r, dict) and r.get("text") for r in replies)
    else:
        assert response.status_code == 400
    still_answers(live, sender)


# --- socket.io ---------------------------------------------------------------


class Chat:
    """A socket.io client like the widget: long-polling, an allowed Origin, one session."""

    def __init__(self, live) -> None:
        self.session = f"sio-{uuid.uuid4().hex}"
        self.replies: List[dict] = []
        self.confirmed = threading.Event()
        self.client = socketio.Client(reconnection=False)
        self.client.on("bot_uttered", self.replies.append)
        self.client.on("session_confirm", lambda _: self.confirmed.set())
        self.client.connect(live.rasa.url, transports=["polling"], headers={"Origin": ALLOWED_ORIGIN}, wait_timeout=20)
        self.client.emit("session_request", {"session_id": self.session})
        assert self.confirmed.wait(20), "no session_confirm"

    def send(self, payload, quiet: float = 1.0, timeout: float = 30) -> List[str]:
        """Emit one user_uttered; collect the replies until `quiet` seconds pass without one."""
        self.replies.clear()
        self.client.emit("user_uttered", payload)
        deadline, seen, last = time.monotonic() + timeout, 0, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if len(self.replies) != seen:
                seen, last = len(self.replies), time.monotonic()
            elif time.monotonic() - last > (quiet if seen else 4 * quiet):
                break
        return [r.get("text", "") for r in self.replies]

    def say(self, text: str) -> List[str]:
        return self.send({"message": text, "session_id": self.session})

    def close(self) -> None:
        # Without waiting for the pending long-poll to return (up to the 25 s ping interval).
        self.client.eio.disconnect(abort=True)


@pytest.fixture
def chat(live):
    client = Chat(live)
    yield client
    client.close()


@pytest.mark.parametrize("label", list(TEXTS))
def test_socketio_bad_text_gets_a_polite_reply(chat, label):
    texts = chat.say(TEXTS[label])
    assert_polite(texts)
    assert not any("<script" in t or "DROP TABLE" in t for t in texts)
    if label == "10000 characters":
        assert texts == [TOO_LONG + " Please ask your question in a few sentences."]
    if label == "other language":
        assert ENGLISH_ONLY in texts and any(CLINIC_EMAIL in t for t in texts), texts
    assert chat.say("does it hurt?")[-1] == HURTS


# Events that are not a proper message: ignored (a warning in the log), and the
# conversation goes on. socket.io has no status code to answer with.
BAD_EVENTS = {
    "not an object": "does it hurt?",
    "message not a string": {"message": 42, "session_id": "SESSION"},  # was an exception in the log
    "metadata not JSON": {"message": "hi", "session_id": "SESSION", "metadata": "{oops"},  # answered, metadata dropped
    "missing session_id": {"message": "hi"},
}


@pytest.mark.parametrize("label", list(BAD_EVENTS))
def test_socketio_bad_event_is_ignored_and_the_chat_goes_on(chat, live, label):
    payload = BAD_EVENTS[label]
    if isinstance(payload, dict):
        payload = {k: (chat.session if v == "SESSION" else v) for k, v in payload.items()}
    texts = chat.send(payload, quiet=1.0, timeout=8)
    if label == "metadata not JSON":
        assert_polite(texts)
    else:
        assert texts == []
    assert chat.say("does it hurt?")[-1] == HURTS
    assert chat.client.connected


def test_no_server_error_in_the_rasa_log(live):
    """After all the bad input: no unhandled exception in the Rasa server's log."""
    log = live.rasa.log.read_text(errors="replace")
    assert "Task exception was never retrieved" not in log
    assert "Exception occurred while handling uri" not in log
