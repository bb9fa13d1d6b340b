"""rasa_patches/action_fallback.py: the action server's reply is checked as Rasa's schema checks it."""

from __future__ import annotations

import datetime

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events as E

from rasa_patches.action_fallback import RemoteActionWithFallback, _response_validators, _valid_reply

# One of every event Rasa has, as an action server would send it.
EVENTS = [
    E.UserUttered("hi", {"name": "greet", "confidence": 1.0}, parse_data={"intent": {"name": "greet"}}),
    E.ActionExecuted("utter_greet", policy="RulePolicy", confidence=1.0),
    E.SlotSet("clinic_name", "Example Clinic"),
    E.SlotSet("requested_slot", None),
    E.EntitiesAdded([{"entity": "name", "value": "Sam"}]),
    E.DefinePrevUserUtteredFeaturization(False),
    E.ReminderCancelled(name="reminder"),
    E.ReminderScheduled("greet", datetime.datetime(2026, 11, 22, 9, 0)),
    E.ActionExecutionRejected("callback_form"),
    E.LoopInterrupted(True),
    E.ActiveLoop("callback_form"),
    E.ActiveLoop(None),
    E.AllSlotsReset(),
    E.ConversationResumed(),
    E.ConversationPaused(),
    E.FollowupAction("action_listen"),
    E.StoryExported(),
    E.Restarted(),
    E.ActionReverted(),
    E.UserUtteranceReverted(),
    E.BotUttered("Call us at the clinic.", {"buttons": []}),
    E.SessionStarted(),
    E.AgentUttered("hello"),
]
REPLIES = [
    {"events": [event.as_dict() for event in EVENTS], "responses": [{"text": "hello"}]},  # all at once
    *({"events": [event.as_dict()], "responses": []} for event in EVENTS),  # one at a time
    {},  # nothing to do
    {"events": []},
    {"responses": [{"text": "only a message"}]},
    # invalid ones
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "clinic_name", "value": 1}]},  # no event name
    {"events": [{"event": 7}]},
    {"events": [{"event": "slot", "value": 1}]},  # a slot without a name
    {"events": [{"event": "slot", "name": 3, "value": 1}]},
    {"events": ["slot"]},
    {"events": {"event": "slot", "name": "a", "value": 1}},  # not a list
    {"events": [{"event": "action", "name": 5}]},
    {"events": [{"event": "user", "parse_data": {"intent": {"name": 5}}}]},
    # a user event whose topic ranking matches both of the response selector's alternatives
    {
        "events": [
            {
                "event": "user",
                "parse_data": {"response_selector": {"all_retrieval_intents": [], "faq": {"ranking": []}}},
            }
        ]
    },
    {"events": [{"event": "bot", "timestamp": "yesterday"}]},
    {"events": [{"event": "bot", "metadata": []}]},
    {"responses": {"text": "not a list"}},
    {"responses": ["not an object"]},
    [],  # not an object at all
    "ok",
]


def rasas_answer(reply) -> bool:
    try:
        jsonschema.validate(reply, RemoteAction.action_response_format_spec())
    except jsonschema.ValidationError:
        return False
    return True


@pytest.mark.parametrize("reply", REPLIES)
def test_a_reply_is_valid_exactly_when_rasas_schema_says_so(reply):
    assert _valid_reply(reply) == rasas_answer(reply)


def test_both_answers_occur_and_the_events_are_checked_one_alternative_each():
    assert {_valid_reply(reply) for reply in REPLIES} == {True, False}
    _, by_event = _response_validators()
    assert by_event is not None and len(by_event) == 23  # Rasa's schema was split, not checked whole


def test_an_invalid_reply_gets_rasas_error():
    action = RemoteActionWithFallback("action_clinic_contact", None)
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [{"event": "no_such_event"}]})
    assert action._validate_action_result({"events": [E.SlotSet("clinic_name", "x").as_dict()]})
