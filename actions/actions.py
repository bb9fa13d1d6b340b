"""The custom actions: session start, clinic hand-off and "Did you mean...?"."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.callback import pending_question
from actions.config import profile_of, settings
from actions.person import ask_for_person
from actions.topics import topic_titles

FAQ = "faq"
HANDOFF = "handoff"
PERSON = "handoff/human"  # "can I talk to a person?": a person joins the chat when live hand-off is on
MAX_CHOICES = 3


def _selector(tracker: Tracker, retrieval_intent: Text) -> Dict[Text, Any]:
    """Return the response selector's output for `retrieval_intent`, or {}."""
    return (tracker.latest_message.get("response_selector") or {}).get(retrieval_intent) or {}


class ActionSessionStart(Action):
    """Start a session: name the clinic and show the general-information notice."""

    def name(self) -> Text:
        """Return the action's name."""
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        """Set the clinic's slots (its id, name and contact details) and say the notice."""
        profile = profile_of(tracker)
        dispatcher.utter_message(response="utter_notice", clinic_name=profile.name)
        slots = [SlotSet(name, value) for name, value in profile.session_slots().items()]
        return [SessionStarted(), *slots, ActionExecuted("action_listen")]


class ActionClinicContact(Action):
    """Say that the clinic team answers this one, how to reach it, and offer a callback."""

    def name(self) -> Text:
        """Return the action's name."""
        return "action_clinic_contact"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        """Say the clinic's contact details, then ask a person to join or offer a callback."""
        if (
            _selector(tracker, HANDOFF).get("response", {}).get("intent_response_key") == PERSON
            and settings().live_handoff
        ):
            return ask_for_person(dispatcher, tracker)
        dispatcher.utter_message(text=profile_of(tracker).contact_text())
        dispatcher.utter_message(response="utter_offer_callback")
        return [SlotSet("pending_question", pending_question(tracker))]


class ActionClarify(Action):
    """Ask "Did you mean...?" with up to 3 likely topics, or hand over if none fits."""

    def name(self) -> Text:
        """Return the action's name."""
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        """Offer the likely topics as buttons plus "Something else", or hand over if none fits."""
        topics = self._candidates(tracker)
        if not topics:
            dispatcher.utter_message(response="utter_not_sure")
            return [FollowupAction("action_clinic_contact")]
        titles = topic_titles()
        buttons = [{"title": titles[topic], "payload": f"/{FAQ}/{topic}"} for topic in topics]
        buttons.append({"title": "Something else", "payload": "/something_else"})
        dispatcher.utter_message(response="utter_did_you_mean", buttons=buttons)
        return []

    @staticmethod
    def _candidates(tracker: Tracker) -> List[Text]:
        """Return up to three topics the NLU found likely (its `clarify_topics`, config.yml), best first."""
        known = topic_titles()
        return [topic for topic in tracker.latest_message.get("clarify_topics") or [] if topic in known][:MAX_CHOICES]


class ActionAnswerAll(Action):
    """Answer each question of a message that asked two, in the order asked."""

    def name(self) -> Text:
        """Return the action's name."""
        return "action_answer_all"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        """Say each topic's response; if one is for the clinic team, hand over after them."""
        answers = [
            label for label in tracker.latest_message.get("answers") or [] if label.partition("/")[0] in (FAQ, HANDOFF)
        ]
        for label in answers:
            dispatcher.utter_message(response=f"utter_{label}")
        if any(label.startswith(f"{HANDOFF}/") for label in answers):
            return [FollowupAction("action_clinic_contact")]
        return []
