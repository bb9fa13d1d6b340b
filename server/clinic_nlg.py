"""Answer each clinic's patients from that clinic's own citations: the domain's responses plus one variation per clinic.

Rasa's own response generator picks a response's variation by slot
conditions; this one adds, when the server starts, a variation of
``utter_faq/<topic>`` for each clinic (condition: the ``clinic_id`` slot), from
its reviewed citations file (``knowledge/citations/<clinic_id>.yml``). A clinic
whose page does not cover a topic that has ``general_from`` in
``knowledge/topics.yml`` gets that clinic's answer after the
``utter_general_information`` lead, which marks it as general information and
names its source; any other clinic hears the domain's own reply ("doesn't
cover ...", with its contact details). Adding a clinic is data: a restart
reads it, nothing is retrained. Named in endpoints.yml (``nlg: type:``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import yaml
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from knowledge.citations import TOPICS_FILE, answers_in, reviewed_files
from server.settings import settings
from shared.clinic import ProfileError, clinic_file, load_profile

logger = logging.getLogger(__name__)

CLINIC_SLOT = "clinic_id"
FAQ_RESPONSE = "utter_faq/{topic}"
GENERAL_LEAD = "utter_general_information"


def clinic_answers(folder: Path) -> Dict[str, Dict[str, str]]:
    """Return every reviewed clinic's answers, {clinic id: {topic: text}}."""
    return dict(answers_in(path) for path in reviewed_files(folder))


def clinic_responses(
    responses: Dict[Text, List[Dict[Text, Any]]],
    answers: Dict[str, Dict[str, str]],
    general_from: Dict[str, str],
    source_names: Dict[str, str],
) -> Dict[Text, List[Dict[Text, Any]]]:
    """Return the responses with a variation per clinic for each FAQ topic: its own answer, or general information."""
    result = {name: list(variations) for name, variations in responses.items()}
    lead = (responses.get(GENERAL_LEAD) or [{}])[0].get("text", "")
    for clinic_id, own in answers.items():
        for topic in general_from.keys() | own.keys():
            name = FAQ_RESPONSE.format(topic=topic)
            if name not in result:
                continue
            source = general_from.get(topic)
            if topic in own:
                text = own[topic]
            elif source in answers and topic in answers[source] and lead:
                text = lead.replace("{source}", source_names.get(source, source)) + " " + answers[source][topic]
            else:
                continue
            condition = [{"type": "slot", "name": CLINIC_SLOT, "value": clinic_id}]
            result[name] = [{"text": text, "condition": condition}] + result[name]
    return result


class ClinicResponses(TemplatedNaturalLanguageGenerator):
    """Rasa's response generator, with each clinic's own answers as conditional variations."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None) -> None:
        """Read every clinic's citations; the variations are added to whatever responses Rasa gives."""
        config = settings()
        self.answers = clinic_answers(config.citations_dir)
        topics = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))["topics"]
        self.general_from = {t: e["general_from"] for t, e in topics.items() if e.get("general_from")}
        for clinic_id in self.answers:
            self._check_profile(clinic_id, config.clinics_dir)
        self.source_names = {}
        for source in set(self.general_from.values()):
            try:
                profile = load_profile(clinic_file(source, config.clinics_dir))
                self.source_names[source] = f"{profile.name}, {profile.location}"
            except ProfileError:
                self.source_names[source] = source
        super().__init__(domain.responses if domain else {})
        logger.info("Answers from their own pages for %d clinic(s): %s", len(self.answers), ", ".join(self.answers))

    @property
    def responses(self) -> Dict[Text, List[Dict[Text, Any]]]:
        """Return the responses, with the clinics' variations."""
        return self._responses

    @responses.setter
    def responses(self, value: Dict[Text, List[Dict[Text, Any]]]) -> None:
        # Rasa sets the domain's responses again when it loads a model (Agent.load_model).
        self._responses = clinic_responses(value or {}, self.answers, self.general_from, self.source_names)

    @staticmethod
    def _check_profile(clinic_id: str, clinics_dir: str) -> None:
        """Log a clinic that has citations but no profile (its answers are never used)."""
        try:
            load_profile(clinic_file(clinic_id, clinics_dir))
        except ProfileError as error:
            logger.warning("Citations for clinic %s, but no usable profile: %s", clinic_id, error)
