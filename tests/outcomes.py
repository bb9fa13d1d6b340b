"""What the assistant did with one patient message, and how that is scored.

An outcome is read from the conversation's events after the message: the FAQ
answers given (``faq/<topic>``), the clinic hand-off (``action_clinic_contact``
ran), the emergency reply, a "Did you mean...?" (``action_clarify`` with
buttons). ``score`` compares it with the labels of ``../shared/eval``'s
README: a topic name, ``handoff``, ``emergency`` or ``nofaq``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, List, Set, Text

FAQ_PREFIX = "utter_faq/"
RIGHT, ASKED, WRONG, MISSED = "right", "asked", "confidently wrong", "missed"


@dataclass
class Outcome:
    """What one reply did: FAQ topics in order, hand-off, emergency, clarification."""

    topics: List[Text] = field(default_factory=list)
    handoff: bool = False
    emergency: bool = False
    asked: bool = False
    texts: List[Text] = field(default_factory=list)

    def labels(self) -> Set[Text]:
        """Return the outcome as the labels of the development set."""
        labels = set(self.topics)
        if self.handoff:
            labels.add("handoff")
        if self.emergency:
            labels.add("emergency")
        return labels

    def describe(self) -> Text:
        """Return a short description, such as `what_is + handoff` or `asked`."""
        parts = list(self.topics) + ["handoff"] * self.handoff + ["emergency"] * self.emergency
        parts += ["asked"] * self.asked
        return " + ".join(parts) or "no answer"


def outcome_of(events: Iterable[dict]) -> Outcome:
    """Read the outcome from the events that followed the patient's message."""
    result = Outcome()
    for event in events:
        if event.get("event") == "action":
            name = event.get("name")
            if name == "action_clinic_contact":
                result.handoff = True
            elif name == "utter_emergency":
                result.emergency = True
        elif event.get("event") == "bot":
            result.texts.append(event.get("text") or "")
            action = (event.get("metadata") or {}).get("utter_action") or ""
            if action.startswith(FAQ_PREFIX):
                result.topics.append(action[len(FAQ_PREFIX) :])
            if (event.get("data") or {}).get("buttons") and any(
                b.get("payload", "").startswith("/faq/") for b in event["data"]["buttons"]
            ):
                result.asked = True
    return result


def events_after_last_user_message(events: List[dict]) -> List[dict]:
    """Return the events after the conversation's latest user message."""
    last = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    return events[last + 1 :]


def score(outcome: Outcome, accept: Set[Text]) -> Text:
    """Score one outcome: right, asked, confidently wrong or missed.

    Right: at least one accepted outcome and no FAQ answer outside `accept`
    (`nofaq` is met by giving no FAQ answer). Confidently wrong: an FAQ answer
    outside `accept`, or neither hand-off nor emergency reply nor a question
    back where only those are right. Asked: a "Did you mean...?" without a
    wrong answer. Missed: anything else (small talk where an answer was due).
    """
    got = outcome.labels()
    if any(topic not in accept for topic in outcome.topics):
        return WRONG
    if got & accept or ("nofaq" in accept and not outcome.topics):
        return RIGHT
    if outcome.asked:
        return ASKED
    if accept <= {"handoff", "emergency"}:
        return WRONG
    return MISSED


def answered_in_full(outcome: Outcome, accept: Set[Text]) -> bool:
    """Tell whether a question that asks two things got both (or all it could: at most two)."""
    wanted = accept - {"nofaq"}
    if score(outcome, accept) != RIGHT:
        return False
    return len(outcome.labels() & wanted) >= min(2, len(wanted))


async def reply_outcome(agent, sender: Text, text: Text) -> Outcome:
    """Send `text` as `sender` to the agent; return what the reply did."""
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender))
    tracker = await agent.tracker_store.retrieve(sender)
    return outcome_of(events_after_last_user_message([e.as_dict() for e in tracker.events]))
