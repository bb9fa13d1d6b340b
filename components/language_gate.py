"""Recognise messages that are not in English, so they get a polite English-only reply.

The classifiers are trained on English only and would otherwise map a Spanish
or Punjabi question onto the nearest English topic. This component uses CLD2
(pycld2), which is fast and ships its own model, and sets the intent to
`other_language` when CLD2 is confident the text is another language and the
text has almost no common English words, or when most of its letters are in a
non-Latin script. It runs before RedFlagDetector, so an English red flag still
wins.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, Text

import pycld2
from rasa.engine.recipes.default_recipe import DefaultV1Recipe

from components.override import IntentOverride

ENGLISH_WORDS = set(
    "a an and are be can could do does did for from get had has have how i i'm im in is it its "
    "me my no not of on or should so that the this to was what when where which who why will "
    "with would you your yes good nah yeah ok okay thanks thank please hi hello bye".split()
)
# Languages CLD2 confuses with short English messages.
ENGLISH_LIKE = {"en", "un", "sco"}
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _non_latin_share(text: Text) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    other = [c for c in letters if not unicodedata.name(c, "").startswith("LATIN")]
    return len(other) / len(letters)


def detect_other_language(text: Text, min_percent: int = 80) -> bool:
    """Tell whether the text is (almost certainly) not English."""
    if _non_latin_share(text) > 0.5:
        return True
    words = [w.lower() for w in WORD.findall(text.replace("\u2019", "'"))]
    if sum(w in ENGLISH_WORDS for w in words) >= 2:
        return False
    try:
        reliable, _, details = pycld2.detect(text)
    except pycld2.error:
        return False
    name, code, percent, _ = details[0]
    return bool(reliable) and code not in ENGLISH_LIKE and percent >= min_percent


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class LanguageGate(IntentOverride):
    """Set the intent to `other_language` for messages that are not in English."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Return the defaults: intent `other_language`, CLD2 at least 80% sure."""
        return {"intent": "other_language", "min_percent": 80}

    def matches(self, text: Text) -> bool:
        """Tell whether the text is not in English."""
        return detect_other_language(text, int(self.config["min_percent"]))
