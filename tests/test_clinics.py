"""Many clinics in one deployment: each conversation hears its own clinic's answers and contact details.

One action server and one Rasa server serve the two seed clinics and the
fictional Riverbend (a copy of clinics/ and knowledge/citations/ with the
fixture added, as a provider would add a clinic). The clinic comes from the
message's metadata, is fixed at the session start, and an unknown one is
refused before anything is stored.
"""

from __future__ import annotations

import sqlite3
import uuid

import pytest
import requests
import yaml

from tests.servers import ROOT, action_server, rasa_server, three_clinics

FIXTURES = ROOT / "tests" / "fixtures"
CLINICS = ("apollo_calgary", "dynamic_okotoks", "riverbend_physio")
# The six questions of issue 14, asked of each clinic.
QUESTIONS = [
    "what is dry needling?",
    "how long is a session?",
    "does it hurt?",
    "what is the twitch response?",
    "how much does it cost?",
    "what are your opening hours?",
]
TRANSCRIPT = ROOT / "var" / "clinics-transcript.md"


def _profile(clinic_id):
    folder = FIXTURES / "clinics" if clinic_id == "riverbend_physio" else ROOT / "clinics"
    return yaml.safe_load((folder / f"{clinic_id}.yml").read_text(encoding="utf-8"))


def _answers(clinic_id):
    folder = FIXTURES / "citations" if clinic_id == "riverbend_physio" else ROOT / "knowledge" / "citations"
    data = yaml.safe_load((folder / f"{clinic_id}.yml").read_text(encoding="utf-8"))
    return {topic: " ".join(item["say"] for item in items) for topic, items in data["topics"].items()}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """Start one action server and one Rasa server for the three clinics; yield the Rasa server and its tracker file."""
    folder = tmp_path_factory.mktemp("clinics")
    env = {**three_clinics(folder), "CALLBACK_DB_URL": f"sqlite:///{folder / 'callbacks.db'}"}
    actions = action_server(folder, env=env).start()
    tracker_db = folder / "tracker.db"
    rasa = rasa_server(folder, actions.url, tracker_db, env=env).start()
    yield rasa, tracker_db
    rasa.stop()
    actions.stop()


def ask(server, sender, text, clinic_id=None):
    body = {"sender": sender, "message": text}
    if clinic_id:
        body["metadata"] = {"clinic_id": clinic_id}
    return requests.post(f"{server.url}/webhooks/rest/webhook", json=body, timeout=60)


def texts(response):
    assert response.status_code == 200, response.text
    return [m.get("text", "") for m in response.json()]


@pytest.fixture(scope="module")
def replies(deployment):
    """Ask the six questions of each clinic, each in its own conversation; write the transcript."""
    server, _ = deployment
    result = {}
    lines = ["# The same six questions, asked of three clinics in one running server", ""]
    for clinic_id in CLINICS:
        lines += [f"## {clinic_id}", ""]
        for question in QUESTIONS:
            said = texts(ask(server, f"six-{clinic_id}-{uuid.uuid4().hex[:6]}", question, clinic_id))
            result[clinic_id, question] = said
            lines += [f"**Patient:** {question}", ""] + [f"> {t}" for t in said if t] + [""]
    TRANSCRIPT.parent.mkdir(exist_ok=True)
    TRANSCRIPT.write_text("\n".join(lines), encoding="utf-8")
    return result


@pytest.mark.parametrize("clinic_id", CLINICS)
def test_each_clinic_is_named_and_answers_from_its_own_page(replies, clinic_id):
    profile, answers = _profile(clinic_id), _answers(clinic_id)
    first = replies[clinic_id, QUESTIONS[0]]
    assert profile["name"] in first[0]  # the notice names this clinic
    assert answers["what_is"] in first
    assert answers["does_it_hurt"] in replies[clinic_id, "does it hurt?"]


@pytest.mark.parametrize("clinic_id", CLINICS)
def test_no_clinic_hears_another_clinics_name_or_contact_details(replies, clinic_id):
    said = " ".join(t for (c, _), ts in replies.items() if c == clinic_id for t in ts)
    for other in set(CLINICS) - {clinic_id}:
        profile = _profile(other)
        for field in ("email", "phone", "contact_person", "hours"):
            if profile.get(field):
                assert profile[field] not in said, (clinic_id, field)
    assert "the clinics" not in said.lower()


def test_session_length_is_each_clinics_own_or_said_to_be_missing(replies):
    # Dynamic's page says 20-30 minutes, Riverbend's about 30; Apollo's page says nothing.
    assert _answers("dynamic_okotoks")["session_length"] in replies["dynamic_okotoks", "how long is a session?"]
    assert _answers("riverbend_physio")["session_length"] in replies["riverbend_physio", "how long is a session?"]
    apollo = " ".join(replies["apollo_calgary", "how long is a session?"])
    assert "doesn't cover how long a session lasts" in apollo and "minutes" not in apollo
    assert _profile("apollo_calgary")["email"] in apollo


def test_a_topic_a_page_does_not_cover_is_general_information_marked_with_its_source(replies):
    # Riverbend's page says nothing on the twitch: Dynamic's answer, marked as general, naming its page.
    said = " ".join(replies["riverbend_physio", "what is the twitch response?"])
    assert "Riverbend Physiotherapy (fictional)'s own page doesn't cover this" in said
    assert "general information from another clinic's page (Dynamic Physiotherapy Okotoks" in said
    assert _answers("dynamic_okotoks")["twitch_response"] in said


