"""Read the action server's configuration, in one place, from the environment."""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional

from rasa_sdk import Tracker

from shared.clinic import (
    CLINIC_ID,
    DEFAULT_CLINIC_ID,
    PROJECT_ROOT,
    ClinicProfile,
    clinic_file,
    clinic_profiles,
    conversation_clinic,
    profile_at,
)


@dataclass(frozen=True)
class Settings:
    """Everything the actions read from the environment."""

    clinic_id: str  # CLINIC_ID, or the default clinic: also the clinic of a conversation that names none
    clinics_dir: str
    topics_file: Path
    # Callback requests (front-desk hand-off): where they are stored, who may
    # read them, where new ones are announced and how long they are kept.
    callback_db_url: str
    notify_webhook_url: str
    retention_days: int
    purge_interval_hours: float
    notify_retry_seconds: float
    # The tracker store's database for transcripts, the report and the purge: a
    # SQLAlchemy URL (TRACKER_DB_URL, e.g. PostgreSQL), else the SQLite file TRACKER_DB.
    tracker_db_url: str
    # The bearer token the Rasa server must send (empty: none required).
    action_server_token: str
    # Each clinic's front-desk token and webhook: FRONTDESK_TOKEN_<ID> and
    # NOTIFY_WEBHOOK_URL_<ID> (upper case); FRONTDESK_TOKEN is the default
    # clinic's, NOTIFY_WEBHOOK_URL every clinic's without one of its own.
    frontdesk_tokens: Dict[str, str]
    notify_webhook_urls: Dict[str, str]
    # The inbox page's sign-in: FRONTDESK_PASSWORD_HASH_<ID> (from `python -m
    # frontdesk hash-password`; a clinic's token signs in too), and whether the
    # session cookie is sent over HTTPS only (FRONTDESK_SECURE_COOKIE=1 in production).
    frontdesk_password_hashes: Dict[str, str]
    frontdesk_secure_cookie: bool
    # Live hand-off: Rasa's HTTP API (RASA_URL, RASA_API_TOKEN; off without a
    # token) and the minutes a patient waits before the callback form is offered.
    rasa_url: str
    rasa_api_token: str
    person_wait_minutes: float

    @property
    def live_handoff(self) -> bool:
        """Tell whether a person can join a conversation (Rasa's HTTP API is reachable with a token)."""
        return bool(self.rasa_api_token)

    def webhook_for(self, clinic_id: str) -> str:
        """Return the webhook told of a new request for this clinic (empty: none)."""
        return self.notify_webhook_urls.get(clinic_id) or self.notify_webhook_url

    def clinic_of_token(self, token: str) -> Optional[str]:
        """Return the clinic whose front-desk token this is, or None."""
        found = None
        for clinic_id, expected in self.frontdesk_tokens.items():
            if expected and hmac.compare_digest(token.encode(), expected.encode()):
                found = clinic_id  # no early return: the time taken does not tell which one
        return found


def _path(name: str, default: Path) -> Path:
    value = Path(os.environ.get(name) or default)
    return value if value.is_absolute() else PROJECT_ROOT / value


DEFAULT_TRACKER_DB = PROJECT_ROOT / "var" / "tracker.db"


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Return the settings (read once per process)."""
    clinic_id = os.environ.get("CLINIC_ID") or DEFAULT_CLINIC_ID
    return Settings(
        clinic_id=clinic_id,
        clinics_dir=os.environ.get("CLINICS_DIR") or "",
        topics_file=_path("TOPICS_FILE", PROJECT_ROOT / "knowledge" / "topics.yml"),
        callback_db_url=os.environ.get("CALLBACK_DB_URL") or f"sqlite:///{PROJECT_ROOT / 'var' / 'callbacks.db'}",
        notify_webhook_url=os.environ.get("NOTIFY_WEBHOOK_URL", ""),
        retention_days=int(os.environ.get("RETENTION_DAYS", "30")),
        purge_interval_hours=float(os.environ.get("PURGE_INTERVAL_HOURS", "6")),
        notify_retry_seconds=float(os.environ.get("NOTIFY_RETRY_SECONDS", "60")),
        tracker_db_url=os.environ.get("TRACKER_DB_URL") or f"sqlite:///{_path('TRACKER_DB', DEFAULT_TRACKER_DB)}",
        action_server_token=os.environ.get("ACTION_SERVER_TOKEN", ""),
        frontdesk_tokens={
            **({clinic_id: os.environ["FRONTDESK_TOKEN"]} if os.environ.get("FRONTDESK_TOKEN") else {}),
            **_per_clinic("FRONTDESK_TOKEN_"),
        },
        notify_webhook_urls=_per_clinic("NOTIFY_WEBHOOK_URL_"),
        frontdesk_password_hashes=_per_clinic("FRONTDESK_PASSWORD_HASH_"),
        frontdesk_secure_cookie=os.environ.get("FRONTDESK_SECURE_COOKIE", "") in ("1", "true", "yes"),
        rasa_url=(os.environ.get("RASA_URL") or "http://localhost:5005").rstrip("/"),
        rasa_api_token=os.environ.get("RASA_API_TOKEN", ""),
        person_wait_minutes=float(os.environ.get("PERSON_WAIT_MINUTES", "5")),
    )


def _per_clinic(prefix: str) -> Dict[str, str]:
    """Return {clinic id: value} of the non-empty variables named `prefix` + the clinic id in upper case."""
    return {
        name[len(prefix) :].lower(): value
        for name, value in os.environ.items()
        if name.startswith(prefix) and value and CLINIC_ID.fullmatch(name[len(prefix) :].lower())
    }


def current_profile() -> ClinicProfile:
    """Return the profile chosen by CLINIC_ID, the default clinic (read once per process)."""
    return profile_for(settings().clinic_id)


def profile_for(clinic_id: str) -> ClinicProfile:
    """Return a clinic's profile from the clinics folder (read once per process)."""
    return profile_at(clinic_file(clinic_id, settings().clinics_dir))


def profile_of(tracker: Tracker) -> ClinicProfile:
    """Return the profile of the conversation's clinic (set at its session start; CLINIC_ID if it names none)."""
    return profile_for(conversation_clinic(tracker.get_slot, settings().clinic_id))


def all_profiles() -> Dict[str, ClinicProfile]:
    """Return every clinic's profile in the clinics folder (ProfileError for the first that cannot be used)."""
    return clinic_profiles(settings().clinics_dir)
