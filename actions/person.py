"""Live hand-off: put a conversation in the front desk's inbox, and offer a callback if nobody takes it in time."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, ReminderScheduled, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.callback import pending_question
from actions.config import profile_of, settings
from frontdesk.notify import send
from frontdesk.store import WAITING, store_for

NOBODY_CAME = "EXTERNAL_nobody_came"


def ask_for_person(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Put the conversation in the inbox as waiting, ping the clinic's webhook, and say what happens next."""
    config = settings()
    profile = profile_of(tracker)
    channel = tracker.get_latest_input_channel() or "rest"
    _, created = store_for(config.callback_db_url).ask_for_person(tracker.sender_id, profile.id, channel)
    url = config.webhook_for(profile.id)
    if created and url:  # no personal data: only that someone is waiting
        text = f"A patient is waiting for a person in the {profile.name} inbox."
        # One attempt, off the action's thread: the patient's reply does not wait for it.
        threading.Thread(target=send, args=(url, {"text": text}), kwargs={"attempts": 1}, daemon=True).start()
    minutes = config.person_wait_minutes
    dispatcher.utter_message(response="utter_person_requested", minutes=f"{minutes:g}")
    due = datetime.now() + timedelta(minutes=minutes)
    return [
        SlotSet("pending_question", pending_question(tracker)),
        ReminderScheduled(NOBODY_CAME, trigger_date_time=due, name="person_wait", kill_on_user_message=False),
    ]


class ActionCheckPerson(Action):
    """Offer the callback form when nobody from the front desk took the waiting conversation."""

    def name(self) -> Text:
        """Return the action's name."""
        return "action_check_person"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        """Say nobody is free and offer a callback if the conversation still waits; else say nothing."""
        store = store_for(settings().callback_db_url)
        handoff = store.handoff_of(tracker.sender_id)
        if handoff is None or handoff.status != WAITING:
            return []
        store.set_handoff(handoff.id, handoff.clinic_id, "closed")
        dispatcher.utter_message(response="utter_nobody_came")
        dispatcher.utter_message(response="utter_offer_callback")
        return []
