"""End to end through the REST channel: real Rasa server, real action server, SQLite tracker store."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.replies import clinic_said
from tests.servers import action_server, rasa_server, say

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
TRANSCRIPT = ROOT / "var" / "transcript.md"


def response_text(name: str) -> str:
    return clinic_said(name)  # as said to a conversation of the default clinic


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    logs = tmp_path_factory.mktemp("servers")
    actions = action_server(logs, env={"CALLBACK_DB_URL": f"sqlite:///{logs / 'callbacks.db'}"}).start()
    actions.callback_db = f"sqlite:///{logs / 'callbacks.db'}"
    rasa = rasa_server(logs, actions.url, logs / "tracker.db").start()
    yield actions, rasa
    rasa.stop()
    actions.stop()


def test_a_conversation_with_answer_clarification_handoff_and_emergency(servers):
    _, rasa = servers
    clinic = "Apollo Physiotherapy Massage and Chiro"
    lines = []

    def turn(message):
        replies = say(rasa, "transcript", message)
        lines.append(f"**Patient:** {message}")
        for r in replies:
            buttons = " ".join(f"[{b['title']}]" for b in r.get("buttons", []))
            lines.append(f"**Bot:** {r.get('text', '')} {buttons}".rstrip())
        return replies

    # The session opens with the notice, then the greeting names the clinic.
    notice, greeting = turn("hi")
    assert "general information" in notice["text"] and "not medical advice" in notice["text"]
    assert greeting["text"] == response_text("utter_greet").format(clinic_name=clinic)

    [answer] = turn("does it hurt?")
    assert answer["text"] == response_text("utter_faq/does_it_hurt")

    [clarify] = turn("is the thingy with the pokes ok")
    payloads = [b["payload"] for b in clarify["buttons"]]
    assert 2 <= len(payloads) <= 4 and payloads[-1] == "/something_else"
    chosen = payloads[0]
    [answer] = turn(chosen)
    assert answer["text"] == response_text(f"utter{chosen.replace('/', '_', 1)}")

    lead, contact, offer = turn("how much does a session cost?")
    assert lead["text"] == response_text("utter_handoff/price")
    assert "info@apollophysioyyc.com" in contact["text"]
    assert offer["text"] == "Would you like the clinic to contact you?"

    [emergency] = turn("I can't breathe properly since my needling this morning")
    assert emergency["text"] == response_text("utter_emergency")
    assert "911" in emergency["text"] and "811" in emergency["text"]

    TRANSCRIPT.parent.mkdir(exist_ok=True)
    TRANSCRIPT.write_text("# Transcript (REST channel, clinic apollo_calgary)\n\n" + "\n\n".join(lines) + "\n")


def test_a_restart_continues_the_conversation(servers, tmp_path):
    actions, rasa = servers
    first = say(rasa, "restart-patient", "hi")
    assert "not medical advice" in first[0]["text"]  # a new session opens with the notice
    rasa.stop()
    rasa.start()
    again = say(rasa, "restart-patient", "hi")
    # Same session, read back from the SQLite tracker store: no second notice.
    assert [r["text"] for r in again] == [
        response_text("utter_greet").format(clinic_name="Apollo Physiotherapy Massage and Chiro")
    ]
    # A new patient still gets a new session.
    assert "not medical advice" in say(rasa, "someone-new", "hi")[0]["text"]


def texts(replies):
    return [r.get("text", "") for r in replies]


def test_callback_request_through_the_real_servers(servers):
    actions, rasa = servers
    patient = "callback-patient"
    replies = say(rasa, patient, "do you direct bill to Blue Cross?")
    assert replies[-1]["text"] == "Would you like the clinic to contact you?"
    assert "What name" in say(rasa, patient, replies[-1]["buttons"][0]["payload"])[0]["text"]
    assert "phone number or email" in say(rasa, patient, "Jane Doe")[0]["text"]
    # An invalid answer is explained, then asked again.
    retry = texts(say(rasa, patient, "my cell"))
    assert retry[0].startswith("That doesn't look like a phone number") and "phone number or email" in retry[1]
    assert "good time" in say(rasa, patient, "403 555 0123")[0]["text"]
    question = say(rasa, patient, "weekday mornings")[0]["text"]
    assert "do you direct bill to Blue Cross?" in question  # prefilled with the unanswered question
    assert "Do you agree?" in say(rasa, patient, "yes")[0]["text"]
    [confirmation] = texts(say(rasa, patient, "yes"))
    assert confirmation.startswith("Thank you, Jane Doe. Your request #")
    from frontdesk.store import CallbackStore

    [row] = [r for r in CallbackStore(actions.callback_db).list() if r.name == "Jane Doe"]
    assert (row.contact, row.preferred_time, row.question) == (
        "+1 403-555-0123",
        "weekday mornings",
        "do you direct bill to Blue Cross?",
    )
    # The form is over: the next message is an ordinary question again.
    assert texts(say(rasa, patient, "does it hurt?")) == [response_text("utter_faq/does_it_hurt")]


@pytest.mark.parametrize(
    "answers, last_words",
    [
        (["cancel"], "Okay, I've cancelled that and saved nothing."),  # cancel at the first step
        (["Sam", "stop"], "Okay, I've cancelled that and saved nothing."),  # stop at the second
        (["Sam", "nope", "still no", "no number"], "You can reach the clinic directly."),  # three invalid answers
        (["Sam", "sam@example.ca", "any time", "yes", "no"], "You can reach the clinic directly."),  # no consent
    ],
)
def test_callback_form_ends_without_storing(servers, answers, last_words):
    actions, rasa = servers
    patient = f"callback-{abs(hash(tuple(answers)))}"
    say(rasa, patient, "how much does it cost?")
    say(rasa, patient, "/affirm")
    for answer in answers:
        replies = texts(say(rasa, patient, answer))
    assert any(last_words in text for text in replies), replies
    from frontdesk.store import CallbackStore

    assert [r for r in CallbackStore(actions.callback_db).list(None) if r.name == "Sam"] == []
