"""Load and validate clinic profiles (clinics/<id>.yml) and word their contact details.

Both servers import it: the action server for its answers, the Rasa server for
what it says when the action server cannot be reached. Each reads CLINIC_ID
and CLINICS_DIR in its own settings module and passes the file here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLINIC_ID = "apollo_calgary"
DEFAULT_CLINICS_DIR = PROJECT_ROOT / "clinics"
DEFAULT_TIMEZONE = "America/Edmonton"  # Alberta, where the seed clinics are
# The conversation's clinic: a slot set at the session start from the first
# message's metadata (`{"clinic_id": ...}`), which Rasa keeps in this slot.
CLINIC_SLOT = "clinic_id"
METADATA_KEY = "clinic_id"
SESSION_METADATA_SLOT = "session_started_metadata"
# A clinic id names a file in the clinics folder, never a path.
CLINIC_ID = re.compile(r"[a-z0-9_]+")

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "id", "name", "location"],
    "properties": {
        "version": {"const": 1},
        "id": {"type": "string", "pattern": r"^[a-z0-9_]+$"},
        "name": {"type": "string", "minLength": 2, "maxLength": 120},
        "short_name": {"type": "string", "minLength": 2, "maxLength": 60},
        "location": {"type": "string", "minLength": 2, "maxLength": 120},
        "contact_person": {"type": "string", "minLength": 2, "maxLength": 120},
        "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"},
        "phone": {"type": "string", "pattern": r"^\+?[0-9 ().-]{7,20}$"},
        "hours": {"type": "string", "minLength": 2, "maxLength": 200},
        "booking_url": {"type": "string", "pattern": r"^https?://\S+$"},
        "website": {"type": "string", "pattern": r"^https?://\S+$"},
        "source": {"type": "string"},
        # The clinic's local time zone (IANA name), for the front desk's times.
        "timezone": {"type": "string", "pattern": r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$"},
        # The clinic's numbers that patients text (Twilio's `To`, with or without `whatsapp:`).
        "sms_numbers": {"type": "array", "items": {"type": "string", "pattern": r"^\+[0-9]{7,15}$"}},
    },
}


class ProfileError(Exception):
    """A clinic profile is missing or malformed."""


@dataclass(frozen=True)
class ClinicProfile:
    """The facts about one clinic that the assistant may say."""

    id: str
    name: str
    location: str
    short_name: Optional[str] = None
    contact_person: Optional[str] = None
    email: Optional[str] = None
    phone: Optional[str] = None
    hours: Optional[str] = None
    booking_url: Optional[str] = None
    website: Optional[str] = None
    source: Optional[str] = None
    sms_numbers: Tuple[str, ...] = ()
    timezone: str = DEFAULT_TIMEZONE

    def session_slots(self) -> Dict[str, Any]:
        """Return the slots a session starts with: the clinic's name and which contact details it has."""
        return {
            "clinic_id": self.id,
            "clinic_contact": self.contact_text(),
            "clinic_name": self.name,
            "clinic_has_hours": bool(self.hours),
            "clinic_has_contact": bool(self.phone or self.email or self.booking_url or self.website),
        }

    def contact_text(self) -> str:
        """Word how to reach the clinic, using only the fields the profile has."""
        channels: List[str] = []
        if self.phone:
            channels.append(f"call {self.phone}")
        if self.email:
            channels.append(f"email {self.email}")
        if self.booking_url:
            channels.append(f"book online at {self.booking_url}")
        if self.website and not self.booking_url:
            channels.append(f"visit {self.website}")
        where = f"{self.name} ({self.location})"
        if channels:
            text = f"The team at {where} can help: {_join(channels)}."
        else:
            text = (
                f"The team at {where} can help. I don't have a phone number or "
                "email for them, so please contact the clinic directly."
            )
        if self.contact_person:
            text += f" Your contact there is {self.contact_person}."
        if self.hours:
            text += f" Opening hours: {self.hours}."
        return text


def _join(items: List[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def load_profile(path: Path) -> ClinicProfile:
    """Read and validate one profile; raise ProfileError with a clear message."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"clinic profile {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ProfileError(f"clinic profile {path} cannot be read: {error}") from None
    except yaml.YAMLError as error:
        raise ProfileError(f"clinic profile {path} is not valid YAML: {error}") from None
    try:
        jsonschema.validate(data, SCHEMA)
    except jsonschema.ValidationError as error:
        field = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ProfileError(f"clinic profile {path} is malformed at {field}: {error.message}") from None
    if data["id"] != Path(path).stem:
        raise ProfileError(f"clinic profile {path} has id '{data['id']}', expected '{Path(path).stem}'")
    data.pop("version")
    data["sms_numbers"] = tuple(data.get("sms_numbers") or ())
    try:
        ZoneInfo(data.get("timezone") or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProfileError(f"clinic profile {path} has an unknown timezone {data['timezone']!r}") from None
    return ClinicProfile(**data)


def clinic_file(clinic_id: Optional[str], clinics_dir: Optional[str]) -> Path:
    """Return the profile file of `clinic_id` in `clinics_dir` (relative to the project); refuse any other id."""
    clinic_id = clinic_id or DEFAULT_CLINIC_ID
    if not CLINIC_ID.fullmatch(clinic_id):
        raise ProfileError(f"clinic id {clinic_id!r} is not valid: use lower-case letters, digits and underscores")
    return clinics_folder(clinics_dir) / f"{clinic_id}.yml"


def clinics_folder(clinics_dir: Optional[str]) -> Path:
    """Return the folder of the clinic profiles (`clinics_dir` relative to the project, or clinics/)."""
    folder = Path(clinics_dir or DEFAULT_CLINICS_DIR)
    return folder if folder.is_absolute() else PROJECT_ROOT / folder


def conversation_clinic(get_slot: Callable[[str], Any], default: str) -> str:
    """Return the clinic of a conversation: its `clinic_id` slot, else its first message's metadata, else `default`."""
    metadata = get_slot(SESSION_METADATA_SLOT)
    named = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    return get_slot(CLINIC_SLOT) or named or default


def clinic_profiles(clinics_dir: Optional[str]) -> Dict[str, ClinicProfile]:
    """Return every profile of the clinics folder by id (ProfileError for the first one that cannot be used)."""
    return {path.stem: load_profile(path) for path in sorted(clinics_folder(clinics_dir).glob("*.yml"))}


@lru_cache(maxsize=64)
def profile_at(path: Path) -> ClinicProfile:
    """Return the profile in `path`, read once per process."""
    return load_profile(path)
