"""components/rule_policy.py: the same predictions as Rasa's RulePolicy, on the trained model."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.policies.rule_policy import RulePolicy as RasaRulePolicy
from rasa.utils.endpoints import EndpointConfig

from components import rule_policy
from tests.conftest import MODEL
from tests.servers import action_server
from tests.test_graph_runner import comparable

# Every kind of turn, with the real action server: the callback form (a loop)
# completed and interrupted, FAQs, a red flag, a personal question, small talk.
CONVERSATIONS = [
    ["how much does dry needling cost?", "yes please", "Jane Doe", "403-555-0123", "weekday mornings",
     "yes", "yes", "thanks"],
    ["hi there", "can someone call me back?", "Sam", "does it hurt?", "403-555-0199", "no", "bye"],
    ["is it the same as acupuncture?", "I have chest pain and can't breathe", "I'm on blood thinners, can I?",
     "what should I do after my appointment?", "are you a real person?"],
    ["do you direct bill to insurance", "no thanks", "asdf qwerty", "??", "how long does a session take"],
]


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does) first")
    folder = tmp_path_factory.mktemp("rule-policy")
    actions = action_server(folder, env={"CALLBACK_DB_URL": f"sqlite:///{folder / 'callbacks.db'}"}).start()
    try:
        yield Agent.load(str(MODEL), action_endpoint=EndpointConfig(url=f"{actions.url}/webhook"))
    finally:
        actions.stop()


def converse(agent, sender, texts):
    loop = asyncio.new_event_loop()
    replies = []
    for text in texts:
        out = CollectingOutputChannel()
        loop.run_until_complete(agent.handle_message(UserMessage(text, out, sender)))
        replies.append([message.get("text") for message in out.messages])
    tracker = loop.run_until_complete(agent.tracker_store.retrieve(sender))
    loop.close()
    # Each completed callback request gets the next number ("request #2"): not the policy's doing.
    return re.sub(r"#\d+", "#N", json.dumps([replies, comparable(tracker.events)], sort_keys=True))


def test_the_model_uses_this_policy(agent):
    policies = [node.uses for node in agent.processor.graph_runner._graph_schema.nodes.values()]
    assert rule_policy.RulePolicy in policies
    assert RasaRulePolicy not in policies


@pytest.mark.parametrize("index", range(len(CONVERSATIONS)))
def test_a_conversation_gets_the_same_predictions_as_with_rasas_rule_policy(agent, monkeypatch, index):
    ours = converse(agent, f"ours-{index}", CONVERSATIONS[index])
    monkeypatch.setattr(rule_policy.RulePolicy, "_predict", RasaRulePolicy._predict)  # Rasa's, building twice
    rasas = converse(agent, f"rasa-{index}", CONVERSATIONS[index])
    assert '"text": "' in ours, "the conversation got no reply at all"
    assert ours == rasas


def _policy(agent):
    return next(node._component for node in agent.processor.graph_runner._instantiated_nodes.values()
                if node._component_class is rule_policy.RulePolicy)


@pytest.mark.parametrize("predict, expected", [
    (rule_policy.RulePolicy._predict, lambda builds, predictions: builds == predictions),  # ours: once each
    # Rasa's: twice for each prediction right after a message (text, then intent)
    (RasaRulePolicy._predict, lambda builds, predictions: builds > predictions),
])
def test_the_states_are_built_once_per_prediction_and_not_kept(agent, monkeypatch, predict, expected):
    policy = _policy(agent)
    original = type(policy.featurizer)._create_states
    builds, predictions = [], []

    def counting_build(*args, **kwargs):
        builds.append(1)
        return original(*args, **kwargs)

    def counting_predict(self, tracker, domain):
        predictions.append(1)
        return predict(self, tracker, domain)

    monkeypatch.setattr(type(policy.featurizer), "_create_states", staticmethod(counting_build))
    monkeypatch.setattr(rule_policy.RulePolicy, "_predict", counting_predict)
    converse(agent, f"counted-{predict.__module__}", ["hello", "does it hurt?"])
    assert len(predictions) >= 2
    assert expected(len(builds), len(predictions)), (len(builds), len(predictions))
    assert "_create_states" not in vars(policy.featurizer)  # nothing left behind


@pytest.mark.parametrize(
    "fallback, fails",
    [
        ("action_clinic_contact", False),  # config.yml's fallback, in the domain
        ("action_nobody_wrote", True),  # a typo in config.yml: refused at training, as Rasa's validator would
    ],
)
def test_training_checks_the_fallback_action_against_the_domain(tmp_path, fallback, fails):
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.core.domain import Domain, InvalidDomain

    domain = Domain.from_yaml('version: "3.1"\nintents: [greet]\nactions: [action_clinic_contact]\n')
    config = {**rule_policy.RulePolicy.get_default_config(), "core_fallback_action_name": fallback}
    policy = rule_policy.RulePolicy.create(config, LocalModelStorage(tmp_path), Resource("rules"),
                                           ExecutionContext(graph_schema=None, node_name="rules"))
    if fails:
        with pytest.raises(InvalidDomain, match="action_nobody_wrote"):
            policy.train([], domain)
    else:
        policy.train([], domain)
