"""The callback-request form: ask what a domain response alone cannot, validate the answers, then store them."""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import contact_details as check
from actions.config import profile_of, settings
from frontdesk.notify import notify_pending
from frontdesk.store import NewRequest, store_for

logger = logging.getLogger(__name__)

FORM_SLOTS = ["callback_name", "callback_contact", "callback_time", "callback_question", "callback_consent"]
STATE_SLOTS = ["callback_contact_kind", "callback_status", "callback_failures", "pending_question"]
MAX_FAILURES = 3
PENDING_QUESTION_INTENTS = {"handoff", "nlu_fallback"}
NOT_A_QUESTION = {"handoff/human", "handoff/contact", "handoff/booking"}


def pending_question(tracker: Tracker) -> Optional[Text]:
    """Return the patient's last question the assistant could not answer, if any."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        text = (event.get("text") or "").strip()
        if not text or text.startswith("/"):
            continue
        data = event.get("parse_data") or {}
        intent = (data.get("intent") or {}).get("name")
        full = (data.get("intent") or {}).get("full_retrieval_intent_name")
        if intent in PENDING_QUESTION_INTENTS and full not in NOT_A_QUESTION:
            return text[:500]
        return None
    return None


def clear_slots() -> List[EventType]:
    """Forget everything the form collected (privacy: nothing stays in the slots)."""
    return [SlotSet(slot, None) for slot in FORM_SLOTS + STATE_SLOTS]


class ValidateCallbackForm(FormValidationAction):
    """Validate each answer of the callback form; cancel, retry or give up politely."""

    def name(self) -> Text:
        """Return the action's name."""
        return "validate_callback_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        """Stop the form on "cancel" or a red flag, otherwise validate as usual."""
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if tracker.get_slot("requested_slot") and (check.is_cancel(text) or intent == "emergency"):
            status = "emergency" if intent == "emergency" else "cancelled"
            return [*clear_slots(), SlotSet("callback_status", status), SlotSet("requested_slot", None)]
        return await super().run(dispatcher, tracker, domain)

    def _invalid(self, slot: Text, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        """Say the slot's utter_retry_<slot> before it is asked again, or end the form after MAX_FAILURES."""
        failures = int(tracker.get_slot("callback_failures") or 0) + 1
        if failures >= MAX_FAILURES:
            return {slot: None, "callback_failures": None, "callback_status": "failed", "requested_slot": None}
        dispatcher.utter_message(response=f"utter_retry_{slot}")
        return {slot: None, "callback_failures": float(failures)}

    def validate_callback_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict
    ) -> Dict[Text, Any]:
        """Accept a plausible name (letters, spaces, hyphens, apostrophes)."""
        name = check.name(str(value or ""))
        if not name:
            return self._invalid("callback_name", dispatcher, tracker)
        return {"callback_name": name, "callback_failures": None}

    def validate_callback_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict
    ) -> Dict[Text, Any]:
        """Accept a North American phone number or an email address, normalised."""
        found = check.contact(str(value or ""))
        if not found:
            return self._invalid("callback_contact", dispatcher, tracker)
        kind, contact = found
        return {"callback_contact": contact, "callback_contact_kind": kind, "callback_failures": None}

    def validate_callback_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict
    ) -> Dict[Text, Any]:
        """Accept a short preferred time, or "any time"."""
        when = check.preferred_time(str(value or ""))
        if not when:
            return self._invalid("callback_time", dispatcher, tracker)
        return {"callback_time": when, "callback_failures": None}

    def validate_callback_question(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict
    ) -> Dict[Text, Any]:
        """Keep the prefilled question on "yes", or take the new one."""
        text = str(value or "")
        pending = tracker.get_slot("pending_question")
        if pending and check.yes_no(text) is True:
            return {"callback_question": pending, "callback_failures": None}
        question = check.question(text)
        if not question or check.yes_no(text) is not None:
            return self._invalid("callback_question", dispatcher, tracker)
        return {"callback_question": question, "callback_failures": None}

    def validate_callback_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict
    ) -> Dict[Text, Any]:
        """Accept an explicit yes or no."""
        answer = check.yes_no(str(value or ""))
        if answer is None:
            return self._invalid("callback_consent", dispatcher, tracker)
        return {"callback_consent": answer, "callback_failures": None}


class ActionAskCallbackQuestion(Action):
    """Ask for the question, offering the one the assistant could not answer."""

    def name(self) -> Text:
        """Return the action's name."""
        return "action_ask_callback_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        """Offer the pending question (if Rasa can show it), or ask for one."""
        pending = tracker.get_slot("pending_question")
        # Rasa's interpolator leaves "{question}" unfilled in a text that contains "0[".
        if pending and "0[" not in pending:
            dispatcher.utter_message(response="utter_callback_question_pending", question=pending)
        else:
            dispatcher.utter_message(response="utter_callback_question_new")
        return []


class ActionAskCallbackConsent(Action):
    """Ask for explicit consent to store the details, saying for how long."""

    def name(self) -> Text:
        """Return the action's name."""
        return "action_ask_callback_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        """Explain what is stored and for how long; ask yes or no."""
        dispatcher.utter_message(response="utter_callback_consent", days=settings().retention_days)
        return []


class ActionSubmitCallback(Action):
    """Store the callback request (committed before confirming), then forget the details."""

    def name(self) -> Text:
        """Return the action's name."""
        return "action_submit_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        """Confirm a stored request, or say why nothing was stored."""
        profile = profile_of(tracker)
        status = tracker.get_slot("callback_status")
        if status == "emergency":
            dispatcher.utter_message(response="utter_emergency")
        elif status == "cancelled":
            dispatcher.utter_message(response="utter_callback_cancelled")
        elif status == "failed":
            dispatcher.utter_message(response="utter_callback_failed")
            dispatcher.utter_message(text=profile.contact_text())
        elif tracker.get_slot("callback_consent") is not True:
            dispatcher.utter_message(response="utter_callback_no_consent")
            dispatcher.utter_message(text=profile.contact_text())
        else:
            self._store(dispatcher, tracker, profile)
        return clear_slots()

    @staticmethod
    def _store(dispatcher: CollectingDispatcher, tracker: Tracker, profile) -> None:
        """Store the request and confirm it, or say that it could not be saved."""
        config = settings()
        request = NewRequest(
            clinic_id=profile.id,
            name=tracker.get_slot("callback_name"),
            contact=tracker.get_slot("callback_contact"),
            contact_kind=tracker.get_slot("callback_contact_kind") or "phone",
            preferred_time=tracker.get_slot("callback_time"),
            question=tracker.get_slot("callback_question"),
        )
        store = store_for(config.callback_db_url)
        try:
            row, created = store.add(request, tracker.sender_id)
        except SQLAlchemyError as error:
            logger.error("Could not store a callback request: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_callback_not_saved")
            dispatcher.utter_message(text=profile.contact_text())
            return
        if created and config.webhook_for(request.clinic_id):
            threading.Thread(target=notify_pending, args=(store, config.webhook_for), daemon=True).start()
        by = "phone" if request.contact_kind == "phone" else "email"
        dispatcher.utter_message(
            response="utter_callback_stored",
            name=request.name,
            request_id=row.id,
            clinic_name=profile.name,
            contact_by=by,
        )
