"""Send questions about a patient's own health, and symptoms after treatment, to the clinic.

Whether dry needling suits someone who is pregnant, takes blood thinners, has
diabetes or a pacemaker, or is a child, is a clinician's call, even when it is
asked like a general question ("Is it safe during pregnancy?"). So is any
symptom after a session other than the soreness and bruising the clinic pages
describe. Like ``RedFlagDetector``, this must not depend on a classifier's
confidence: a message that names one of these gets the hand-off topic
``handoff/health_conditions`` or ``handoff/symptoms_after``. A message about
the patient's own knee, back or pain is marked ``own_body``: a general answer
on conditions or benefits is then followed by the hand-off. It runs before
``RedFlagDetector``, so a red flag still gets the emergency reply.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Pattern, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from components.override import IntentOverride, select_topic

HEALTH = [
    r"\bpregnan\w*|\bexpecting a baby|\bbreast ?feed\w*|\btrimester\b",
    r"\bblood[- ]?thinn\w*|\banti-?coagula\w*|\banti-?thrombotic|\bwarfarin|\bcoumadin|\beliquis|\bxarelto"
    r"|\bapixaban|\brivaroxaban|\bheparin|\bclopidogrel|\bplavix|\baspirin",
    r"\bdiabet\w*|\bpace ?maker|\bdefibrillator|\bimplant(?:ed)? device|\bepilep\w*|\bseizures?\b"
    r"|\bcancer|\bchemo\w*|\blymph ?edema|\bha?emophilia|\bbleeding disorder|\bimmuno-?compromised"
    r"|\bimmune (?:system|disorder)|\bhiv\b|\bhepatitis",
    r"\b(?:my|on|taking|take)\s+(?:medications?|meds|medicine|pills)\b",
    r"\bchild(?:ren)?\b|\bkids?\b|\bp(?:a)?ediatric|\bteen\w*|\btoddlers?\b|\bbab(?:y|ies)\b"
    r"|\b\d+[- ]?(?:years?|yrs?)[- ]?old\b|\belderly\b|\bseniors?\b|\btoo (?:young|old)\b|\bage limit|\bminimum age",
]
# The patient's own body part or complaint: a general answer about conditions or
# benefits is followed by the hand-off (components/questions.py adds it).
OWN_BODY = [
    r"\b(?:my|mine)\s+(?:\w+\s+)?(?:knees?|back|neck|shoulders?|hips?|elbows?|ankles?|feet|foot|heels?|wrists?"
    r"|hands?|arms?|legs?|calf|calves|hamstrings?|glutes?|jaw|head|headaches?|migraines?|pain|injury|injuries"
    r"|condition|sciatica|tendonitis|plantar|tmj|spine|muscles?)\b",
]
OWN_BODY_KEY = "own_body"
SYMPTOMS = [
    r"\bnumb(?:ness|ed|ing)?\b|\btingl\w*|\bpins and needles|\bdizz\w*|\blight-?headed|\bnause\w*|\bvomit\w*"
    r"|\bfever\w*",
    r"\bswollen|\bswelling|\brash\b|\b(?:cold|weak|heavy)\s+(?:arm|leg|hand|foot|feet|limb|fingers?|toes?)\b",
    r"\b(?:arm|leg|hand|foot|limb)\s+(?:feels?|is|went|going)\s+(?:cold|weak|heavy|dead)\b",
]


def _compile(patterns: List[Text]) -> List[Pattern]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class PersonalHealthDetector(IntentOverride):
    """Give personal health questions and post-treatment symptoms the clinic hand-off."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Return the defaults: the built-in patterns, the `handoff` intent and its two topics."""
        return {
            "intent": "handoff",
            "health_topic": "health_conditions",
            "symptom_topic": "symptoms_after",
            "health_patterns": HEALTH,
            "symptom_patterns": SYMPTOMS,
            "own_body_patterns": OWN_BODY,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        """Compile the patterns."""
        config = {**self.get_default_config(), **config}
        super().__init__(config)
        self._health = _compile(config["health_patterns"])
        self._symptoms = _compile(config["symptom_patterns"])
        self._own_body = _compile(config["own_body_patterns"])

    def topic(self, text: Text) -> Text:
        """Return the hand-off topic the text needs, or "" for none."""
        if any(p.search(text) for p in self._symptoms):
            return self.config["symptom_topic"]
        if any(p.search(text) for p in self._health):
            return self.config["health_topic"]
        return ""

    def process(self, messages: List[Message]) -> List[Message]:
        """Hand off every message about the patient's own health or a symptom; mark their own body."""
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue
            topic = self.topic(text)
            if topic:
                select_topic(message, self.intent, topic)
            elif any(p.search(text) for p in self._own_body):
                message.set(OWN_BODY_KEY, True)
        return messages
