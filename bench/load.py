"""Closed-loop load through the REST channel: N patients chatting at once.

Each simulated patient (a "worker") has conversations one after another; each
conversation is a new sender going through CONVERSATION, sending the next
message as soon as the previous reply arrives (no think time: the harshest
case for a given number of concurrent conversations). Every request is timed
from sending to the end of the reply. Bounded in count and in time: a worker
starts no new conversation after the deadline.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import aiohttp

# A patient on a busy Monday: greeting, three FAQs, a question for a person
# (the hand-off with the callback offer, declined), one more FAQ, small talk.
CONVERSATION: Sequence[str] = (
    "hi there",
    "is dry needling the same thing as acupuncture?",
    "does it hurt?",
    "how long does a session take",
    "how much does it cost?",
    "no thanks",
    "what should I do after my appointment?",
    "are you a real person?",
    "ok thanks a lot",
    "bye",
)


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0-100), nearest-rank, of the values (nan when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class LevelResult:
    """What one load level measured."""

    concurrency: int
    conversations: int = 0
    latencies: List[float] = field(default_factory=list)  # seconds, successful requests only
    errors: int = 0  # HTTP errors, timeouts, broken connections
    empty: int = 0  # answered 200 with no bot message at all
    wall: float = 0.0
    error_samples: List[str] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        """Answered messages per second over the level's wall time."""
        return self.messages / self.wall if self.wall else math.nan

    def p(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        return percentile(self.latencies, q) * 1000

    def as_dict(self) -> dict:
        return {
            "concurrency": self.concurrency,
            "conversations": self.conversations,
            "messages": self.messages,
            "p50_ms": self.p(50),
            "p95_ms": self.p(95),
            "p99_ms": self.p(99),
            "mean_ms": (sum(self.latencies) / len(self.latencies) * 1000 if self.latencies else math.nan),
            "throughput": self.throughput,
            "errors": self.errors,
            "empty": self.empty,
            "wall_s": self.wall,
        }


async def _send(
    session: aiohttp.ClientSession, url: str, sender: str, message: str, result: LevelResult, timeout: float
) -> None:
    start = time.perf_counter()
    try:
        async with session.post(
            url, json={"sender": sender, "message": message}, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            body = await response.json(content_type=None) if response.status == 200 else await response.text()
            elapsed = time.perf_counter() - start
            if response.status != 200:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"HTTP {response.status}: {str(body)[:200]}")
                return
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
        result.errors += 1
        if len(result.error_samples) < 5:
            result.error_samples.append(f"{type(error).__name__}: {error}"[:200])
        return
    result.latencies.append(elapsed)
    if not body:
        result.empty += 1


async def run_level(
    base_url: str,
    concurrency: int,
    conversations_each: int,
    label: str,
    script: Sequence[str] = CONVERSATION,
    timeout: float = 60,
    max_seconds: float = 600,
    stop: Optional[asyncio.Event] = None,
) -> LevelResult:
    """Run `concurrency` patients, each having `conversations_each` conversations."""
    url = f"{base_url}/webhooks/rest/webhook"
    result = LevelResult(concurrency)
    deadline = time.monotonic() + max_seconds
    connector = aiohttp.TCPConnector(limit=concurrency + 5, force_close=False)

    async def patient(index: int, session: aiohttp.ClientSession) -> None:
        for k in range(conversations_each):
            if time.monotonic() > deadline or (stop is not None and stop.is_set()):
                return
            sender = f"{label}-c{concurrency}-p{index}-{k}"
            for message in script:
                await _send(session, url, sender, message, result, timeout)
            result.conversations += 1

    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(patient(i, session) for i in range(concurrency)))
        result.wall = time.perf_counter() - start
    return result


def run(base_url: str, concurrency: int, conversations_each: int, label: str, **kwargs) -> LevelResult:
    """Run run_level synchronously."""
    return asyncio.run(run_level(base_url, concurrency, conversations_each, label, **kwargs))