@pytest.mark.parametrize("clinic_id", CLINICS)
def test_hand_offs_give_this_clinics_contact_details(replies, clinic_id):
    profile = _profile(clinic_id)
    for question in ("how much does it cost?", "what are your opening hours?"):
        said = " ".join(replies[clinic_id, question])
        assert profile["name"] in said
        if profile.get("hours") and "hours" in question:
            assert profile["hours"] in said and "I don't have" not in said


def _stored(tracker_db, sender):
    with sqlite3.connect(tracker_db) as db:
        return db.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0]


@pytest.mark.parametrize(
    "clinic_id",
    [
        "nowhere_physio",  # no such profile
        "../clinics/apollo_calgary",  # a path, not an id
        "Apollo_Calgary",  # not lower case
    ],
)
def test_an_unknown_clinic_gets_a_clear_400_and_nothing_is_stored(deployment, clinic_id):
    server, tracker_db = deployment
    sender = f"unknown-{uuid.uuid4().hex[:8]}"
    response = ask(server, sender, "what is dry needling?", clinic_id)
    assert response.status_code == 400
    assert "clinic" in response.json()["error"]
    assert _stored(tracker_db, sender) == 0


def test_the_clinic_is_fixed_at_the_session_start(deployment):
    server, _ = deployment
    sender = f"fixed-{uuid.uuid4().hex[:8]}"
    first = texts(ask(server, sender, "how long is a session?", "riverbend_physio"))
    assert _answers("riverbend_physio")["session_length"] in first
    # A later message naming another clinic does not move the conversation.
    later = texts(ask(server, sender, "how long is a session?", "dynamic_okotoks"))
    assert later == [_answers("riverbend_physio")["session_length"]]


def test_a_message_that_names_no_clinic_is_the_default_clinics(deployment):
    server, _ = deployment
    said = texts(ask(server, f"default-{uuid.uuid4().hex[:8]}", "what is dry needling?"))
    assert _profile("apollo_calgary")["name"] in said[0]
    assert _answers("apollo_calgary")["what_is"] in said


# ------------------------------------------------------------ without servers


@pytest.mark.parametrize(
    "topic, clinic_id, expected",
    [
        ("what_is", "a", "A's own."),  # the clinic's own answer
        ("twitch_response", "a", "LEAD B page: B's twitch."),  # not on A's page, general from B: marked, with source
        ("session_length", "a", None),  # not on A's page, no general source: the domain's own reply
        ("twitch_response", "b", "B's twitch."),  # the source clinic hears its own answer unmarked
    ],
)
def test_each_clinic_gets_its_own_variation_or_general_information(topic, clinic_id, expected):
    from server.clinic_nlg import clinic_responses

    domain = {
        "utter_general_information": [{"text": "LEAD {source}:"}],
        **{f"utter_faq/{t}": [{"text": "doesn't cover"}] for t in ("what_is", "twitch_response", "session_length")},
    }
    answers = {"a": {"what_is": "A's own."}, "b": {"twitch_response": "B's twitch."}}
    responses = clinic_responses(domain, answers, {"twitch_response": "b"}, {"b": "B page"})
    variations = responses[f"utter_faq/{topic}"]
    mine = [
        v["text"]
        for v in variations
        if v.get("condition") == [{"type": "slot", "name": "clinic_id", "value": clinic_id}]
    ]
    assert mine == ([expected] if expected else [])
    assert variations[-1] == {"text": "doesn't cover"}  # the default stays for every other clinic
    assert domain["utter_faq/what_is"] == [{"text": "doesn't cover"}]  # the domain itself is not changed


@pytest.mark.parametrize(
    "metadata, refused",
    [
        (None, False),  # no metadata: the default clinic
        ({}, False),  # metadata without a clinic: the default clinic
        ({"clinic_id": "dynamic_okotoks"}, False),  # a clinic of this deployment
        ({"clinic_id": "nowhere_physio"}, True),  # no such profile
        ({"clinic_id": "../clinics/apollo_calgary"}, True),  # a path, not an id
        ({"clinic_id": 7}, True),  # not a string
    ],
)
def test_the_clinic_a_message_names_is_checked(metadata, refused):
    from server.clinics import clinic_error

    assert (clinic_error(metadata) is not None) is refused


@pytest.mark.parametrize(
    "texted, expected",
    [
        ("+14035550177", {"clinic_id": "riverbend_physio"}),  # the number in Riverbend's profile
        ("whatsapp:+14035550177", {"clinic_id": "riverbend_physio"}),  # the same number on WhatsApp
        ("+14035550000", {}),  # a number no profile lists: the default clinic
    ],
)
def test_sms_picks_the_clinic_whose_profile_lists_the_number_texted(monkeypatch, tmp_path, texted, expected):
    from types import SimpleNamespace

    from channels.sms import SmsInput, clinic_by_number
    from server.settings import settings

    profile = yaml.safe_load((FIXTURES / "clinics" / "riverbend_physio.yml").read_text(encoding="utf-8"))
    (tmp_path / "riverbend_physio.yml").write_text(yaml.safe_dump({**profile, "sms_numbers": ["+14035550177"]}))
    monkeypatch.setenv("CLINICS_DIR", str(tmp_path))
    settings.cache_clear()
    clinic_by_number.cache_clear()
    try:
        channel = SmsInput("sid", "token", "+15550000000")
        assert channel.get_metadata(SimpleNamespace(form={"To": texted, "From": "+14035551234"})) == expected
    finally:
        settings.cache_clear()
        clinic_by_number.cache_clear()
