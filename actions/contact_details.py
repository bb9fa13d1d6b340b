"""Check and normalise what a patient types in the callback form."""

from __future__ import annotations

import re
from typing import Optional, Tuple

# North American numbering as written in Canada: 403-555-0123, (403) 555-0123,
# 403 555 0123, 403.555.0123, 4035550123, +1 403 555 0123, 1-403-555-0123.
_PHONE = re.compile(
    r"^(?:\+?1[\s.-]?)?\(?([2-9]\d{2})\)?[\s.-]?([2-9]\d{2})[\s.-]?(\d{4})(?:\s*(?:x|ext\.?)\s*(\d{1,5}))?$",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_NAME = re.compile(r"^[^\W\d_]+(?:[ .'-]+[^\W\d_]+)*\.?$")

CANCEL_WORDS = {"cancel", "stop", "quit", "exit", "never mind", "nevermind", "forget it", "no thanks stop"}
YES = {
    "yes",
    "y",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "i agree",
    "agree",
    "yes please",
    "yes, i agree",
    "that's it",
    "thats it",
    "that's right",
    "correct",
    "same",
    "yes that's it",
}
NO = {"no", "n", "nope", "nah", "no thanks", "i don't agree", "i do not agree", "don't"}
ANY_TIME = {
    "any",
    "anytime",
    "any time",
    "whenever",
    "no preference",
    "skip",
    "doesn't matter",
    "does not matter",
    "none",
    "-",
}


def words(text: str) -> str:
    """Lower case, single spaces, no trailing punctuation, straight apostrophes."""
    text = text.replace("\u2019", "'").strip().lower()
    return " ".join(text.split()).strip(" .!?")


def is_cancel(text: str) -> bool:
    return words(text) in CANCEL_WORDS


def phone(text: str) -> Optional[str]:
    """Return the number as +1 NPA-NXX-XXXX (with extension), or None."""
    match = _PHONE.match(text.strip())
    if not match:
        return None
    area, exchange, line, extension = match.groups()
    number = f"+1 {area}-{exchange}-{line}"
    return f"{number} ext. {extension}" if extension else number


def email(text: str) -> Optional[str]:
    value = text.strip()
    return value.lower() if len(value) <= 254 and _EMAIL.match(value) else None


def contact(text: str) -> Optional[Tuple[str, str]]:
    """Return (kind, normalised value) for a phone number or an email, or None."""
    number = phone(text)
    if number:
        return "phone", number
    address = email(text)
    return ("email", address) if address else None


def name(text: str) -> Optional[str]:
    value = " ".join(text.split())
    return value if 1 <= len(value) <= 80 and _NAME.match(value) else None


def yes_no(text: str) -> Optional[bool]:
    value = words(text)
    if value in YES:
        return True
    if value in NO:
        return False
    return None


def preferred_time(text: str) -> Optional[str]:
    value = " ".join(text.split())
    if words(value) in ANY_TIME:
        return "any time"
    return value if 1 <= len(value) <= 120 and not value.startswith("/") else None


def question(text: str) -> Optional[str]:
    value = " ".join(text.split())
    return value if 3 <= len(value) <= 500 and not value.startswith("/") else None
