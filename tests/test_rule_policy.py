"""policies/rule_policy.py: the same predictions as Rasa's RulePolicy, on the trained model."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.policies.rule_policy import RulePolicy as RasaRulePolicy

from policies import rule_policy
from stores.sql_tracker_store import SQLTrackerStore
from tests.conftest import agent_with_actions
from tests.test_graph_runner import comparable

# Every kind of turn, with the real action server: the callback form (a loop)
# completed and interrupted, FAQs, a red flag, a personal question, small talk.
CONVERSATIONS = [
    [
        "how much does dry needling cost?",
        "yes please",
        "Jane Doe",
        "403-555-0123",
        "weekday mornings",
        "yes",
        "yes",
        "thanks",
    ],
    ["hi there", "can someone call me back?", "Sam", "does it hurt?", "403-555-0199", "no", "bye"],
    [
        "is it the same as acupuncture?",
        "I have chest pain and can't breathe",
        "I'm on blood thinners, can I?",
        "what should I do after my appointment?",
        "are you a real person?",
    ],
    ["do you direct bill to insurance", "no thanks", "asdf qwerty", "??", "how long does a session take"],
    # Rasa's own turns: a restart, an undone message, a new session, each mid-conversation.
    [
        "hi",
        "does it hurt?",
        "/restart",
        "how long does a session take",
        "/back",
        "is it acupuncture?",
        "/session_start",
        "can someone call me back?",
        "/back",
        "Sam",
        "/restart",
        "thanks",
    ],
]


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rule-policy")
    # The project's tracker store, as served: it keeps conversations and hands out
    # copies sharing the event objects, which is what lets the policy go on from
    # a conversation's kept states.
    store = SQLTrackerStore(dialect="sqlite", db=str(folder / "trackers.db"))
    with agent_with_actions(folder, tracker_store=store) as agent:
        yield agent


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
    said = json.dumps([replies, comparable(tracker.events)], sort_keys=True)
    return re.sub(r'#\d+|"request_id": \d+', "#N", said)


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
    return next(
        node._component
        for node in agent.processor.graph_runner._instantiated_nodes.values()
        if node._component_class is rule_policy.RulePolicy
    )


def test_every_prediction_gets_the_states_rasa_builds_and_most_go_on_from_kept_ones(agent, monkeypatch):
    policy = _policy(agent)
    original = rule_policy.SessionStates.states
    continued, calls, differing = [], [], []

    def checked(self, tracker, for_domain, omit_unset_slots):
        ours = original(self, tracker, for_domain, omit_unset_slots)
        # Rasa's full build, from the same tracker, after ours (which must not have changed it).
        rasas = for_domain.states_for_tracker_history(tracker, omit_unset_slots=omit_unset_slots)
        calls.append(1)
        if ours != rasas:
            differing.append((tracker.sender_id, len(tracker.events), ours, rasas))
        return ours

    original_continues = rule_policy.SessionStates._continues

    def counting_continues(*args):
        result = original_continues(*args)
        continued.append(result)
        return result

    original_keys = rule_policy.RulePolicy._get_possible_keys
    keys_checked, keys_differing = [], []

    def checked_keys(self, lookup, states):
        ours = original_keys(self, lookup, states)
        rasas = RasaRulePolicy._get_possible_keys(self, lookup, states)
        keys_checked.append(bool(ours))
        if ours != rasas:
            keys_differing.append((states, ours, rasas))
        return ours

    monkeypatch.setattr(rule_policy.SessionStates, "states", checked)
    monkeypatch.setattr(rule_policy.SessionStates, "_continues", staticmethod(counting_continues))
    monkeypatch.setattr(rule_policy.RulePolicy, "_get_possible_keys", checked_keys)
    for index, texts in enumerate(CONVERSATIONS):
        converse(agent, f"states-{index}", texts)
    assert calls
    # The model's own policy keeps the states of the conversations it served.
    assert {f"states-{index}" for index in range(len(CONVERSATIONS))} & set(policy._session_states._kept)
    assert not differing, differing[0]
    # The rule lookup on fewer rules finds the rules Rasa's finds (some found, some not).
    assert not keys_differing, keys_differing[0]
    assert any(keys_checked) and not all(keys_checked)
    # The kept states were used for most predictions (not rebuilt from the session start).
    assert sum(continued) > len(calls) / 2, (sum(continued), len(calls))


@pytest.mark.parametrize(
    "predict, expected",
    [
        # ours: no full build of the states when serving (they come from SessionStates)
        (rule_policy.RulePolicy._predict, lambda builds, predictions: builds == 0),
        # Rasa's: twice for each prediction right after a message (text, then intent)
        (RasaRulePolicy._predict, lambda builds, predictions: builds > predictions),
    ],
)
def test_the_states_are_not_rebuilt_from_the_start_for_each_prediction(agent, monkeypatch, predict, expected):
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
    policy = rule_policy.RulePolicy.create(
        config, LocalModelStorage(tmp_path), Resource("rules"), ExecutionContext(graph_schema=None, node_name="rules")
    )
    if fails:
        with pytest.raises(InvalidDomain, match="action_nobody_wrote"):
            policy.train([], domain)
    else:
        policy.train([], domain)


def test_the_debug_text_of_the_states_is_made_only_for_a_debug_log(caplog):
    import logging

    from rasa.core.policies.policy import Policy

    states = [{}, {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}]
    with caplog.at_level(logging.INFO, logger="rasa.core.policies.rule_policy"):
        assert rule_policy.RulePolicy.format_tracker_states(states) == ""
    with caplog.at_level(logging.DEBUG, logger="rasa.core.policies.rule_policy"):
        text = rule_policy.RulePolicy.format_tracker_states(states)
    assert text == Policy.format_tracker_states(states) and "greet" in text


# Rule keys as RulePolicy stores them (JSON lists of states, oldest first).
RULES = {
    # a conversation-start rule: no previous action at all
    '[{"user": {"intent": "greet"}}]': "utter_greet",
    # asks that no previous action name be set
    '[{"prev_action": {"action_name": "should_not_be_set"}, "user": {"intent": "bye"}}]': "utter_goodbye",
    '[{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "faq"}}]': "utter_faq",
    '[{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "faq"}}, '
    '{"prev_action": {"action_name": "utter_faq"}, "user": {"intent": "faq"}}]': "action_listen",
    '[{}, {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "thank"}}]': "utter_thank",
}
STATES = [
    [],  # nothing yet
    [{}],
    [{"user": {"intent": "greet"}}],  # a conversation start
    [{}, {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "faq"}}],
    [
        {},
        {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "faq"}},
        {"prev_action": {"action_name": "utter_faq"}, "user": {"intent": "faq"}},
    ],
    [{}, {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "thank"}}],
    [{}, {"prev_action": {"action_text": "hello"}, "user": {"intent": "bye"}}],  # a previous action by text
    [{}, {"prev_action": {"action_name": "utter_greet"}, "user": {"intent": "bye"}}],
]


@pytest.mark.parametrize("states", STATES)
def test_the_rule_lookup_on_fewer_rules_finds_what_rasas_finds(states):
    policy = rule_policy.RulePolicy.__new__(rule_policy.RulePolicy)  # the lookup needs no trained state
    assert policy._get_possible_keys(RULES, states) == RasaRulePolicy._get_possible_keys(policy, RULES, states)


def test_the_rule_index_follows_a_changed_lookup_and_is_not_used_in_training():
    policy = rule_policy.RulePolicy.__new__(rule_policy.RulePolicy)
    states = STATES[3]
    lookup = dict(RULES)
    first = policy._get_possible_keys(lookup, states)
    lookup['[{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "faq"}, "slots": {}}]'] = "x"
    assert policy._get_possible_keys(lookup, states) == RasaRulePolicy._get_possible_keys(policy, lookup, states)
    assert policy._get_possible_keys(lookup, states) != first
    policy.__dict__["_training"] = True
    assert policy._rule_candidates(lookup, states) == set(lookup)


def test_kept_states_are_forgotten_after_a_while(agent, monkeypatch):
    import time

    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = agent.processor.domain

    def tracker(sender):
        made = DialogueStateTracker(sender, domain.slots)
        for event in [
            ActionExecuted("action_listen"),
            UserUttered("hi", {"name": "greet", "confidence": 1.0}),
            ActionExecuted("utter_greet"),
            ActionExecuted("action_listen"),
            UserUttered("bye", {"name": "goodbye", "confidence": 1.0}),
        ]:
            made.update(event)
        return made

    kept = rule_policy.SessionStates()
    old = tracker("old")
    kept.states(old, domain, False)
    assert "old" in kept._kept
    later = time.monotonic() + rule_policy.KEEP_SECONDS + 1
    monkeypatch.setattr(rule_policy.time, "monotonic", lambda: later)
    continued = []
    monkeypatch.setattr(rule_policy.SessionStates, "_continues", staticmethod(lambda *args: continued.append(1)))
    assert kept.states(old, domain, False) == domain.states_for_tracker_history(old)
    assert not continued  # the expired states were not used
    kept.states(tracker("new"), domain, False)
    assert set(kept._kept) == {"old", "new"} and kept._kept["old"].since == later  # rebuilt, kept anew
    monkeypatch.setattr(rule_policy.time, "monotonic", lambda: later + rule_policy.KEEP_SECONDS + 1)
    kept.states(tracker("newest"), domain, False)
    assert set(kept._kept) == {"newest"}  # the others were forgotten
