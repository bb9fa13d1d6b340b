"""Compound questions and follow-ups: classify the parts of a message, and a follow-up in context.

``QuestionVariants`` runs first in the pipeline. Next to each message it adds
*variants* that the rest of the pipeline featurizes and classifies like any
message:

* a **clause** for each question of a message that asks two or three
  ("does it hurt and how long does it take?", "How long is a session? How many
  will I need?"); a later question that points back ("Are they the same?") is
  read with the one before it;
* a **context** variant for a short follow-up that leans on the conversation
  ("is that normal?", "what about afterwards?"): the patient's previous
  question in this session followed by the follow-up. Rasa gives a component
  the conversation when its ``process`` takes a ``tracker``.

``QuestionCombiner`` runs last and removes the variants again. It keeps the
message's own result unless:

* two clauses are answered with confidence (an FAQ or a hand-off topic) and
  differ: the message gets both, in the order asked, in ``answers`` and as
  a ``second_question`` entity, which the rule for two questions answers with
  ``action_answer_all``. A clause is sure on its own or when the whole message
  is sure of the same answer; next to one sure clause, a fairly sure one on
  another topic counts too;
* the message itself is unsure (``nlu_fallback``) and one clause, or else the
  context variant, is answered with confidence: the message takes that result.

A red flag in the message (``emergency``) always wins; the context variant's
own intent is never taken over for it. A general question about a red flag as a
risk of the treatment ("how rare is a lung puncture?"), not in the first person,
keeps the emergency reply first and gets the answer on side effects and safety
after it (with the other question's answer, if it asked two).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import RESPONSE_SELECTOR_PREDICTION_KEY, RESPONSE_SELECTOR_PROPERTY_NAME
from rasa.shared.core.events import SessionStarted, UserUttered
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from components.personal_health import OWN_BODY_KEY

VARIANT = "question_variant"
ANSWERS = "answers"
SECOND = "second_question"
ANSWERED_INTENTS = ("faq", "handoff")
FALLBACK = "nlu_fallback"
EMERGENCY = "emergency"
MAX_CLAUSES = 3
MAX_ANSWERS = 2

_ASKS = r"(?:what|what's|whats|how|who|why|when|where|is|are|can|could|does|do|did|will|would|should|am)\b"
# A new question starts after "?" (any sentence), or after ",", ";", "." or
# "and"/"also" when a question word follows.
CLAUSE_BREAK = re.compile(
    rf"\?+\s+|(?:[,;.]|\band\b|\balso\b)\s+(?:and\s+|also\s+)?(?={_ASKS})",
    re.IGNORECASE,
)
# A follow-up leans on what came before: it opens like one or points back.
FOLLOW_UP = re.compile(
    r"^\s*(?:and|but|so|also|or|even|then|what about|how about|what if|and if|why|how come|really)\b"
    r"|\b(?:that|this|those|these|then)\b",
    re.IGNORECASE,
)
FOLLOW_UP_WORDS = 8
# A question of a compound message that points back at the one before it.
POINTS_BACK = re.compile(r"\b(?:that|this|those|these|they|them|same|both)\b", re.IGNORECASE)
# A bare question this short ("how long?", "does it always happen") is read in
# context too; a longer one needs a follow-up's words ("that", "what about").
BARE_QUESTION_WORDS = 4
MIN_CLAUSE_WORDS = 3
# A part of a compound question is answered on its own only when the classifier
# is this sure of it (intent confidence times the topic's share): a short second
# question ("who pays for it?") is often too vague to answer alone.
MIN_CLAUSE_CONFIDENCE = 0.8
# Once one part is answered that surely, another part on a different topic
# needs less ("what is it, and how could it cause such a complication?").
MIN_PARTNER_CONFIDENCE = 0.6
# Next to a hand-off about the patient's own health, a general safety or
# aftercare answer would read as reassurance for their case: it is left out.
PERSONAL = {"handoff/health_conditions", "handoff/symptoms_after"}
REASSURING = {"faq/side_effects_safety", "faq/aftercare", "faq/does_it_hurt"}
# A general answer that a patient could take as being about their own knee or
# back ("what about my knee?") is followed by the clinic hand-off.
FOR_YOU = {"faq/conditions_treated", "faq/benefits"}
OWN_BODY_HANDOFF = "handoff/health_conditions"
# A question about a red flag as a risk of the treatment, asked in general
# ("How can it cause a collapsed lung?"), not about the patient ("my chest...").
RISK_QUESTION = re.compile(
    rf"^\W*{_ASKS}.*\b(?:cause[sd]?|risks?|rare|chances?|likely|happens?|common|possible)\b", re.IGNORECASE
)
FIRST_PERSON = re.compile(r"\b(?:i|i'm|im|i've|ive|me|my|we|our|us)\b", re.IGNORECASE)
RISKS_ANSWER = "faq/side_effects_safety"


def clauses(text: Text) -> List[Text]:
    """Split a message into its questions (one item when it asks one thing).

    A piece of fewer than three words ("In general,") is joined to the next.
    """
    parts: List[Text] = []
    carry = ""
    for piece in CLAUSE_BREAK.split(text or ""):
        piece = f"{carry} {piece}".strip(" ,;.()")
        carry = piece if len(piece.split()) < MIN_CLAUSE_WORDS else ""
        if not carry and piece:
            parts.append(piece)
    return parts[:MAX_CLAUSES] if len(parts) > 1 else [text]


def with_antecedents(parts: List[Text]) -> List[Text]:
    """Put the question before in front of each question that points back at it."""
    return [f"{parts[i - 1]} {part}" if i and POINTS_BACK.search(part) else part for i, part in enumerate(parts)]


STARTS_ASKING = re.compile(rf"^\s*{_ASKS}", re.IGNORECASE)


def is_follow_up(text: Text) -> bool:
    """Tell whether a message is short and leans on the previous one (or asks a bare question)."""
    words = text.split()
    if not 0 < len(words) <= FOLLOW_UP_WORDS:
        return False
    return bool(FOLLOW_UP.search(text)) or (len(words) <= BARE_QUESTION_WORDS and bool(STARTS_ASKING.search(text)))


def previous_question(tracker: Any) -> Optional[Text]:
    """Return the session's latest patient message that got an FAQ or hand-off answer."""
    for event in reversed(getattr(tracker, "events", None) or []):
        if isinstance(event, SessionStarted):
            return None
        if isinstance(event, UserUttered) and event.intent_name in ANSWERED_INTENTS and event.text:
            return event.text
    return None


