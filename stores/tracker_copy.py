"""A conversation tracker whose ``copy()`` copies its state instead of replaying its events.

Rasa's ``DialogueStateTracker.copy()`` builds a new tracker and replays every
event of the conversation into it. Rasa copies the tracker before each action
it runs (two or three per message), and the tracker store copies it when it
keeps and hands out a conversation (``stores/sql_tracker_store.py``): 5-6% of
the server's busy time per message in `make profile`, growing with the
conversation.

``Tracker.copy()`` gives what the replay would: the same events (the same
event objects, as Rasa's copy shares them), new slot objects with the same
values, the same latest message, action, bot utterance, follow-up action,
pause flag and a new active-loop record; like Rasa's copy, no ``sender_source``,
``model_id`` or ``assistant_id``. The tracker store hands out ``Tracker``s,
so Rasa's own copies in the processor use it. ``tests/test_tracker_copy.py``
compares both copies, attribute by attribute, on whole conversations.
"""

from __future__ import annotations

import dataclasses

from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker


class Tracker(DialogueStateTracker):
    """DialogueStateTracker with a copy that does not replay the events."""

    def copy(self) -> "Tracker":
        """Copy the tracker as Rasa's replay would."""
        return copy_of(self)


def copy_of(tracker: DialogueStateTracker) -> Tracker:
    """A ``Tracker`` in the state Rasa's ``tracker.copy()`` would give."""
    new = Tracker(
        tracker.sender_id or DEFAULT_SENDER_ID,
        None,
        tracker._max_event_history,
        is_rule_tracker=tracker.is_rule_tracker,
    )
    # Rasa's copy makes new slot objects (copy.copy of each) and sets their values by replay.
    new.slots = {slot.name: _copy_slot(slot) for slot in tracker.slots.values()}
    new.events = new._create_events(list(tracker.events))
    new._paused = tracker._paused
    new.followup_action = tracker.followup_action
    new.latest_action = None if tracker.latest_action is None else dict(tracker.latest_action)
    new.latest_message = tracker.latest_message
    new.latest_bot_utterance = tracker.latest_bot_utterance
    new.active_loop = None if tracker.active_loop is None else dataclasses.replace(tracker.active_loop)
    return new


def _copy_slot(slot: Slot) -> Slot:
    """``copy.copy(slot)``: Rasa's slots are plain objects (no ``__copy__``, ``__slots__`` or
    ``__getstate__``), for which that is a new object with the same attribute dict."""
    new = object.__new__(type(slot))
    new.__dict__.update(slot.__dict__)
    return new
