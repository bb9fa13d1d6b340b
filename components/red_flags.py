"""Make sure red-flag symptoms always get the emergency reply.

The classifier learns the `emergency` intent from examples, but a safety reply
must not depend on its confidence. This component runs after the classifier
and the other gates (only ``QuestionCombiner`` comes after it) and sets the
intent to `emergency` whenever a message describes a red flag:
trouble breathing, chest pain, heavy bleeding, fainting or a collapsed lung.
It errs on the side of caution: the emergency reply is worded conditionally
("If you have ... call 911 now"), so a false alarm costs one extra sentence.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Pattern, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe

from components.override import IntentOverride

_CANT = (
    r"(?:can'?t|cannot|can not|cant|unable to|hard to|struggling to|struggle to|trouble|difficulty|hard time|problems?)"
)
RED_FLAGS = [
    # breathing
    rf"\b{_CANT}\s+(?:catch(?:ing)?\s+(?:my|a)\s+)?breath",
    r"\bshort(?:ness)?\s+of\s+breath",
    r"\b(?:not|stopped|isn'?t|is not)\s+breathing\b",
    r"\bbreathless",
    r"\bgasping\b",
    # chest pain
    r"\bchest\s+(?:pain|hurts?|hurting|is\s+(?:tight|hurting|sore)|tight(?:ness)?|pressure|feels?\s+tight)",
    r"\bpain\s+in\s+(?:my|the|his|her)\s+chest",
    # heavy bleeding
    r"\b(?:heavy|heavily|lots\s+of|a\s+lot\s+of|so\s+much|pouring|gushing)\s+(?:bleeding|blood)",
    r"\bbleed(?:ing|s)?\s+(?:heavily|a\s+lot|badly|everywhere|(?:that\s+)?(?:won'?t|wont|doesn'?t|does\s+not|will\s+not)\s+stop)",
    r"\b(?:won'?t|wont|can'?t|cant|doesn'?t)\s+stop\s+(?:the\s+)?bleeding",
    # fainting
    r"\b(?:fainted|fainting|feel(?:ing)?\s+faint|about\s+to\s+faint|passed\s+out|passing\s+out|pass\s+out|blacked\s+out|lost\s+consciousness|unconscious|collapsed)\b",
    # collapsed lung
    r"\b(?:collapsed|punctured|popped)\s+(?:a\s+|my\s+|the\s+)?lung",
    r"\blung\s+(?:collapse|collapsed|puncture)",
    r"\bpneumothora(?:x|ces)\b",
]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class RedFlagDetector(IntentOverride):
    """Set the intent to `emergency` when a message mentions a red-flag symptom."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Return the defaults: the built-in red-flag patterns, intent `emergency`."""
        return {"intent": "emergency", "patterns": RED_FLAGS}

    def __init__(self, config: Dict[Text, Any]) -> None:
        """Compile the patterns."""
        super().__init__(config)
        self._patterns: List[Pattern] = [re.compile(p, re.IGNORECASE) for p in config["patterns"]]

    def matches(self, text: Text) -> bool:
        """Tell whether the text mentions a red-flag symptom."""
        text = text.replace("\u2019", "'")
        return any(p.search(text) for p in self._patterns)