class _Component(GraphComponent):
    """A component without configuration or training."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "_Component":
        """Create the component."""
        return cls()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class QuestionVariants(_Component):
    """Add a clause per question of a compound message, and a follow-up read in context."""

    def process(self, messages: List[Message], tracker: Any = None) -> List[Message]:
        """Return the messages, each followed by its variants."""
        before = previous_question(tracker) if hasattr(tracker, "events") else None
        result = []
        for message in messages:
            result.append(message)
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue  # a button's payload
            parts = clauses(text)
            if len(parts) > 1:
                result += [Message(data={TEXT: part, VARIANT: "clause"}) for part in with_antecedents(parts)]
            if before and is_follow_up(text):
                result.append(Message(data={TEXT: f"{before} {text}", VARIANT: "context"}))
        return result


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class QuestionCombiner(_Component):
    """Fold the variants back into their message: two answers, or an answer found in a part or in context."""

    def process(self, messages: List[Message]) -> List[Message]:
        """Return only the original messages, with what their variants found."""
        result: List[Message] = []
        variants: Dict[int, List[Message]] = {}
        for message in messages:
            if message.get(VARIANT):
                if result:
                    variants.setdefault(id(result[-1]), []).append(message)
            else:
                result.append(message)
        for message in result:
            self._combine(message, variants.get(id(message), []))
        return result

    def _combine(self, message: Message, variants: List[Message]) -> None:
        """Fold the variants in; follow a general answer about the patient's own body with the hand-off."""
        self._fold(message, variants)
        if message.get(OWN_BODY_KEY) and answer_label(message) in FOR_YOU and not message.get(ANSWERS):
            _answer_both(message, [answer_label(message), OWN_BODY_HANDOFF])

    @staticmethod
    def _fold(message: Message, variants: List[Message]) -> None:
        """Give the message two answers, or an unsure message a part's or the follow-up reading's answer."""
        if _intent(message) == EMERGENCY:
            QuestionCombiner._answer_risk_question(message, variants)
            return
        if not variants:
            return
        found = _answered_clauses(message, [v for v in variants if v.get(VARIANT) == "clause"])
        if PERSONAL & {answer_label(f) for f in found} or answer_label(message) in PERSONAL:
            found = [f for f in found if answer_label(f) not in REASSURING]
        if len(found) >= MAX_ANSWERS:
            _adopt(message, found[0])
            _answer_both(message, [answer_label(f) for f in found[:MAX_ANSWERS]])
            return
        if _intent(message) != FALLBACK:
            return
        sources = found + [v for v in variants if v.get(VARIANT) == "context" and answer_label(v)]
        if sources:
            _adopt(message, sources[0])

    @staticmethod
    def _answer_risk_question(message: Message, variants: List[Message]) -> None:
        """Give a general question about a red flag as a risk the safety answer (after the emergency reply)."""
        text = message.get(TEXT) or ""
        if not RISK_QUESTION.search(text) or FIRST_PERSON.search(text):
            return
        labels: List[Text] = []
        for clause in (v for v in variants if v.get(VARIANT) == "clause"):
            if _intent(clause) == EMERGENCY:
                labels.append(RISKS_ANSWER)
            elif answer_label(clause) and _confidence(clause) >= MIN_CLAUSE_CONFIDENCE:
                labels.append(answer_label(clause))
        labels = list(dict.fromkeys(labels or [RISKS_ANSWER]))[:MAX_ANSWERS]
        if RISKS_ANSWER not in labels:
            return
        _answer_both(message, labels)


