"""Check and normalise what a patient types in the callback form."""

from __future__ import annotations

import re
from typing import Optional, Tuple

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# What a phone number may be written with (North American numbering as written
# in Canada: 403-555-0123, (403) 555-0123, 403.555.0123, +1 403 555 0123,
# 1-403-555-0123, with "ext. 12" or "x12"); `phonenumbers` parses and checks it.
_PHONE_CHARACTERS = re.compile(r"^[\d\s().+-]+(?:(?:x|ext\.?)\s*\d{1,5})?$", re.IGNORECASE)
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
    """Return a valid North American number as +1 NPA-NXX-XXXX (with extension), or None (`phonenumbers`)."""
    value = text.strip()
    if not _PHONE_CHARACTERS.match(value):
        return None  # letters ("1-800-FLOWERS") or other text around the number
    try:
        number = phonenumbers.parse(value, "CA")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 1 or not phonenumbers.is_valid_number(number):
        return None
    digits = str(number.national_number)
    formatted = f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return f"{formatted} ext. {number.extension}" if number.extension else formatted


def email(text: str) -> Optional[str]:
    """Return the address, lower-cased, if it is a valid one (`email-validator`, no DNS lookup), or None."""
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


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
