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

If the client gives up while its message waits (its handler is cancelled),
the message leaves the queue. Two messages of one conversation keep Rasa's
own order: Rasa's lock store orders them once they are let in.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import weakref
from typing import Any, Awaitable, Callable, TypeVar

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 4
_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = weakref.WeakKeyDictionary()

T = TypeVar("T")


def limit() -> int:
    """MAX_CONCURRENT_MESSAGES, or the default when it is unset or not a positive whole number."""
    raw = os.environ.get("MAX_CONCURRENT_MESSAGES", "").strip()
    if not raw:
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        logger.error("MAX_CONCURRENT_MESSAGES=%r is not a positive whole number: using %d", raw, DEFAULT_LIMIT)
        return DEFAULT_LIMIT
    return value


def gate() -> asyncio.Semaphore:
    """This event loop's gate (one per loop: a Sanic worker has one)."""
    loop = asyncio.get_running_loop()
    semaphore = _gates.get(loop)
    if semaphore is None:
        semaphore = _gates[loop] = asyncio.Semaphore(limit())
    return semaphore


def gated(handler: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """The handler, let in at most MAX_CONCURRENT_MESSAGES at a time, in arrival order."""

    @functools.wraps(handler)
    async def wait_then_handle(*args: Any, **kwargs: Any) -> T:
        async with gate():
            return await handler(*args, **kwargs)

    return wait_then_handle
