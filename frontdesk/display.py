"""Show stored values to the front desk: patient text made safe for a terminal, times in the clinic's zone."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def shown(value: object) -> str:
    """Return text safe for a terminal: control characters (escape codes, new lines...) escaped, as `\\x1b`."""
    text = "" if value is None else str(value)
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def local_time(moment: datetime, zone: str) -> str:
    """Return a stored (UTC) time in the clinic's zone, with the zone's abbreviation: `2026-11-28 09:05 MST`."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
