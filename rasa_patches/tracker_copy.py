"""Copy a conversation tracker without replaying its events: the kept copies of the store and the policy.

Rasa's ``DialogueStateTracker.copy()`` builds a new tracker and replays every
event of the conversation into it. The project's tracker store
(``stores/sql_tracker_store.py``) and rule policy (``policies/rule_policy.py``)
keep a copy of each recent conversation and hand out or go on from copies of
it; ``copy_of`` gives what the replay would: the same events (the same event
objects, as Rasa's copy shares them), new slot objects with the same values,
the latest message the events leave, the same action, bot utterance and pause
flag, a new active-loop record, and the follow-up action the events leave;
an undo that decides the follow-up action, or a bounded history, gets Rasa's
replay itself; like Rasa's copy, no ``sender_source``, ``model_id`` or
``assistant_id``. Rasa's own copies (the processor's, before each action) are
Rasa's: making them this way too bought 0.8-5% of the CPU per message, within
the noise (docs/performance.md), so it was removed. ``tests/test_tracker_copy.py``
compares both copies, attribute by attribute, on whole conversations.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Iterable, Optional, Sequence, Text, Tuple

from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    Event,
    FollowupAction,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker


def copy_of(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """Return a tracker in the state Rasa's ``tracker.copy()`` would give, without replaying its events."""
    replayed, followup_action = _followup_after_replay(tracker.events)
    latest_message = _latest_message_after_replay(tracker.events)
    if not replayed or latest_message is None or tracker._max_event_history:
        # An undo decides it, or a bounded history (whose replay forgets slots set
        # before the window): only Rasa's replay tells.
        return _replay(tracker)
    new = DialogueStateTracker(
        tracker.sender_id or DEFAULT_SENDER_ID,
        None,
        tracker._max_event_history,
        is_rule_tracker=tracker.is_rule_tracker,
    )
    # Rasa's copy makes new slot objects (copy.copy of each) and sets their values by replay.
    new.slots = {slot.name: _copy_slot(slot) for slot in tracker.slots.values()}
    new.events = new._create_events(list(tracker.events))
    new._paused = tracker._paused
    # As the replay leaves it: Rasa's processor clears a follow-up action on the
    # tracker itself (no event), and Rasa's copy brings it back from the events.
    new.followup_action = followup_action
    new.latest_action = None if tracker.latest_action is None else dict(tracker.latest_action)
    new.latest_message = latest_message
    new.latest_bot_utterance = tracker.latest_bot_utterance
    new.active_loop = None if tracker.active_loop is None else dataclasses.replace(tracker.active_loop)
    return new


def _followup_after_replay(events: Iterable[Event]) -> Tuple[bool, Optional[Text]]:
    """Return the follow-up action replaying the events leaves: (True, it), or (False, None) if an undo decides.

    The newest event that sets it decides (``apply_to`` of each): a user message
    or an action clears it, ``FollowupAction`` sets it, a restart sets
    action_session_start, a session start resets it to action_listen, as does
    a new tracker. An undo replays the whole conversation again.
    """
    for event in reversed(events):
        if isinstance(event, (UserUttered, ActionExecuted)):
            return True, None
        if isinstance(event, FollowupAction):
            return True, event.action_name
        if isinstance(event, Restarted):
            return True, ACTION_SESSION_START_NAME
        if isinstance(event, SessionStarted):
            return True, ACTION_LISTEN_NAME
        if isinstance(event, (UserUtteranceReverted, ActionReverted)):
            return False, None
    return True, ACTION_LISTEN_NAME


def _latest_message_after_replay(events: Sequence[Event]) -> Optional[UserUttered]:
    """Return the latest message replaying the events leaves, or None if an undo decides.

    A user message sets it; a restart, a session start or a new tracker resets it
    to an empty one. A tracker read back by Rasa's own stores (which replay only
    the "applied" events) can hold an older one while a form is active.
    """
    for event in reversed(events):
        if isinstance(event, UserUttered):
            return event
        if isinstance(event, (Restarted, SessionStarted)):
            return UserUttered.empty()
        if isinstance(event, (UserUtteranceReverted, ActionReverted)):
            return None
    return UserUttered.empty()


def _replay(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """Return Rasa's copy itself (a new tracker and a replay of every event)."""
    new = DialogueStateTracker(
        tracker.sender_id or DEFAULT_SENDER_ID,
        tracker.slots.values(),
        tracker._max_event_history,
        is_rule_tracker=tracker.is_rule_tracker,
    )
    for event in tracker.events:
        new.update(event)
    return new


def _copy_slot(slot: Slot) -> Slot:
    """Return what ``copy.copy(slot)`` gives: a new object with the same attribute dict.

    Rasa's slots are plain objects (no ``__copy__``, ``__slots__`` or ``__getstate__``),
    for which that is what ``copy.copy`` makes.
    """
    new = object.__new__(type(slot))
    new.__dict__.update(slot.__dict__)
    return new


def continues(events: Sequence[Event], known: Sequence[Event]) -> bool:
    """Whether ``events`` begin with exactly the event objects of ``known`` (a kept copy's)."""
    return len(events) >= len(known) and all(a is b for a, b in zip(events, known))


# How long a kept copy of a conversation (the tracker store's, the policy's
# states) lives after its conversation was last used: Rasa's default session
# length, so the privacy purge's deletions do not linger in memory.
KEEP_SECONDS = 3600


def forget_least_recent(kept: Dict[Any, Any], size: int, seconds: float, now: float) -> None:
    """Drop kept copies, least recently kept first: beyond ``size``, and any kept ``seconds`` or more ago.

    ``kept`` holds entries with a ``since`` time (``time.monotonic()``), in the
    order they were kept (a dict re-inserts an entry kept again at the end).
    """
    while len(kept) > size:
        kept.pop(next(iter(kept)))
    while kept and now - next(iter(kept.values())).since >= seconds:
        kept.pop(next(iter(kept)))  # oldest first: stop at the first recent one
