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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ClinicSources:
    """Every reviewed clinic's answers, which clinic's answer is the general one per topic, and the sources' names."""

    answers: Dict[str, Dict[str, str]]
    general_from: Dict[str, str]
    source_names: Dict[str, str]

    @classmethod
    def read(cls, citations_dir: Path, clinics_dir: Optional[str]) -> "ClinicSources":
        """Read the citations, knowledge/topics.yml and the general sources' profiles; log unusable clinics."""
        answers = clinic_answers(citations_dir)
        topics = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))["topics"]
        general_from = {t: e["general_from"] for t, e in topics.items() if e.get("general_from")}
        profiles = {}
        for clinic_id in set(answers) | set(general_from.values()):
            try:
                profiles[clinic_id] = load_profile(clinic_file(clinic_id, clinics_dir))
            except ProfileError as error:
                logger.warning("Citations for clinic %s, but no usable profile: %s", clinic_id, error)
        names = {}
        for source in general_from.values():
            found = profiles.get(source)
            names[source] = f"{found.name}, {found.location}" if found else source
        return cls(answers, general_from, names)

    def add_to(self, responses: Dict[Text, List[Dict[Text, Any]]]) -> Dict[Text, List[Dict[Text, Any]]]:
        """Return the responses with every clinic's variations."""
        return clinic_responses(responses, self.answers, self.general_from, self.source_names)


class ClinicResponses(TemplatedNaturalLanguageGenerator):
    """Rasa's response generator, with each clinic's own answers as conditional variations."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None) -> None:
        """Read every clinic's citations; the variations are added to whatever responses Rasa gives."""
        config = settings()
        self.sources = ClinicSources.read(config.citations_dir, config.clinics_dir)
        super().__init__(domain.responses if domain else {})
        answered = ", ".join(self.sources.answers)
        logger.info("Answers from their own pages for %d clinic(s): %s", len(self.sources.answers), answered)

    @property
    def responses(self) -> Dict[Text, List[Dict[Text, Any]]]:
        """Return the responses, with the clinics' variations."""
        return self._responses

    @responses.setter
    def responses(self, value: Dict[Text, List[Dict[Text, Any]]]) -> None:
        # Rasa sets the domain's responses again when it loads a model (Agent.load_model).
        self._responses = self.sources.add_to(value or {})
