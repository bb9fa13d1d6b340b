"""server/admission.py: a few messages at a time, the others in arrival order."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest

from server import admission
from server.settings import DEFAULT_CONCURRENT_MESSAGES, settings


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, DEFAULT_CONCURRENT_MESSAGES),  # unset: the default
        ("", DEFAULT_CONCURRENT_MESSAGES),  # empty, as `VAR=` in a shell: the default
        ("2", 2),  # a positive whole number is used
        (" 8 ", 8),  # surrounding spaces are ignored
        ("0", DEFAULT_CONCURRENT_MESSAGES),  # zero would let no message in: refused
        ("-3", DEFAULT_CONCURRENT_MESSAGES),  # negative: refused
        ("many", DEFAULT_CONCURRENT_MESSAGES),  # not a number: refused
    ],
)
def test_the_limit_comes_from_the_environment_with_a_safe_default(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("MAX_CONCURRENT_MESSAGES", raising=False)
    else:
        monkeypatch.setenv("MAX_CONCURRENT_MESSAGES", value)
    settings.cache_clear()
    assert admission.limit() == expected


def test_a_bad_limit_is_logged(monkeypatch, caplog):
    monkeypatch.setenv("MAX_CONCURRENT_MESSAGES", "lots")
    with caplog.at_level(logging.ERROR, logger="server.settings"):
        settings.cache_clear()
        assert admission.limit() == DEFAULT_CONCURRENT_MESSAGES
    assert "MAX_CONCURRENT_MESSAGES='lots'" in caplog.text


def message(sender: str, index: int = 0) -> SimpleNamespace:
    """What the channels pass on: a UserMessage has a sender_id."""
    return SimpleNamespace(sender_id=sender, index=index)


async def _burst(count: int, hold: float = 0.01):
    """Send `count` messages of different patients at once; record how many ran together and their order."""
    running, peak, order = 0, 0, []

    async def handle(msg: SimpleNamespace) -> int:
        nonlocal running, peak
        order.append(msg.index)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(hold)  # a wait inside the message, as for the action server
        running -= 1
        return msg.index * 10

    handler = admission.gated(handle)
    results = await asyncio.gather(*(handler(message(f"patient-{i}", i)) for i in range(count)))
    return results, peak, order


def test_at_most_the_limit_run_at_once_and_every_message_is_answered(monkeypatch):
    monkeypatch.setenv("MAX_CONCURRENT_MESSAGES", "3")
    results, peak, order = asyncio.run(_burst(12))
    assert results == [i * 10 for i in range(12)]
    assert peak == 3
    assert order == list(range(12))  # first come, first served


def test_without_the_gate_all_would_run_at_once(monkeypatch):
    # The same burst with a limit above its size: the counter would see all 12.
    monkeypatch.setenv("MAX_CONCURRENT_MESSAGES", "100")
    _, peak, _ = asyncio.run(_burst(12))
    assert peak == 12


def test_a_message_whose_client_gave_up_leaves_the_queue(monkeypatch):
    monkeypatch.setenv("MAX_CONCURRENT_MESSAGES", "1")

    async def scenario():
        release = asyncio.Event()
        served = []

        async def handle(msg: SimpleNamespace) -> None:
            served.append(msg.sender_id)
            if msg.sender_id == "first":
                await release.wait()

        handler = admission.gated(handle)
        first = asyncio.create_task(handler(message("first")))
        await asyncio.sleep(0)
        gave_up = asyncio.create_task(handler(message("gave up")))
        last = asyncio.create_task(handler(message("last")))
        await asyncio.sleep(0)
        gave_up.cancel()  # the client disconnected while waiting
        release.set()
        await asyncio.wait_for(asyncio.gather(first, last), timeout=5)
        with pytest.raises(asyncio.CancelledError):
            await gave_up
        return served, admission.gate()

    served, gate = asyncio.run(scenario())
    assert served == ["first", "last"]
    assert not gate.slots.locked()  # every turn was given back
    assert not gate._conversations and not gate._waiting  # and every queue forgotten


def test_an_error_in_a_message_gives_its_turn_back(monkeypatch):
    monkeypatch.setenv("MAX_CONCURRENT_MESSAGES", "1")

    async def scenario():
        async def handle(msg: SimpleNamespace) -> str:
            if msg.index:
                raise RuntimeError("the tracker store is locked")
            return "answered"

        handler = admission.gated(handle)
        with pytest.raises(RuntimeError):
            await handler(message("a", 1))
        return await asyncio.wait_for(handler(message("a", 0)), timeout=5)

    assert asyncio.run(scenario()) == "answered"


def test_one_patients_messages_wait_for_each_other_without_holding_slots(monkeypatch):
    # Two slots. One patient sends three messages at once, another patient one:
    # the first patient's messages run one after the other, in order, and the
    # other patient gets the second slot at once instead of queueing behind them.
    monkeypatch.setenv("MAX_CONCURRENT_MESSAGES", "2")

    async def scenario():
        events = []

        async def handle(msg: SimpleNamespace) -> None:
            events.append(("start", msg.sender_id, msg.index))
            await asyncio.sleep(0.02)
            events.append(("end", msg.sender_id, msg.index))

        handler = admission.gated(handle)
        await asyncio.gather(*(handler(message("busy", i)) for i in range(3)), handler(message("other", 9)))
        return events

    events = asyncio.run(scenario())
    busy = [e for e in events if e[1] == "busy"]
    assert busy == [(kind, "busy", i) for i in range(3) for kind in ("start", "end")]  # one at a time, in order
    assert events.index(("start", "other", 9)) < events.index(("end", "busy", 0))  # not stuck behind them


def test_each_event_loop_has_its_own_gate():
    async def current():
        return admission.gate()

    first, second = asyncio.run(current()), asyncio.run(current())
    assert first is not second
