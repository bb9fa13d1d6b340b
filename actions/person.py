"""Live hand-off: put a conversation in the front desk's inbox, and offer a callback if nobody takes it in time."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any, Dict, List, Text

import requests
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, ReminderScheduled, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.callback import pending_question
from actions.config import profile_of, settings
from frontdesk.store import WAITING, store_for

logger = logging.getLogger(__name__)

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
        threading.Thread(target=_ping, args=(url, text), daemon=True).start()
    minutes = config.person_wait_minutes
    dispatcher.utter_message(response="utter_person_requested", minutes=f"{minutes:g}")
    due = datetime.now() + timedelta(minutes=minutes)
    return [
        SlotSet("pending_question", pending_question(tracker)),
        ReminderScheduled(NOBODY_CAME, trigger_date_time=due, name="person_wait", kill_on_user_message=False),
    ]


def _ping(url: str, text: str) -> None:
    try:
        requests.post(url, json={"text": text}, timeout=10).raise_for_status()
    except requests.RequestException as error:
        logger.warning("Live hand-off: the webhook could not be told (%s)", type(error).__name__)


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
