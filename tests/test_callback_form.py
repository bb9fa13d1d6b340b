"""The callback form's validation, submission and the contact-detail checks."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions import contact_details as check
from actions.callback import (
    FORM_SLOTS,
    STATE_SLOTS,
    ActionAskCallbackConsent,
    ActionAskCallbackQuestion,
    ActionSubmitCallback,
    ValidateCallbackForm,
    pending_question,
)
from frontdesk.store import store_for
from tests.conftest import run, said


@pytest.fixture
def callback_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'callbacks.db'}"
    monkeypatch.setenv("CALLBACK_DB_URL", url)
    from actions import config

    config.settings.cache_clear()
    return store_for(url)


def form_tracker(slots=None, text="", intent="greet", requested="callback_name", events=None):
    all_slots = {slot: None for slot in FORM_SLOTS + STATE_SLOTS}
    all_slots.update({"requested_slot": requested, **(slots or {})})
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    return Tracker(
        "patient-1",
        all_slots,
        latest,
        events or [],
        False,
        None,
        {"name": "callback_form"} if requested else {},
        "action_listen",
    )


def text(message, domain):
    return said(message, domain)[0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("403-555-0123", ("phone", "+1 403-555-0123")),  # dashes
        ("(587) 555 0199", ("phone", "+1 587-555-0199")),  # brackets and spaces
        ("+1 780.555.0100", ("phone", "+1 780-555-0100")),  # country code and dots
        ("1-825-555-0111", ("phone", "+1 825-555-0111")),  # leading 1
        ("4035550123", ("phone", "+1 403-555-0123")),  # digits only
        ("403-555-0123 ext 42", ("phone", "+1 403-555-0123 ext. 42")),  # extension
        ("Jane.Doe@Example.ca", ("email", "jane.doe@example.ca")),  # email, lower-cased
        ("555-0123", None),  # no area code
        ("103-555-0123", None),  # area codes never start with 0 or 1
        ("403-555-01234", None),  # too many digits
        ("jane@", None),  # no domain
        ("jane at example dot ca", None),  # spelled out
        ("call me maybe", None),  # not contact details
        ("403 555 0123 x12", ("phone", "+1 403-555-0123 ext. 12")),  # "x" extension
        ("1-800-FLOWERS", None),  # letters: not read as digits
        ("+44 20 7946 0958", None),  # outside North America
        ("403-155-0123", None),  # exchanges never start with 1 (phonenumbers' rules)
        ("jane@example", None),  # no top-level domain
        ("jane..doe@example.ca", None),  # two dots in a row (email-validator's rules)
    ],
)
def test_contact_details(text, expected):
    assert check.contact(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Jane Doe", "Jane Doe"),  # plain
        ("  Zoë   O'Neil-Smith ", "Zoë O'Neil-Smith"),  # accents, apostrophes, hyphens, spaces folded
        ("Dr. Li", "Dr. Li"),  # abbreviation
        ("does it hurt?", None),  # a question is not a name
        ("R2D2", None),  # digits
        ("x" * 81, None),  # too long
        ("", None),  # empty
    ],
)
def test_names(text, expected):
    assert check.name(text) == expected


@pytest.mark.parametrize(
    "slot, value, expected",
    [
        ("callback_name", "Jane Doe", {"callback_name": "Jane Doe", "callback_failures": None}),
        (
            "callback_contact",
            "403 555 0123",
            {"callback_contact": "+1 403-555-0123", "callback_contact_kind": "phone", "callback_failures": None},
        ),
        ("callback_time", "any time", {"callback_time": "any time", "callback_failures": None}),
        ("callback_time", "weekday mornings", {"callback_time": "weekday mornings", "callback_failures": None}),
        (
            "callback_question",
            "Can I have it while pregnant?",
            {"callback_question": "Can I have it while pregnant?", "callback_failures": None},
        ),
        ("callback_consent", "yes", {"callback_consent": True, "callback_failures": None}),
        ("callback_consent", "No", {"callback_consent": False, "callback_failures": None}),
    ],
)
def test_valid_answers_are_kept_normalised(dispatcher, domain, slot, value, expected):
    validate = getattr(ValidateCallbackForm(), f"validate_{slot}")
    assert validate(value, dispatcher, form_tracker(requested=slot), domain) == expected
    assert dispatcher.messages == []


# What validate_callback_form says before the form asks again, word for word.
RETRY = {
    "callback_name": 'Sorry, I didn\'t catch a name there. You can also say "cancel".',
    "callback_contact": (
        "That doesn't look like a phone number or an email address (for example 403-555-0123 or name@example.com). "
        'You can also say "cancel".'
    ),
    "callback_time": "That's a bit long for a preferred time; a few words are enough.",
    "callback_question": 'I need the question in a few words. You can also say "cancel".',
    "callback_consent": "I need a clear yes or no for this.",
}


@pytest.mark.parametrize(
    "slot, value",
    [
        ("callback_name", "12345"),  # digits are not a name
        ("callback_contact", "my number is secret"),  # neither a phone nor an email
        ("callback_time", "x" * 200),  # far too long
        ("callback_question", "ok"),  # too short to be a question
        ("callback_consent", "maybe"),  # consent must be explicit
    ],
)
def test_invalid_answer_is_asked_again_politely(dispatcher, domain, slot, value):
    validate = getattr(ValidateCallbackForm(), f"validate_{slot}")
    result = validate(value, dispatcher, form_tracker(requested=slot), domain)
    assert result == {slot: None, "callback_failures": 1.0}
    [message] = dispatcher.messages
    assert message["response"] == f"utter_retry_{slot}"
    assert text(message, domain) == RETRY[slot]


def test_third_invalid_answer_ends_the_form(dispatcher, domain):
    tracker = form_tracker(slots={"callback_failures": 2.0}, requested="callback_contact")
    result = ValidateCallbackForm().validate_callback_contact("nope", dispatcher, tracker, domain)
    assert result == {
        "callback_contact": None,
        "callback_failures": None,
        "callback_status": "failed",
        "requested_slot": None,
    }


def test_yes_keeps_the_prefilled_question(dispatcher, domain):
    tracker = form_tracker(slots={"pending_question": "How much is it?"}, requested="callback_question")
    result = ValidateCallbackForm().validate_callback_question("yes", dispatcher, tracker, domain)
    assert result["callback_question"] == "How much is it?"


@pytest.mark.parametrize(
    "text, intent, status",
    [
        ("cancel", "deny", "cancelled"),  # the word cancel
        ("Stop.", "deny", "cancelled"),  # stop, any case, punctuation
        ("never mind", "deny", "cancelled"),  # a phrase
        ("I can't breathe", "emergency", "emergency"),  # a red flag always wins
    ],
)
@pytest.mark.parametrize(
    "requested", ["callback_name", "callback_contact", "callback_time", "callback_question", "callback_consent"]
)
def test_cancel_or_red_flag_at_every_step_ends_the_form(dispatcher, domain, text, intent, status, requested):
    tracker = form_tracker(text=text, intent=intent, requested=requested, slots={"callback_name": "Jane"})
    events = run(ValidateCallbackForm(), dispatcher, tracker, domain)
    assert SlotSet("callback_status", status) in events
    assert events[-1] == SlotSet("requested_slot", None)
    assert SlotSet("callback_name", None) in events


def test_pending_question_is_the_last_unanswered_question():
    events = [
        {
            "event": "user",
            "text": "how much does it cost?",
            "parse_data": {"intent": {"name": "handoff", "full_retrieval_intent_name": "handoff/price"}},
        },
        {"event": "bot", "text": "..."},
        {"event": "user", "text": "/affirm", "parse_data": {"intent": {"name": "affirm"}}},
    ]
    tracker = Tracker("p", {}, {}, events, False, None, {}, "action_listen")
    assert pending_question(tracker) == "how much does it cost?"
    # Asking for a person is not a question to pass on.
    events[0]["parse_data"]["intent"]["full_retrieval_intent_name"] = "handoff/human"
    assert pending_question(tracker) is None


def test_ask_question_offers_the_pending_one(dispatcher, domain):
    run(ActionAskCallbackQuestion(), dispatcher, form_tracker(slots={"pending_question": "Is it covered?"}), domain)
    [message] = dispatcher.messages
    assert (message["response"], message["question"]) == ("utter_callback_question_pending", "Is it covered?")
    assert said(message, domain) == (
        'I\'ll pass on this question: "Is it covered?" '
        "Is that right? Say yes, or type the question you'd like answered.",
        [{"title": "Yes, that's it", "payload": "yes"}],
    )


@pytest.mark.parametrize("pending", [None, "Is 10[mg] too much?"])  # none, or one Rasa cannot fill in
def test_ask_question_asks_for_one(dispatcher, domain, pending):
    run(ActionAskCallbackQuestion(), dispatcher, form_tracker(slots={"pending_question": pending}), domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_callback_question_new"
    assert said(message, domain) == ("What would you like the clinic to help you with?", [])


def test_ask_consent_says_how_long_the_details_are_kept(dispatcher, domain, monkeypatch):
    monkeypatch.setenv("RETENTION_DAYS", "14")
    from actions import config

    config.settings.cache_clear()
    run(ActionAskCallbackConsent(), dispatcher, form_tracker(requested="callback_consent"), domain)
    [message] = dispatcher.messages
    assert (message["response"], message["days"]) == ("utter_callback_consent", 14)
    assert said(message, domain) == (
        "To contact you, the clinic needs to store your name, contact details, preferred time and question. "
        "They are used only for this callback and deleted after 14 days. Do you agree?",
        [{"title": "Yes, I agree", "payload": "yes"}, {"title": "No", "payload": "no"}],
    )


@pytest.mark.parametrize(
    "slot, prompt, buttons",
    [
        ("callback_name", 'Sure. What name should the clinic ask for? (You can say "cancel" at any step.)', []),
        ("callback_contact", "What phone number or email address should they use?", []),
        (
            "callback_time",
            'When is a good time to reach you? For example "weekday mornings", or "any time".',
            [{"title": "Any time", "payload": "any time"}],
        ),
    ],
)
def test_the_form_asks_with_domain_responses(domain, slot, prompt, buttons):
    assert said({"response": f"utter_ask_{slot}", "buttons": []}, domain) == (prompt, buttons)
    assert f"action_ask_{slot}" not in domain["actions"]


COMPLETE = {
    "callback_name": "Jane Doe",
    "callback_contact": "+1 403-555-0123",
    "callback_contact_kind": "phone",
    "callback_time": "mornings",
    "callback_question": "How much is it?",
    "callback_consent": True,
}


def test_submit_commits_then_confirms_and_clears_the_slots(callback_db, dispatcher, domain):
    events = run(ActionSubmitCallback(), dispatcher, form_tracker(slots=COMPLETE, requested=None), domain)
    [row] = callback_db.list()
    assert (row.name, row.contact, row.preferred_time, row.question, row.status) == (
        "Jane Doe",
        "+1 403-555-0123",
        "mornings",
        "How much is it?",
        "open",
    )
    message = dispatcher.messages[0]
    assert message["response"] == "utter_callback_stored"
    assert text(message, domain) == (
        f"Thank you, Jane Doe. Your request #{row.id} is with the team at "
        "Apollo Physiotherapy Massage and Chiro; they'll contact you by phone."
    )
    assert {e["name"] for e in events} == set(FORM_SLOTS + STATE_SLOTS)
    assert all(e["value"] is None for e in events)


def test_submitting_the_same_request_twice_stores_it_once(callback_db, dispatcher, domain):
    for _ in range(2):
        run(ActionSubmitCallback(), dispatcher, form_tracker(slots=COMPLETE, requested=None), domain)
    assert len(callback_db.list()) == 1
    assert text(dispatcher.messages[0], domain) == text(dispatcher.messages[1], domain)


@pytest.mark.parametrize(
    "slots, response, first_words",
    [
        (
            {**COMPLETE, "callback_consent": False},
            "utter_callback_no_consent",
            "No problem, I haven't saved anything",
        ),  # no consent
        ({"callback_status": "cancelled"}, "utter_callback_cancelled", "Okay, I've cancelled that"),  # cancelled
        (
            {"callback_status": "failed"},
            "utter_callback_failed",
            "Sorry, I couldn't take your details",
        ),  # three failures
    ],
)
def test_nothing_is_stored_without_a_complete_consented_form(
    callback_db, dispatcher, domain, slots, response, first_words
):
    run(ActionSubmitCallback(), dispatcher, form_tracker(slots=slots, requested=None), domain)
    assert callback_db.list(None) == []
    assert dispatcher.messages[0]["response"] == response
    assert text(dispatcher.messages[0], domain).startswith(first_words)


def test_emergency_during_the_form_gets_the_emergency_reply(callback_db, dispatcher, domain):
    run(
        ActionSubmitCallback(), dispatcher, form_tracker(slots={"callback_status": "emergency"}, requested=None), domain
    )
    assert dispatcher.messages[0]["response"] == "utter_emergency"
    assert callback_db.list(None) == []


def test_database_failure_is_told_to_the_patient(callback_db, monkeypatch, dispatcher, domain):
    from sqlalchemy.exc import OperationalError

    def locked(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(type(callback_db), "add", locked)
    run(ActionSubmitCallback(), dispatcher, form_tracker(slots=COMPLETE, requested=None), domain)
    assert dispatcher.messages[0]["response"] == "utter_callback_not_saved"
    assert text(dispatcher.messages[0], domain) == (
        "Sorry, I couldn't save your request just now, so nothing was sent. Please contact the clinic directly."
    )
    assert "info@apollophysioyyc.com" in dispatcher.messages[1]["text"]
