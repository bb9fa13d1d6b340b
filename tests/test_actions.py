"""Unit tests for every custom action, with a CollectingDispatcher and Tracker."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rasa_sdk.events import ActionExecuted, FollowupAction, SessionStarted, SlotSet

from actions.actions import ActionClarify, ActionClinicContact, ActionSessionStart
from actions.callback import FORM_SLOTS
from shared.clinic import load_profile
from tests.conftest import run, said

ROOT = Path(__file__).resolve().parents[1]
ACTIONS = ROOT / "actions"


def texts(dispatcher, domain):
    return [said(m, domain)[0] for m in dispatcher.messages]


def test_every_response_the_actions_say_is_in_the_domain(domain):
    source = "\n".join(path.read_text(encoding="utf-8") for path in ACTIONS.glob("*.py"))
    named = set(re.findall(r'response="(utter_\w+)"', source))
    retries = {f"utter_retry_{slot}" for slot in FORM_SLOTS}
    assert 'response=f"utter_retry_{slot}"' in source
    assert named and (named | retries) <= set(domain["responses"])


def test_the_form_asks_for_every_slot(domain):
    actions = {a if isinstance(a, str) else next(iter(a)) for a in domain["actions"]}
    for slot in FORM_SLOTS:
        assert (f"action_ask_{slot}" in actions) != (f"utter_ask_{slot}" in domain["responses"]), slot


@pytest.mark.parametrize(
    "clinic_id, name, has_contact",
    [
        ("apollo_calgary", "Apollo Physiotherapy Massage and Chiro", True),  # the documented default: an email
        ("dynamic_okotoks", "Dynamic Physiotherapy Okotoks", False),  # the other seed clinic: a contact person only
    ],
)
def test_session_start_names_the_clinic_and_shows_the_notice(
    use_clinic, dispatcher, make_tracker, domain, clinic_id, name, has_contact
):
    use_clinic(clinic_id)
    events = run(ActionSessionStart(), dispatcher, make_tracker(), domain)
    contact = load_profile(ROOT / "clinics" / f"{clinic_id}.yml").contact_text()
    assert events == [
        SessionStarted(),
        SlotSet("clinic_id", clinic_id),
        SlotSet("clinic_contact", contact),
        SlotSet("clinic_name", name),
        SlotSet("clinic_has_hours", False),  # neither seed page gives opening hours
        SlotSet("clinic_has_contact", has_contact),
        ActionExecuted("action_listen"),
    ]
    [message] = dispatcher.messages
    assert (message["response"], message["clinic_name"]) == ("utter_notice", name)
    [notice] = texts(dispatcher, domain)
    assert name in notice
    assert "not medical advice" in notice and "911" in notice


@pytest.mark.parametrize(
    "slots, expected",
    [
        ({"session_started_metadata": {"clinic_id": "dynamic_okotoks"}}, "dynamic_okotoks"),  # named in the metadata
        ({"session_started_metadata": {"channel": "x"}}, "apollo_calgary"),  # metadata without a clinic: the default
        ({}, "apollo_calgary"),  # no metadata at all: the default (CLINIC_ID)
    ],
)
def test_session_start_takes_the_clinic_from_the_first_messages_metadata(
    dispatcher, make_tracker, domain, slots, expected
):
    events = run(ActionSessionStart(), dispatcher, make_tracker(slots=slots), domain)
    assert SlotSet("clinic_id", expected) in events


@pytest.mark.parametrize(
    "clinic_id, says, never",
    [
        ("dynamic_okotoks", "Steve Hansen", "info@apollophysioyyc.com"),  # Dynamic's contact person, not Apollo's email
        ("apollo_calgary", "info@apollophysioyyc.com", "Steve Hansen"),  # and the other way round
    ],
)
def test_a_hand_off_gives_the_conversations_clinic_not_the_default(
    dispatcher, make_tracker, domain, clinic_id, says, never
):
    run(ActionClinicContact(), dispatcher, make_tracker(intent="handoff", slots={"clinic_id": clinic_id}), domain)
    said = " ".join(texts(dispatcher, domain))
    assert says in said and never not in said


def test_default_clinic_is_apollo(dispatcher, make_tracker, domain):
    run(ActionClinicContact(), dispatcher, make_tracker(intent="handoff"), domain)
    assert "info@apollophysioyyc.com" in texts(dispatcher, domain)[0]


@pytest.mark.parametrize(
    "clinic_id, must_say, must_not_say",
    [
        # Apollo's page gives an email address: it is the way to reach them.
        (
            "apollo_calgary",
            ["Apollo Physiotherapy Massage and Chiro", "NE Calgary", "email info@apollophysioyyc.com"],
            ["call ", "Opening hours", "book online"],
        ),
        # Dynamic's page names a contact person but no phone or email: say so, invent nothing.
        (
            "dynamic_okotoks",
            ["Dynamic Physiotherapy Okotoks", "Okotoks, Alberta", "Steve Hansen", "don't have a phone number or email"],
            ["@", "call ", "Opening hours", "book online"],
        ),
    ],
)
def test_clinic_contact_uses_only_the_profile(
    use_clinic, dispatcher, make_tracker, domain, clinic_id, must_say, must_not_say
):
    use_clinic(clinic_id)
    events = run(ActionClinicContact(), dispatcher, make_tracker(intent="handoff"), domain)
    assert events == [SlotSet("pending_question", None)]
    text, offer = texts(dispatcher, domain)
    assert dispatcher.messages[1]["response"] == "utter_offer_callback"
    assert offer == "Would you like the clinic to contact you?"
    assert said(dispatcher.messages[1], domain)[1] == [
        {"title": "Yes, please", "payload": "/affirm"},
        {"title": "No, thanks", "payload": "/deny"},
    ]
    assert "can help" in text
    for phrase in must_say:
        assert phrase in text
    for phrase in must_not_say:
        assert phrase not in text


def test_clinic_contact_includes_optional_fields_when_present(tmp_path, use_clinic, dispatcher, make_tracker, domain):
    (tmp_path / "full.yml").write_text(
        "version: 1\nid: full\nname: Full Clinic\nlocation: Red Deer, Alberta\n"
        "phone: '403-555-0100'\nemail: a@b.ca\nhours: Mon-Fri 8-6\n"
        "booking_url: https://example.org/book\n"
    )
    use_clinic("full", tmp_path)
    run(ActionClinicContact(), dispatcher, make_tracker(), domain)
    text, _ = texts(dispatcher, domain)
    assert "call 403-555-0100, email a@b.ca or book online at https://example.org/book" in text
    assert "Opening hours: Mon-Fri 8-6." in text


def test_clarify_offers_top_three_topics_and_something_else(dispatcher, make_tracker, domain):
    # The NLU lists the topics it found likely (components/faq_gate.py, config.yml's thresholds).
    tracker = make_tracker(
        intent="nlu_fallback", clarify_topics=["does_it_hurt", "aftercare", "side_effects_safety", "needles"]
    )
    events = run(ActionClarify(), dispatcher, tracker, domain)
    assert events == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_did_you_mean"
    text, buttons = said(message, domain)
    assert text == "I'm not sure which question you mean. Did you mean one of these?"
    assert [b["payload"] for b in buttons] == [
        "/faq/does_it_hurt",
        "/faq/aftercare",
        "/faq/side_effects_safety",
        "/something_else",
    ]
    assert [b["title"] for b in buttons] == [
        "Does it hurt?",
        "Aftercare and soreness",
        "Side effects and safety",
        "Something else",
    ]


@pytest.mark.parametrize(
    "clarify_topics",
    [
        [],  # the NLU found no likely topic (not an FAQ, or no topic rated high enough)
        None,  # no list at all (a model without the offer settings)
    ],
)
def test_clarify_hands_over_when_no_topic_fits(dispatcher, make_tracker, domain, clarify_topics):
    tracker = make_tracker(intent="nlu_fallback", clarify_topics=clarify_topics)
    events = run(ActionClarify(), dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_not_sure"
    assert texts(dispatcher, domain) == ["I'm not sure I understood that, and I don't want to guess."]
    assert not said(dispatcher.messages[0], domain)[1]
    # ... and the clinic hand-off follows (contact details and the callback offer).
    assert events == [FollowupAction("action_clinic_contact")]


def test_clarify_skips_topics_it_does_not_know(dispatcher, make_tracker, domain):
    tracker = make_tracker(intent="nlu_fallback", clarify_topics=["retired_topic", "needles"])
    run(ActionClarify(), dispatcher, tracker, domain)
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/faq/needles", "/something_else"]
