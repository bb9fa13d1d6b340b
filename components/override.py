"""Shared by the components that overrule the classifier: set an intent, or match and set it."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.constants import UTTER_PREFIX
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message


def set_intent(message: Message, name: Text, confidence: float = 1.0) -> None:
    """Make `name` the message's intent and put it first in the ranking."""
    intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
    others = [i for i in message.get(INTENT_RANKING_KEY) or [] if i.get(INTENT_NAME_KEY) != name]
    message.set(INTENT, intent, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [intent] + others, add_to_output=True)


def select_topic(message: Message, retrieval_intent: Text, topic: Text) -> None:
    """Make `retrieval_intent/topic` the message's answer, at full confidence."""
    key = f"{retrieval_intent}/{topic}"
    selectors = dict(message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {})
    selectors[retrieval_intent] = {
        RESPONSE_SELECTOR_PREDICTION_KEY: {
            INTENT_RESPONSE_KEY: key,
            PREDICTED_CONFIDENCE_KEY: 1.0,
            RESPONSE_SELECTOR_UTTER_ACTION_KEY: f"{UTTER_PREFIX}{key}",
        },
        RESPONSE_SELECTOR_RANKING_KEY: [{INTENT_RESPONSE_KEY: key, PREDICTED_CONFIDENCE_KEY: 1.0}],
    }
    selectors[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = sorted(
        set(selectors.get(RESPONSE_SELECTOR_RETRIEVAL_INTENTS) or []) | {retrieval_intent}
    )
    message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selectors, add_to_output=True)
    set_intent(message, retrieval_intent)


class IntentOverride(GraphComponent, IntentClassifier):
    """Set the configured `intent`, at full confidence, on every message that `matches`."""

    def __init__(self, config: Dict[Text, Any]) -> None:
        """Keep the configuration."""
        self.config = config
        self.intent = config["intent"]

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "IntentOverride":
        """Create the component from its configuration."""
        return cls(config)

    def matches(self, text: Text) -> bool:
        """Tell whether the text gets the intent (button payloads never reach here)."""
        raise NotImplementedError

    def process(self, messages: List[Message]) -> List[Message]:
        """Override the intent of every matching message."""
        for message in messages:
            text = message.get(TEXT) or ""
            if not text.startswith("/") and self.matches(text):
                set_intent(message, self.intent)
        return messages
