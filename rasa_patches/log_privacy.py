"""Keep what patients type out of the two Rasa log lines that would repeat it."""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any, Callable

# The Rasa loggers whose lines can carry a patient's text.
LOGGERS = ("rasa.core.tracker_store", "rasa.shared.core.training_data.story_reader.yaml_story_reader")


class HidePersonalData(logging.Filter):
    """Drop what the patient typed from the two Rasa log lines that repeat it.

    - When the tracker store's database fails (locked, read-only, full), Rasa
      logs the SQLAlchemy error at ERROR level; its ``[parameters: ...]`` part
      holds the event being saved: the message text, the callback form's
      answers. The SQL statement and the error itself stay in the log.
    - A message starting with "/" that is not a valid button payload is logged
      at WARNING level with its text (``"user_text": ...``).
    """

    PARAMETERS = re.compile(r"\[parameters: .*?\]\n(?=\(Background on this error)|\[parameters: .*", re.S)
    # JSON ("user_text": "..."), or the console format (user_text=... to the end of the line, maybe coloured).
    USER_TEXT = re.compile(
        r"""(user_text["']?(?:\x1b\[[0-9;]*m)*\s*[:=]\s*(?:\x1b\[[0-9;]*m)*)(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\n]*)"""
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = self.PARAMETERS.sub("[parameters hidden]\n", message)
        hidden = self.USER_TEXT.sub(r'\1"(hidden)"', hidden)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


# The Python warning that repeats a message starting with "/" that is not a button's payload.
PARSE_FAILED = "Failed to parse arguments in line"


def _hide_parse_failures(show: Callable[..., None]) -> Callable[..., None]:
    """Return `warnings.showwarning` that drops the warning quoting a patient's message."""

    def showwarning(message: Any, *args: Any, **kwargs: Any) -> None:
        if PARSE_FAILED not in str(message):
            show(message, *args, **kwargs)

    showwarning.hides_parse_failures = True  # type: ignore[attr-defined]
    return showwarning


def install() -> None:
    """Add the filter to Rasa's two loggers and drop the warning that repeats the text (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, HidePersonalData) for f in logger.filters):
            logger.addFilter(HidePersonalData())
    # Not a warnings filter: Rasa's command line puts its own filters in front of any set before it starts.
    if not getattr(warnings.showwarning, "hides_parse_failures", False):
        warnings.showwarning = _hide_parse_failures(warnings.showwarning)
