"""What the running servers say for a response, to a conversation of a given clinic (its own answers included)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict

import yaml
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

from server.clinic_nlg import ClinicSources
from shared.clinic import DEFAULT_CLINIC_ID, load_profile

ROOT = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def _generator() -> TemplatedNaturalLanguageGenerator:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    sources = ClinicSources.read(ROOT / "knowledge" / "citations", None)  # as the Rasa server reads them
    return TemplatedNaturalLanguageGenerator(sources.add_to(domain["responses"]))


def clinic_said(response: str, clinic_id: str = DEFAULT_CLINIC_ID, **values: str) -> str:
    """Return the text of `response` as said to a conversation of this clinic (one of clinics/)."""
    slots: Dict[str, object] = load_profile(ROOT / "clinics" / f"{clinic_id}.yml").session_slots()
    return _generator().generate_from_slots(response, slots, "rest", **values)["text"]
