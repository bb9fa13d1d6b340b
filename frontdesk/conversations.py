"""Read and purge conversations in Rasa's SQL tracker store (SQLite or PostgreSQL): transcripts, retention.

`tracker` is the store's database: a SQLAlchemy URL (TRACKER_DB_URL, for
example the PostgreSQL database of docs/deployment.md) or the path of the
SQLite file (TRACKER_DB). Both have Rasa's `events` table.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from shared.clinic import CLINIC_SLOT
from shared.person import front_desk_message

PATIENT, ASSISTANT, FRONT_DESK = "Patient", "Assistant", "Front desk"
Tracker = Union[str, Path]


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    return create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)


def _engine(tracker: Tracker) -> Optional[Engine]:
    """Return the tracker store's engine, or None while there is no database or no `events` table yet."""
    where = str(tracker)
    if "://" not in where:
        if not Path(where).exists():
            return None
        where = f"sqlite:///{where}"
    engine = _engine_for(where)
    return engine if inspect(engine).has_table("events") else None


def purge_conversations(tracker: Tracker, older_than: timedelta) -> int:
    """Delete every conversation whose last event is older; return how many."""
    engine = _engine(tracker)
    if engine is None:
        return 0
    cutoff = time.time() - older_than.total_seconds()
    with engine.begin() as db:
        query = text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff")
        old = [row[0] for row in db.execute(query, {"cutoff": cutoff})]
        for sender in old:
            db.execute(text("DELETE FROM events WHERE sender_id = :sender"), {"sender": sender})
    return len(old)


@dataclass(frozen=True)
class Line:
    """One message of a transcript: when (UTC), who said it (patient, assistant or front desk), the text."""

    at: datetime
    who: str
    text: str


def _events(tracker: Tracker, sender_id: Optional[str] = None) -> List[Tuple[str, str, float, dict]]:
    """Return (sender, type, timestamp, data) of the events (of one conversation), in order."""
    engine = _engine(tracker)
    if engine is None:
        return []
    query = "SELECT sender_id, type_name, timestamp, data FROM events"
    if sender_id is not None:
        query += " WHERE sender_id = :sender"
    with engine.connect() as db:
        rows = db.execute(text(query + " ORDER BY id"), {"sender": sender_id}).fetchall()
    return [(sender, kind, stamp, json.loads(data or "{}")) for sender, kind, stamp, data in rows]


def clinic_of_events(events: Iterable[Tuple[str, str, float, dict]]) -> Optional[str]:
    """Return the clinic a conversation's events name last (its `clinic_id` slot), or None."""
    clinic = None
    for _, kind, _, data in events:
        if kind == "slot" and data.get("name") == CLINIC_SLOT and data.get("value"):
            clinic = data["value"]
    return clinic


def transcript(tracker: Tracker, sender_id: str, clinic_id: str) -> Optional[List[Line]]:
    """Return the conversation's messages, or None if it is not this clinic's (or does not exist)."""
    events = _events(tracker, sender_id)
    if not events or clinic_of_events(events) != clinic_id:
        return None
    lines = []
    for _, kind, stamp, data in events:
        at = datetime.fromtimestamp(stamp, tz=timezone.utc)
        if kind == "user" and data.get("text") and not data["text"].startswith("/"):
            lines.append(Line(at, PATIENT, data["text"]))
        elif kind == "bot":
            person = front_desk_message(data)
            if person:
                lines.append(Line(at, FRONT_DESK, str(person.get("text") or "")))
            elif data.get("text"):
                lines.append(Line(at, ASSISTANT, data["text"]))
    return lines


def clinic_conversations(tracker: Tracker, clinic_id: str) -> Dict[str, List[Tuple[str, str, float, dict]]]:
    """Return the events of every conversation of this clinic, by sender."""
    by_sender: Dict[str, List[Tuple[str, str, float, dict]]] = {}
    for event in _events(tracker):
        by_sender.setdefault(event[0], []).append(event)
    return {s: events for s, events in by_sender.items() if clinic_of_events(events) == clinic_id}
