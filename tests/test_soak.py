"""Soak: 50 concurrent conversations of 20 messages each, on loopback, against the real servers.

Zero errors; every message answered exactly once with the expected replies, and
stored exactly once (the tracker store holds 20 user messages per sender); the
resident memory of both servers at the start and the end goes to
var/soak-report.md (figures in docs/reliability.md). Select it with `-m soak`.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List

import aiohttp
import pytest
import yaml

from tests.live import DOMAIN_FILE, rss_kib
from tests.replies import clinic_said

pytestmark = [pytest.mark.model, pytest.mark.soak]

CONVERSATIONS, MESSAGES = 50, 20
REQUEST_TIMEOUT, SOAK_TIMEOUT = 120, 900  # seconds: bounded, it stops by itself
REPORT = Path(__file__).resolve().parents[1] / "var" / "soak-report.md"
CLINIC = "Apollo Physiotherapy Massage and Chiro"
CONTACT = f"The team at {CLINIC} (NE Calgary, Alberta) can help: email info@apollophysioyyc.com."
OFFER = "Would you like the clinic to contact you?"
DOMAIN = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))


def said(response: str) -> str:
    return clinic_said(response)


# What a patient says, and what the bot must answer. The first message also gets the notice.
# The messages are verbatim training examples (data/nlu/), so a retrain does not change
# the answers: this test measures load, tests/test_heldout.py measures understanding.
SCRIPT = [
    ("what is dry needling", [said("utter_faq/what_is")]),
    ("is dry needling the same as acupuncture", [said("utter_faq/vs_acupuncture")]),
    ("does it hurt", [said("utter_faq/does_it_hurt")]),
    ("how long is a session", [said("utter_faq/session_length")]),
    ("what are trigger points", [said("utter_faq/trigger_points")]),
    ("what is a twitch response", [said("utter_faq/twitch_response")]),
    ("how much does it cost", [said("utter_handoff/price"), CONTACT, OFFER]),
    ("what happens at the first visit", [said("utter_faq/what_to_expect")]),
    ("what should i do after my session", [said("utter_faq/aftercare")]),
    ("thanks", [said("utter_thank")]),
    ("what are the side effects", [said("utter_faq/side_effects_safety")]),
    ("do you direct bill", [said("utter_handoff/insurance"), CONTACT, OFFER]),
    ("what conditions does dry needling treat", [said("utter_faq/conditions_treated")]),
    ("who performs dry needling", [said("utter_faq/who_performs")]),
    ("are you a bot", [said("utter_bot_challenge")]),
    ("are the needles sterile", [said("utter_faq/needles")]),
    ("do i need a referral", [said("utter_handoff/referral"), CONTACT, OFFER]),
    ("why should i try dry needling", [said("utter_faq/benefits")]),
    ("goodbye", [said("utter_goodbye")]),
]
OPENING = ("hello", [said("utter_greet")])
NOTICE = (
    f"I'm an automated assistant for {CLINIC}. I give general information about "
    "dry needling, not medical advice. In an emergency, call 911."
)


def conversation(index: int) -> List[tuple]:
    """ "hello", then the 19 others, each conversation starting at a different one."""
    turn = index % len(SCRIPT)
    (first, first_replies), rest = OPENING, SCRIPT[turn:] + SCRIPT[:turn]
    return [(first, [NOTICE, *first_replies]), *rest]


async def talk(
    session: aiohttp.ClientSession, url: str, sender: str, turns: List[tuple], errors: List[str], latencies: List[float]
) -> None:
    for number, (message, expected) in enumerate(turns):
        started = time.monotonic()
        try:
            async with session.post(url, json={"sender": sender, "message": message}) as response:
                status, body = response.status, await response.json(content_type=None)
        except Exception as error:  # noqa: BLE001 - every failure is counted
            errors.append(f"{sender} #{number} {message!r}: {type(error).__name__}")
            continue
        latencies.append(time.monotonic() - started)
        if status != 200:
            errors.append(f"{sender} #{number} {message!r}: HTTP {status}")
            continue
        texts = [reply.get("text") for reply in body]
        if texts != expected:
            errors.append(f"{sender} #{number} {message!r}: got {texts}")


def memory(live) -> Dict[str, int]:
    return {"Rasa server": rss_kib(live.rasa.process.pid), "action server": rss_kib(live.actions.process.pid)}


def test_soak_50_conversations_of_20_messages(live):
    assert all(len(conversation(i)) == MESSAGES for i in range(CONVERSATIONS))
    run = uuid.uuid4().hex[:6]
    senders = [f"soak-{run}-{i:02d}" for i in range(CONVERSATIONS)]
    errors: List[str] = []
    latencies: List[float] = []
    before = memory(live)

    async def soak() -> None:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        connector = aiohttp.TCPConnector(limit=CONVERSATIONS)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            await asyncio.gather(
                *(
                    talk(session, live.webhook, sender, conversation(i), errors, latencies)
                    for i, sender in enumerate(senders)
                )
            )

    started = time.monotonic()
    asyncio.run(asyncio.wait_for(soak(), SOAK_TIMEOUT))
    elapsed = time.monotonic() - started
    after = memory(live)
    stored = {sender: live.user_events(sender) for sender in senders}
    wrong_counts = {s: n for s, n in stored.items() if n != MESSAGES}
    sent = CONVERSATIONS * MESSAGES

    ordered = sorted(latencies)
    lines = [
        "# Soak test (tests/test_soak.py)",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on 127.0.0.1: {CONVERSATIONS} concurrent "
        f"conversations of {MESSAGES} messages each through the REST channel, against the real Rasa "
        "server and action server (SQLite tracker store, one process each).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| messages sent | {sent} |",
        f"| answered with the expected replies | {sent - len(errors)} |",
        f"| errors (failed requests, non-200, wrong or missing replies) | {len(errors)} |",
        f"| senders with exactly {MESSAGES} user messages in the tracker store | "
        f"{CONVERSATIONS - len(wrong_counts)} of {CONVERSATIONS} |",
        f"| duration | {elapsed:.1f} s ({sent / elapsed:.1f} messages/s) |",
        f"| latency p50 / p95 / max | {statistics.median(ordered):.2f} s / "
        f"{ordered[int(0.95 * (len(ordered) - 1))]:.2f} s / {ordered[-1]:.2f} s |"
        if ordered
        else "| latency | - |",
    ]
    for name in before:
        lines.append(
            f"| {name} resident memory, start -> end | {before[name] / 1024:.0f} MiB -> "
            f"{after[name] / 1024:.0f} MiB ({(after[name] - before[name]) / 1024:+.0f} MiB) |"
        )
    if errors:
        lines += ["", "First errors:", "", *[f"- {e}" for e in errors[:20]]]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n" + "\n".join(lines))

    assert errors == []
    assert wrong_counts == {}
