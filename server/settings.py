"""Read the Rasa server's settings, in one place, from the environment."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.clinic import DEFAULT_CLINIC_ID, PROJECT_ROOT

logger = logging.getLogger(__name__)

DEFAULT_ORIGINS = "http://localhost:8080"
DEFAULT_CONCURRENT_MESSAGES = 4
DEFAULT_ACTION_TIMEOUT = 20.0


@dataclass(frozen=True)
class Settings:
    """Everything the Rasa server's own code reads from the environment."""

    # The clinic of a conversation that names none (CLINIC_ID), and where the profiles are (CLINICS_DIR).
    clinic_id: str
    clinics_dir: str
    # Each clinic's reviewed answers (CITATIONS_DIR, default knowledge/citations/).
    citations_dir: Path
    # Web pages allowed to open the socket.io chat (comma-separated origins).
    cors_origins: str
    # Messages answered at once in this process; the others wait in order.
    max_concurrent_messages: int
    # Seconds a custom action may take before the Rasa server answers instead.
    action_server_timeout: float
    # Sent to the action server as a bearer token, unless endpoints.yml has one.
    action_server_token: str


def _positive(name: str, default: float, kind: type) -> float:
    """Return the variable as a positive number of `kind`, or the default (logged) when it is not one."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if value <= 0:
        logger.error("%s=%r is not a positive number: using %s", name, raw, default)
        return default
    return value


def _folder(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Return the settings (read once per process)."""
    return Settings(
        clinic_id=os.environ.get("CLINIC_ID") or DEFAULT_CLINIC_ID,
        clinics_dir=os.environ.get("CLINICS_DIR") or "",
        citations_dir=_folder(os.environ.get("CITATIONS_DIR") or "knowledge/citations"),
        cors_origins=os.environ.get("CORS_ORIGINS") or DEFAULT_ORIGINS,
        max_concurrent_messages=int(_positive("MAX_CONCURRENT_MESSAGES", DEFAULT_CONCURRENT_MESSAGES, int)),
        action_server_timeout=_positive("ACTION_SERVER_TIMEOUT", DEFAULT_ACTION_TIMEOUT, float),
        action_server_token=os.environ.get("ACTION_SERVER_TOKEN", ""),
    )