def _answered_clauses(message: Message, clauses: List[Message]) -> List[Message]:
    """Return the clauses answered with confidence, one per topic, in the order asked.

    A part is sure on its own, or when the whole message is sure of the same
    answer; with one sure part, a part on another topic that is fairly sure
    joins it.
    """
    whole = answer_label(message) if _confidence(message) >= MIN_CLAUSE_CONFIDENCE else None
    sure = [
        c for c in clauses if answer_label(c) and (_confidence(c) >= MIN_CLAUSE_CONFIDENCE or answer_label(c) == whole)
    ]
    if len({answer_label(c) for c in sure}) == 1:
        sure_label = answer_label(sure[0])
        partners = [
            c for c in clauses if answer_label(c) not in (None, sure_label) and _confidence(c) >= MIN_PARTNER_CONFIDENCE
        ]
        if partners:
            best = max(partners, key=_confidence)
            sure = [c for c in clauses if c is best or any(c is s for s in sure)]
    found: List[Message] = []
    for clause in sure:
        if answer_label(clause) not in [answer_label(f) for f in found]:
            found.append(clause)
    return found


def _intent(message: Message) -> Optional[Text]:
    return (message.get(INTENT) or {}).get(INTENT_NAME_KEY)


def _selected(message: Message) -> Dict[Text, Any]:
    """Return the answer selected for the message's intent (empty if it has none)."""
    selector = (message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}).get(_intent(message)) or {}
    return selector.get(RESPONSE_SELECTOR_PREDICTION_KEY) or {}


def answer_label(message: Message) -> Optional[Text]:
    """Return the FAQ or hand-off topic the message is answered with (`faq/what_is`), if any."""
    return _selected(message).get(INTENT_RESPONSE_KEY) if _intent(message) in ANSWERED_INTENTS else None


def _answer_both(message: Message, labels: List[Text]) -> None:
    """Give the message its answers: `answers`, and the last as a `second_question` entity."""
    message.set(ANSWERS, labels, add_to_output=True)
    message.set(
        ENTITIES,
        (message.get(ENTITIES) or [])
        + [{ENTITY_ATTRIBUTE_TYPE: SECOND, ENTITY_ATTRIBUTE_VALUE: labels[-1], EXTRACTOR: "QuestionCombiner"}],
        add_to_output=True,
    )


def _confidence(message: Message) -> float:
    """Return how sure the classifier is of the message's answer: intent times topic confidence."""
    intent_confidence = (message.get(INTENT) or {}).get(PREDICTED_CONFIDENCE_KEY, 0.0)
    return float(intent_confidence) * float(_selected(message).get(PREDICTED_CONFIDENCE_KEY, 0.0))


def _adopt(message: Message, source: Message) -> None:
    """Give the message the intent, ranking and answer selection of `source`."""
    for key in (INTENT, INTENT_RANKING_KEY, RESPONSE_SELECTOR_PROPERTY_NAME):
        if source.get(key) is not None:
            message.set(key, source.get(key), add_to_output=True)
