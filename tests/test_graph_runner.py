"""rasa_patches/graph_runner.py: the same answers as Rasa's dask runner, on the trained model."""

from __future__ import annotations

import asyncio

import pytest
import rasa.core.processor
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

from rasa_patches import graph_runner
from rasa_patches.graph_runner import SequentialGraphRunner
from tests.conftest import MODEL

# Conversations that go through every kind of turn: session start and FAQs,
# a red flag, a personal medical question, the price hand-off with the callback
# offer and its form, small talk, and text the model cannot place.
CONVERSATIONS = [
    [
        "hi there",
        "is dry needling the same as acupuncture?",
        "does it hurt?",
        "how much does it cost?",
        "no thanks",
        "are you a real person?",
        "ok thanks a lot",
        "bye",
    ],
    ["hello", "I have chest pain and can't breathe", "what should I do after my appointment?"],
    ["I'm pregnant, can I have dry needling?", "can someone call me back?", "yes", "Sam", "555 0100"],
    ["asdfgh qwerty", "", "??", "how long does a session take"],
]


def load(monkeypatch: pytest.MonkeyPatch, runner: type) -> Agent:
    """The model loaded the way `rasa run` loads it, with this runner class."""
    monkeypatch.setattr(rasa.core.processor, "DaskGraphRunner", runner)
    return Agent.load(str(MODEL))


def comparable(events):
    """The events without the fields that differ from run to run: times and message ids."""
    dicts = [event.as_dict() for event in events]
    for event in dicts:
        event.pop("timestamp", None)
        event.pop("message_id", None)
        event.get("parse_data", {}).pop("message_id", None)
    return dicts


@pytest.fixture(scope="module")
def agents():
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does) first")
    with pytest.MonkeyPatch.context() as monkeypatch:
        dask_agent = load(monkeypatch, DaskGraphRunner)
        sequential_agent = load(monkeypatch, SequentialGraphRunner)
    assert type(dask_agent.processor.graph_runner) is DaskGraphRunner
    assert type(sequential_agent.processor.graph_runner) is SequentialGraphRunner
    return dask_agent, sequential_agent


@pytest.mark.parametrize("index", range(len(CONVERSATIONS)))
def test_a_conversation_gets_the_same_events_and_replies_with_either_runner(agents, index):
    loop = asyncio.new_event_loop()
    outcomes = []
    for agent in agents:
        replies = []
        for text in CONVERSATIONS[index]:
            out = CollectingOutputChannel()
            loop.run_until_complete(agent.handle_message(UserMessage(text, out, f"runner-{index}")))
            replies.append([message.get("text") for message in out.messages])
        tracker = loop.run_until_complete(agent.tracker_store.retrieve(f"runner-{index}"))
        outcomes.append((replies, comparable(tracker.events)))
    loop.close()
    (dask_replies, dask_events), (sequential_replies, sequential_events) = outcomes
    assert any(dask_replies), "the conversation got no reply at all"
    assert sequential_replies == dask_replies
    assert sequential_events == dask_events


def test_the_nlu_run_gives_the_same_parse_with_either_runner(agents):
    dask_agent, sequential_agent = agents
    loop = asyncio.new_event_loop()
    for text in ["does it hurt?", "is it safe for my knee", "I'm on blood thinners", "thanks"]:
        expected = loop.run_until_complete(dask_agent.parse_message(text))
        got = loop.run_until_complete(sequential_agent.parse_message(text))
        assert got["intent"]["name"]
        assert got == expected
    loop.close()


def test_the_order_of_the_nodes_is_worked_out_once_per_set_of_targets(agents):
    runner = agents[1].processor.graph_runner
    target = (agents[1].processor.model_metadata.nlu_target,)
    plan = runner.plan(target)
    assert runner.plan(target) is plan
    names = [name for name, _, _ in plan]
    assert names[-1] == target[0]
    for position, (_, _, needs) in enumerate(plan):  # every node after the nodes it needs
        assert all(parent not in names[position:] for parent in needs)


def test_an_input_named_like_a_node_is_refused_as_rasa_refuses_it(agents):
    processor = agents[1].processor
    target = processor.model_metadata.nlu_target
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        processor.graph_runner.run(inputs={"__message__": target}, targets=[target])


def test_install_makes_rasa_load_models_with_the_sequential_runner(monkeypatch):
    monkeypatch.setattr(rasa.core.processor, "DaskGraphRunner", DaskGraphRunner)
    graph_runner.install()
    assert rasa.core.processor.DaskGraphRunner is SequentialGraphRunner
