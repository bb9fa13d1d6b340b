"""A message written by a person at the clinic (live hand-off), as stored in a conversation: both servers read it.

It is a bot event whose custom data is `{"data": {"frontdesk": {"id", "text", "from"}}}`:
the socket.io channel sends `{"frontdesk": {...}}` to the widget, which shows it as
the clinic team's; the SMS channel sends its text.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

FRONT_DESK_KEY = "frontdesk"


def front_desk_message(bot_event: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Return a bot event's front-desk message (`{"id", "text", "from"}`), or None if the assistant said it."""
    custom = (bot_event.get("data") or {}).get("custom") or {}
    message = (custom.get("data") or {}).get(FRONT_DESK_KEY) if isinstance(custom, dict) else None
    return message if isinstance(message, dict) else None
