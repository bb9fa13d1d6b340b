"""Route uncertain FAQ answers to a clarification instead of a confident guess.

Rasa's FallbackClassifier only looks at the intent confidence (how sure the
classifier is that a message is *some* FAQ question). It cannot see how sure
the classifier is about *which* answer to give. This component, placed after
the classifier (``components/linear_classifier.py``, which selects the answer
as a ResponseSelector would), replaces the intent with ``nlu_fallback`` when
the chosen answer is uncertain, so the rule for ``nlu_fallback`` asks "Did you
mean...?".

It also turns the clarification buttons' payloads ``/faq/<topic>`` into exactly
that answer, so a button always selects its topic. With ``offer_min_intent``
and ``offer_min_topic`` set, it lists in ``clarify_topics`` the topics that
"Did you mean...?" may offer (``action_clarify``): none unless the intent was
at least ``offer_min_intent``, then each topic rated at least
``offer_min_topic``, best first.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PROPERTY_NAME as RESPONSE_SELECTOR,
)
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_RANKING_KEY as RANKING,
)
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from components.override import IntentOverride, select_topic, set_intent

# The message property listing the topics "Did you mean...?" may offer.
CLARIFY_TOPICS = "clarify_topics"
PAYLOAD = re.compile(r"^\s*/(?P<intent>[a-z_]+)/(?P<topic>[a-z_]+)\s*$")
# "/faq" alone: Rasa's RegexMessageHandler would set the intent and drop the
# answer selection, so `utter_faq` would have nothing to say.
BARE = re.compile(r"^\s*/(?P<intent>[a-z_]+)\s*(?:@[0-9.]*)?\s*(?:\{.*\})?\s*$")


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class FaqConfidenceGate(IntentOverride):
    """Replace an uncertain FAQ answer by `nlu_fallback`; honour topic payloads."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Return the defaults: gate the `faq` answers below 0.5 or within 0.1."""
        return {
            "intent": DEFAULT_NLU_FALLBACK_INTENT_NAME,
            "retrieval_intent": "faq",
            "threshold": 0.5,
            "ambiguity_threshold": 0.1,
            "offer_min_intent": None,
            "offer_min_topic": None,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        """Keep the configuration."""
        super().__init__({**self.get_default_config(), **config})
        self._retrieval_intent = self.config["retrieval_intent"]
        self._threshold = float(self.config["threshold"])
        self._ambiguity = float(self.config["ambiguity_threshold"])
        offer = (self.config["offer_min_intent"], self.config["offer_min_topic"])
        self._offer = None if None in offer else (float(offer[0]), float(offer[1]))

    def process(self, messages: List[Message]) -> List[Message]:
        """Gate every message."""
        for message in messages:
            if self._is_bare_payload(message):
                # Not a payload any button sends: treat it as text we did not understand.
                message.set(TEXT, message.get(TEXT).strip().lstrip("/"))
                set_intent(message, self.intent, confidence=0.0)
            elif not self._apply_payload(message):
                self._gate(message)
            if self._offer:
                message.set(CLARIFY_TOPICS, self._topics_to_offer(message), add_to_output=True)
        return messages

    def _topics_to_offer(self, message: Message) -> List[Text]:
        """Return the topics "Did you mean...?" may offer, best first (none if the intent was unlikely)."""
        min_intent, min_topic = self._offer
        ranking = message.get(INTENT_RANKING_KEY) or []
        confidence = max(
            (i.get(PREDICTED_CONFIDENCE_KEY, 0.0) for i in ranking if i.get(INTENT_NAME_KEY) == self._retrieval_intent),
            default=0.0,
        )
        if confidence < min_intent:
            return []
        return [
            entry[INTENT_RESPONSE_KEY].partition("/")[2]
            for entry in (self._selector(message) or {}).get(RANKING) or []
            if entry.get(PREDICTED_CONFIDENCE_KEY, 0.0) >= min_topic and entry.get(INTENT_RESPONSE_KEY)
        ]

    def _is_bare_payload(self, message: Message) -> bool:
        match = BARE.match(message.get(TEXT) or "")
        return bool(match) and match.group("intent") == self._retrieval_intent

    def _selector(self, message: Message) -> Optional[Dict[Text, Any]]:
        return (message.get(RESPONSE_SELECTOR) or {}).get(self._retrieval_intent)

    def _apply_payload(self, message: Message) -> bool:
        """Answer `/<retrieval intent>/<topic>` with that topic, if it is a known one."""
        match = PAYLOAD.match(message.get(TEXT) or "")
        selector = self._selector(message)
        if not match or match.group("intent") != self._retrieval_intent or not selector:
            return False
        key = f"{self._retrieval_intent}/{match.group('topic')}"
        if key not in {r.get(INTENT_RESPONSE_KEY) for r in selector.get(RANKING, [])}:
            return False
        select_topic(message, self._retrieval_intent, match.group("topic"))
        return True

    def _gate(self, message: Message) -> None:
        """Fall back when the intent is ours but the chosen answer is uncertain."""
        intent = message.get(INTENT) or {}
        selector = self._selector(message)
        if intent.get(INTENT_NAME_KEY) != self._retrieval_intent or not selector:
            return
        ranking = selector.get(RANKING) or []
        confidences = [r.get(PREDICTED_CONFIDENCE_KEY, 0.0) for r in ranking] + [0.0, 0.0]
        top, second = confidences[0], confidences[1]
        # Each answer's own probability: its share of the intent times the intent's
        # confidence, so a vague message is not answered on a confident share of an
        # unsure intent ("is the thingy with the pokes ok": 0.64 x 0.64).
        certainty = float(intent.get(PREDICTED_CONFIDENCE_KEY, 0.0))
        top, second = top * certainty, second * certainty
        # A small tolerance, so a margin of exactly the threshold counts (0.5 - 0.4).
        if top >= self._threshold and top - second >= self._ambiguity - 1e-9:
            return
        set_intent(message, self.intent, confidence=top)
