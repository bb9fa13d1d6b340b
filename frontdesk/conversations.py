"""Read and purge conversations in Rasa's SQLite tracker store: transcripts, a clinic's conversations, retention."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from shared.clinic import CLINIC_SLOT
from shared.person import front_desk_message

PATIENT, ASSISTANT, FRONT_DESK = "Patient", "Assistant", "Front desk"


def purge_conversations(tracker_db: Path, older_than: timedelta) -> int:
    """Delete every conversation whose last event is older; return how many."""
    if not Path(tracker_db).exists():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    with sqlite3.connect(tracker_db, timeout=30) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "events" not in tables:
            return 0
        old = [
            row[0]
            for row in db.execute(
                "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < ?",
                (cutoff,),
            )
        ]
        db.executemany("DELETE FROM events WHERE sender_id = ?", [(s,) for s in old])
    return len(old)


@dataclass(frozen=True)
class Line:
    """One message of a transcript: when (UTC), who said it (patient, assistant or front desk), the text."""

    at: datetime
    who: str
    text: str


def _events(tracker_db: Path, sender_id: Optional[str] = None) -> List[Tuple[str, str, float, dict]]:
    """Return (sender, type, timestamp, data) of the events (of one conversation), in order."""
    if not Path(tracker_db).exists():
        return []
    query = "SELECT sender_id, type_name, timestamp, data FROM events"
    args: Tuple = ()
    if sender_id is not None:
        query, args = query + " WHERE sender_id = ?", (sender_id,)
    with sqlite3.connect(f"file:{tracker_db}?mode=ro", uri=True, timeout=30) as db:
        if "events" not in {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}:
            return []
        rows = db.execute(query + " ORDER BY id", args).fetchall()
    return [(sender, kind, stamp, json.loads(data or "{}")) for sender, kind, stamp, data in rows]


def clinic_of_events(events: Iterable[Tuple[str, str, float, dict]]) -> Optional[str]:
    """Return the clinic a conversation's events name last (its `clinic_id` slot), or None."""
    clinic = None
    for _, kind, _, data in events:
        if kind == "slot" and data.get("name") == CLINIC_SLOT and data.get("value"):
            clinic = data["value"]
    return clinic


def transcript(tracker_db: Path, sender_id: str, clinic_id: str) -> Optional[List[Line]]:
    """Return the conversation's messages, or None if it is not this clinic's (or does not exist)."""
    events = _events(tracker_db, sender_id)
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


def clinic_conversations(tracker_db: Path, clinic_id: str) -> Dict[str, List[Tuple[str, str, float, dict]]]:
    """Return the events of every conversation of this clinic, by sender."""
    by_sender: Dict[str, List[Tuple[str, str, float, dict]]] = {}
    for event in _events(tracker_db):
        by_sender.setdefault(event[0], []).append(event)
    return {s: events for s, events in by_sender.items() if clinic_of_events(events) == clinic_id}
