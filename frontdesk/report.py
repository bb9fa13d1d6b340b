"""What patients asked that the assistant could not answer, per week: for the clinic to improve its page.

A question counts when the assistant's reply to it was a hand-off (grouped by
hand-off topic), a "Did you mean...?", the patient's "Something else" (the
question they had asked before it) or "I'm not sure" (a fallback). Questions
are grouped by similar wording (at least half their content words in common,
whatever their order or case), counted per ISO week in the clinic's time zone. Phone numbers, email
addresses and names are removed from the texts. It is read from the tracker
store, so it keeps nothing longer than the conversations (RETENTION_DAYS).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, FrozenSet, List, Optional, Tuple
from zoneinfo import ZoneInfo

from frontdesk.conversations import Tracker, clinic_conversations

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
NAME = re.compile(
    r"\b(my name is|my name's|i am|i'm|im|this is|it's|call me)\s+([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)", re.IGNORECASE
)
STOP_WORDS = set(
    "a an and are be can could do does for how i if in is it me my of on or should so the there this to what "
    "when where which who why will with would you your".split()
)
SIMILAR = 0.5
DID_YOU_MEAN, SOMETHING_ELSE, NOT_SURE = 'asked "Did you mean...?"', '"Something else"', "not understood"


def redact(text: str) -> str:
    """Remove email addresses, phone numbers and introduced names from a patient's text."""
    text = EMAIL.sub("[email]", text)
    text = PHONE.sub("[phone]", text)
    return NAME.sub(lambda m: f"{m.group(1)} [name]" if m.group(2)[:1].isupper() else m.group(0), text)


def wording(text: str) -> FrozenSet[str]:
    """Return a question's content words (no stop words, plural "s" and removed details dropped)."""
    text = re.sub(r"\[(?:email|phone|name)\]", " ", text.lower())
    return frozenset(w.rstrip("s") for w in re.findall(r"[a-z']+", text) if w not in STOP_WORDS and w.rstrip("s"))


def similar(a: FrozenSet[str], b: FrozenSet[str]) -> bool:
    """Tell whether two wordings share at least half their content words (Jaccard similarity 0.5)."""
    return a == b or (bool(a | b) and len(a & b) / len(a | b) >= SIMILAR)


@dataclass(frozen=True)
class Unanswered:
    """One question the assistant could not answer."""

    at: datetime
    outcome: str
    text: str


def _outcome(parse: dict, asked: bool) -> Optional[str]:
    """Return what the assistant did with a question it could not answer, or None if it answered it."""
    intent = (parse.get("intent") or {}).get("name")
    if intent == "handoff":
        topic = ((parse.get("response_selector") or {}).get("handoff") or {}).get("response") or {}
        key = topic.get("intent_response_key") or "handoff"
        return f"hand-off: {key.split('/')[-1]}"
    if intent == "nlu_fallback":
        return DID_YOU_MEAN if asked else NOT_SURE
    return None


def unanswered(tracker: Tracker, clinic_id: str) -> List[Unanswered]:
    """Return the clinic's unanswered questions (redacted), oldest first."""
    found: List[Unanswered] = []
    for events in clinic_conversations(tracker, clinic_id).values():
        turns: List[Tuple[float, str, dict, List[bool]]] = []
        for _, kind, stamp, data in events:
            if kind == "user":
                turns.append((stamp, data.get("text") or "", data.get("parse_data") or {}, []))
            elif kind == "bot" and turns and (data.get("data") or {}).get("buttons"):
                turns[-1][3].append(True)  # buttons: a "Did you mean...?"
        for i, (stamp, text, parse, asked) in enumerate(turns):
            intent = (parse.get("intent") or {}).get("name")
            if intent == "something_else" and i and not turns[i - 1][1].startswith("/"):
                outcome, text = SOMETHING_ELSE, turns[i - 1][1]
            elif text.startswith("/"):
                continue  # a button
            else:
                outcome = _outcome(parse, bool(asked))
            if outcome:
                found.append(Unanswered(datetime.fromtimestamp(stamp, tz=timezone.utc), outcome, redact(text)))
    return sorted(found, key=lambda u: u.at)


@dataclass(frozen=True)
class Row:
    """One line of the report: a week, an outcome, a wording group, how many times, an example."""

    week: str
    outcome: str
    count: int
    example: str


def report(tracker: Tracker, clinic_id: str, zone: str) -> List[Row]:
    """Return the report's rows: newest week first, then the most asked."""
    groups: Dict[Tuple[str, str], List[Tuple[FrozenSet[str], List[str]]]] = defaultdict(list)
    for question in unanswered(tracker, clinic_id):
        year, week, _ = question.at.astimezone(ZoneInfo(zone)).isocalendar()
        words = wording(question.text)
        bucket = groups[(f"{year}-W{week:02d}", question.outcome)]
        group = next((texts for key, texts in bucket if similar(key, words)), None)
        if group is None:
            bucket.append((words, [question.text]))
        else:
            group.append(question.text)
    rows = [
        Row(week, outcome, len(texts), Counter(texts).most_common(1)[0][0])
        for (week, outcome), bucket in groups.items()
        for _, texts in bucket
    ]
    return sorted(rows, key=lambda r: (r.week, r.count), reverse=True)


def _cell(text: str) -> str:
    """Keep a spreadsheet from reading a patient's text as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(rows: List[Row]) -> str:
    """Return the report as CSV: week, outcome, count, example."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["week", "outcome", "count", "example"])
    for row in rows:
        writer.writerow([row.week, row.outcome, row.count, _cell(row.example)])
    return out.getvalue()
