"""Delete old conversations from Rasa's SQLite tracker store (privacy retention)."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta
from pathlib import Path


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
