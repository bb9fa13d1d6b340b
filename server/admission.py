"""Work on a few messages at once; the others wait their turn, first come first served.

One Rasa process answers on one core. When twenty patients write at once,
Rasa starts on all twenty messages and switches between them at every wait
(a database read, a call to the action server). A message that waits for the
action server then queues behind a turn of every other message: under a
20-conversation load, the messages that call the action server (the session
start, the hand-off) took two to three times as long as the others, and p95
was twice the median (docs/performance.md).

The channels (``channels.rest``, ``channels.socketio_cors``, ``channels.sms``)
pass each message through ``gated()``: at most ``MAX_CONCURRENT_MESSAGES``
(default 4) messages are being answered at a time in this process; the others
wait, in arrival order, without using the CPU. A few at once, not one, so the
core stays busy while a message waits for the action server. Every message is
still answered, in the same total time; the slow tail goes away (under 20
concurrent conversations p95 went from about 2.2 to 1.4 times the mean).

Messages of one conversation wait for each other *before* the gate, in
arrival order: a patient who sends four messages in a row takes one turn at a
time, not four slots that would sit waiting for Rasa's lock on that
conversation while every other patient waits too. If the client gives up
while its message waits (its handler is cancelled), the message leaves the
queue. Rasa's HTTP API (``--enable-api``, off by default) does not go through
the gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, TypeVar

from server.settings import settings

_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Gate]" = weakref.WeakKeyDictionary()

T = TypeVar("T")


def limit() -> int:
    """Return how many messages this process answers at once (MAX_CONCURRENT_MESSAGES, default 4)."""
    return settings().max_concurrent_messages


class Gate:
    """The slots of one event loop, and a queue per conversation in front of them."""

    def __init__(self, slots: int) -> None:
        self.slots = asyncio.Semaphore(slots)
        self._conversations: Dict[Any, asyncio.Lock] = {}
        self._waiting: Dict[Any, int] = {}

    @contextlib.asynccontextmanager
    async def turn(self, conversation: Any) -> AsyncIterator[None]:
        """Wait for this conversation's earlier messages, then for a slot."""
        lock = self._conversations.setdefault(conversation, asyncio.Lock())
        self._waiting[conversation] = self._waiting.get(conversation, 0) + 1
        try:
            async with lock, self.slots:
                yield
        finally:
            self._waiting[conversation] -= 1
            if not self._waiting[conversation]:  # nobody else queued: forget it
                del self._waiting[conversation], self._conversations[conversation]


def gate() -> Gate:
    """Return this event loop's gate (one per loop: a Sanic worker has one)."""
    loop = asyncio.get_running_loop()
    current = _gates.get(loop)
    if current is None:
        current = _gates[loop] = Gate(limit())
    return current


def gated(handler: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Wrap the handler (taking a UserMessage first) to let in at most MAX_CONCURRENT_MESSAGES at a time."""

    @functools.wraps(handler)
    async def wait_then_handle(message: Any, *args: Any, **kwargs: Any) -> T:
        async with gate().turn(getattr(message, "sender_id", None)):
            return await handler(message, *args, **kwargs)

    return wait_then_handle
