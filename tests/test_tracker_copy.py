"""rasa_patches/tracker_copy.py: the same tracker as Rasa's copy (a replay of every event)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    BotUttered,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.slots import TextSlot
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_patches.tracker_copy import copy_of
from tests.conftest import agent_with_actions

# The callback form (an active loop) started, interrupted and completed; a
# restart, an undone message and a new session mid-conversation; FAQs.
CONVERSATION = [
    "hi",
    "can someone call me back?",
    "yes",
    "does it hurt?",
    "Sam",
    "403-555-0123",
    "weekday mornings",
    "yes",
    "/restart",
    "how much is it?",
    "/back",
    "is it acupuncture?",
    "/session_start",
    "bye",
]


@pytest.fixture(scope="module")
def trackers(tmp_path_factory):
    """The conversation's tracker after each message (the loop active in some)."""
    with agent_with_actions(tmp_path_factory.mktemp("tracker-copy")) as agent:
        loop = asyncio.new_event_loop()
        found = []
        for text in CONVERSATION:
            loop.run_until_complete(agent.handle_message(UserMessage(text, CollectingOutputChannel(), "copied")))
            found.append(loop.run_until_complete(agent.tracker_store.retrieve("copied")))
        loop.close()
        return found


def assert_same_state(ours: DialogueStateTracker, rasas: DialogueStateTracker, original: DialogueStateTracker):
    assert sorted(vars(ours)) == sorted(vars(rasas))
    for name, value in vars(rasas).items():
        mine = vars(ours)[name]
        if name == "events":
            assert mine is not original.events and mine.maxlen == value.maxlen
            assert len(mine) == len(value) and all(a is b for a, b in zip(mine, value))  # shared, as Rasa's
        elif name == "slots":
            assert list(mine) == list(value)
            for slot_name, slot in value.items():
                assert type(mine[slot_name]) is type(slot) and vars(mine[slot_name]) == vars(slot)
                assert mine[slot_name] is not original.slots[slot_name]  # new slot objects
        elif name == "active_loop" and value is not None:
            assert dataclasses.asdict(mine) == dataclasses.asdict(value)
            assert mine is not original.active_loop
        else:
            assert mine == value, name


def test_the_copies_match_rasas_after_every_message(trackers):
    assert any(t.active_loop is not None for t in trackers), "no tracker with the form active: weaker test"
    for tracker in trackers:
        ours = copy_of(tracker)
        assert_same_state(ours, DialogueStateTracker.copy(tracker), tracker)
        assert ours.current_state() == DialogueStateTracker.copy(tracker).current_state()


def test_the_copy_and_the_original_change_independently(trackers):
    original = trackers[3]  # the form is active here
    before = (
        len(original.events),
        {name: slot.value for name, slot in original.slots.items()},
        dataclasses.asdict(original.active_loop) if original.active_loop else None,
    )
    copy = copy_of(original)
    copy.update(SlotSet("callback_name", "Someone Else"))
    copy.update(ActionExecuted("action_listen"))
    copy.update(UserUttered("hello", {"name": "greet", "confidence": 1.0}))
    if copy.active_loop is not None:
        copy.active_loop.is_interrupted = not copy.active_loop.is_interrupted
    after = (
        len(original.events),
        {name: slot.value for name, slot in original.slots.items()},
        dataclasses.asdict(original.active_loop) if original.active_loop else None,
    )
    assert after == before


@pytest.mark.parametrize("max_event_history", [None, 3])  # unbounded, as served; and a bounded history
def test_a_bounded_history_is_kept_as_rasa_keeps_it(max_event_history):
    tracker = DialogueStateTracker("bounded", [TextSlot("name", mappings=[{}])], max_event_history=max_event_history)
    tracker.update(SlotSet("name", "Sam"))  # outside a 3-event window later: Rasa's replay forgets it
    for index in range(5):
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(f"message {index}", {"name": "greet", "confidence": 1.0}))
    assert_same_state(copy_of(tracker), DialogueStateTracker.copy(tracker), tracker)
    assert copy_of(tracker).get_slot("name") == ("Sam" if max_event_history is None else None)


def test_a_follow_up_action_cleared_by_the_processor_comes_back_as_in_rasas_copy():
    # action_clarify returns FollowupAction(action_clinic_contact); Rasa's processor then
    # clears it on the tracker itself, without an event, and Rasa's copy replays it back.
    tracker = DialogueStateTracker("followup", [TextSlot("name", mappings=[{}])])
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("hm", {"name": "nlu_fallback", "confidence": 1.0}))
    tracker.update(ActionExecuted("action_clarify"))
    tracker.update(FollowupAction("action_clinic_contact"))
    tracker.clear_followup_action()
    ours, rasas = copy_of(tracker), DialogueStateTracker.copy(tracker)
    assert rasas.followup_action == "action_clinic_contact"
    assert_same_state(ours, rasas, tracker)


@pytest.mark.parametrize(
    "last",
    [
        [Restarted()],  # a restart asks for action_session_start
        [SessionStarted()],  # a new session resets it to action_listen
        [FollowupAction("utter_greet"), BotUttered("hi")],  # a bot message leaves it
        [FollowupAction("utter_greet"), UserUtteranceReverted()],  # an undo replays everything: Rasa's replay is used
        [FollowupAction("utter_greet"), ActionReverted()],
    ],
)
def test_the_follow_up_action_is_what_the_events_leave(last):
    tracker = DialogueStateTracker("events", [TextSlot("name", mappings=[{}])])
    for event in [
        ActionExecuted("action_listen"),
        UserUttered("hi", {"name": "greet", "confidence": 1.0}),
        ActionExecuted("utter_greet"),
        ActionExecuted("action_listen"),
        UserUttered("again", {"name": "greet", "confidence": 1.0}),
        *last,
    ]:
        tracker.update(event)
    tracker.followup_action = "something the processor set"  # no event: the copies ignore it
    assert_same_state(copy_of(tracker), DialogueStateTracker.copy(tracker), tracker)
