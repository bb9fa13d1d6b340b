"""Check the clinic a message names (`metadata.clinic_id`) before Rasa stores anything for it."""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from server.settings import settings
from shared.clinic import METADATA_KEY, ProfileError, clinic_file

# A socket.io event the widget shows to the web person (the patient sees a short notice).
CLINIC_ERROR_EVENT = "clinic_error"


def clinic_error(metadata: Optional[Dict[Text, Any]]) -> Optional[Text]:
    """Return why the clinic the metadata names cannot be served, or None (none named: the default clinic)."""
    clinic_id = (metadata or {}).get(METADATA_KEY)
    if clinic_id is None:
        return None
    if not isinstance(clinic_id, str):
        return f"'metadata.{METADATA_KEY}' must be a string"
    try:
        path = clinic_file(clinic_id, settings().clinics_dir)
    except ProfileError as error:
        return str(error)
    if not path.is_file():
        return f"unknown clinic {clinic_id!r}: no profile {path.name} in this deployment's clinics folder"
    return None
