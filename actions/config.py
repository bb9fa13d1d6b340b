"""Read the action server's configuration, in one place, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.clinic import PROJECT_ROOT, ClinicProfile, clinic_file, profile_at


@dataclass(frozen=True)
class Settings:
    """Everything the actions read from the environment."""

    clinic_id: str
    clinics_dir: str
    topics_file: Path
    # Callback requests (front-desk hand-off): where they are stored, who may
    # read them, where new ones are announced and how long they are kept.
    callback_db_url: str
    frontdesk_token: str
    notify_webhook_url: str
    retention_days: int
    purge_interval_hours: float
    notify_retry_seconds: float
    tracker_db: Path
    # The bearer token the Rasa server must send (empty: none required).
    action_server_token: str

    @property
    def clinic_file(self) -> Path:
        """Return the chosen clinic's profile file (ProfileError for an id that is not a plain name)."""
        return clinic_file(self.clinic_id, self.clinics_dir)


def _path(name: str, default: Path) -> Path:
    value = Path(os.environ.get(name) or default)
    return value if value.is_absolute() else PROJECT_ROOT / value


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Return the settings (read once per process)."""
    return Settings(
        clinic_id=os.environ.get("CLINIC_ID") or "",
        clinics_dir=os.environ.get("CLINICS_DIR") or "",
        topics_file=_path("TOPICS_FILE", PROJECT_ROOT / "knowledge" / "topics.yml"),
        callback_db_url=os.environ.get("CALLBACK_DB_URL") or f"sqlite:///{PROJECT_ROOT / 'var' / 'callbacks.db'}",
        frontdesk_token=os.environ.get("FRONTDESK_TOKEN", ""),
        notify_webhook_url=os.environ.get("NOTIFY_WEBHOOK_URL", ""),
        retention_days=int(os.environ.get("RETENTION_DAYS", "30")),
        purge_interval_hours=float(os.environ.get("PURGE_INTERVAL_HOURS", "6")),
        notify_retry_seconds=float(os.environ.get("NOTIFY_RETRY_SECONDS", "60")),
        tracker_db=_path("TRACKER_DB", PROJECT_ROOT / "var" / "tracker.db"),
        action_server_token=os.environ.get("ACTION_SERVER_TOKEN", ""),
    )


def current_profile() -> ClinicProfile:
    """Return the profile chosen by CLINIC_ID (read once per process)."""
    return profile_at(settings().clinic_file)
