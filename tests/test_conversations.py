"""Compound questions and follow-ups, end to end, with the real action server.

``tests/conversations/followups.tsv`` holds 60 two-turn conversations written
for this project (previous question, follow-up, the follow-up's label): a
follow-up only makes sense after the previous answer. Each runs in a new
conversation and the follow-up's reply is scored like the yardstick's.
"""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import List, Set

import pytest

from actions.actions import ActionAnswerAll
from tests.conftest import agent_with_actions
from tests.outcomes import ASKED, RIGHT, Outcome, reply_outcome, score

ROOT = Path(__file__).resolve().parents[1]
FOLLOW_UPS = ROOT / "tests" / "conversations" / "followups.tsv"
# The share of the 60 follow-up conversations that must be answered right.
MIN_FOLLOW_UPS = 0.80


def accepted(label: str) -> Set[str]:
    """Turn a file label (`faq__aftercare`, `handoff__price`, `out_of_scope`) into yardstick labels."""
    kind, _, topic = label.partition("__")
    return {topic} if kind == "faq" else {"handoff"} if kind == "handoff" else {"nofaq"}


@pytest.fixture(scope="module")
def converse(tmp_path_factory):
    """Run a conversation of several messages; return the outcome of each message."""
    with agent_with_actions(tmp_path_factory.mktemp("conversations")) as agent:
        loop = asyncio.new_event_loop()
        count = {"n": 0}

        def run(*texts: str) -> List[Outcome]:
            count["n"] += 1
            sender = f"conversation-{count['n']}"
            return [loop.run_until_complete(reply_outcome(agent, sender, text)) for text in texts]

        yield run
        loop.close()


@pytest.mark.model
@pytest.mark.parametrize(
    "question, topics, handoff",
    [
        ("does it hurt and how long does it take?", ["does_it_hurt", "session_length"], False),  # two FAQs, in order
        ("what is it and how is it different from acupuncture?", ["what_is", "vs_acupuncture"], False),  # "it" in both
        ("How long does a session last? How many sessions will I need?", ["session_length"], True),  # FAQ + hand-off
        ("how much does it cost and does it hurt?", ["does_it_hurt"], True),  # hand-off first, then the FAQ
        ("what is dry needling and what is it used for?", ["what_is", "conditions_treated"], False),  # "and what"
    ],
)
def test_a_compound_question_gets_both_answers(converse, question, topics, handoff):
    (outcome,) = converse(question)
    assert outcome.topics == topics
    assert outcome.handoff is handoff


@pytest.mark.model
@pytest.mark.parametrize(
    "previous, follow_up, accept",
    [
        ("does it hurt?", "what about afterwards?", {"aftercare"}),  # the issue's examples, one by one
        ("what is dry needling?", "and the risks?", {"side_effects_safety"}),
        ("what should I do after a session?", "is that normal?", {"aftercare"}),
        ("what conditions does it treat?", "what about my knee?", {"conditions_treated", "handoff"}),  # + hand-off
        ("is dry needling safe?", "even if I'm pregnant?", {"handoff"}),
        ("I had dry needling yesterday", "my leg feels numb, is that normal?", {"handoff"}),  # a symptom: a clinician
        ("what is dry needling?", "how does it work?", {"how_it_works"}),  # a new question stands on its own
        ("how does it work?", "what about the twitch?", {"twitch_response"}),  # "what about" + a topic
        ("what is the twitch response?", "is that normal?", {"twitch_response"}),  # "that" = the twitch
        ("does it hurt?", "how long does the soreness last?", {"aftercare"}),  # soreness afterwards
        ("what is IMS?", "is it the same as acupuncture?", {"vs_acupuncture"}),  # "it" = IMS
        ("is it the same as acupuncture?", "so how is it different?", {"vs_acupuncture"}),  # "so" + "it"
        ("what conditions does it treat?", "and headaches?", {"conditions_treated"}),  # "and" + a condition
        ("what are the benefits?", "and the side effects?", {"side_effects_safety"}),  # "and" + another topic
        ("what are trigger points?", "how does the needle release them?", {"how_it_works", "trigger_points"}),  # "them"
        ("how long is a session?", "and how many will I need?", {"handoff"}),  # a hand-off topic
        ("how long is a session?", "how much does that cost?", {"handoff"}),  # price: the clinic
        ("does it hurt?", "can I drive home after?", {"handoff"}),  # an activity after: the clinic
        ("what should I do after?", "can I go to the gym?", {"handoff"}),  # the same, worded shortly
        ("is it safe?", "what about for kids?", {"handoff"}),  # a child: the clinic
        ("is it safe?", "even if I'm on blood thinners?", {"handoff"}),  # a medicine: the clinic
        ("what can it treat?", "will it work for me?", {"handoff"}),  # personal suitability: the clinic
        ("who does dry needling?", "do they need special training?", {"who_performs"}),  # "they"
        ("what needles do you use?", "are they sterile?", {"needles"}),  # "they" = the needles
        ("what happens during a session?", "does that hurt?", {"does_it_hurt"}),  # "that" = the needling
        ("what should I do after a session?", "I feel dizzy, is that normal?", {"handoff"}),  # a symptom
        ("how does it work?", "I can't breathe properly since my session", {"emergency"}),  # a red flag: 911
        ("is it covered by insurance?", "do I need a referral?", {"handoff"}),  # another hand-off topic
        ("does it hurt?", "thanks!", {"nofaq"}),  # small talk after an answer: no FAQ answer
        ("what is dry needling?", "blorp zzzt qwv", {"nofaq"}),  # nonsense is not read as a follow-up
    ],
)
def test_a_follow_up_is_understood_from_the_last_question(converse, previous, follow_up, accept):
    _, outcome = converse(previous, follow_up)
    assert score(outcome, accept) == RIGHT, outcome.describe()
    if "handoff" in accept:
        assert outcome.handoff, outcome.describe()


@pytest.mark.model
def test_three_turns_keep_the_latest_topic(converse):
    first, second, third = converse("how does it work?", "what about the twitch?", "is that normal?")
    assert first.topics == ["how_it_works"]
    assert second.topics == ["twitch_response"]
    assert third.topics == ["twitch_response"]


@pytest.mark.model
def test_follow_up_conversations(converse):
    with open(FOLLOW_UPS, encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file, delimiter="\t"))
    assert len(rows) >= 30
    misses = []
    for previous, follow_up, label in rows:
        _, outcome = converse(previous, follow_up)
        if score(outcome, accepted(label)) != RIGHT:
            misses.append(f"{previous!r} -> {follow_up!r}: {label} -> {outcome.describe()}")
    right = 1 - len(misses) / len(rows)
    print(f"\nfollow-ups right: {right:.3f} ({len(rows) - len(misses)}/{len(rows)})\n" + "\n".join(misses))
    assert right >= MIN_FOLLOW_UPS, "\n".join(misses)


@pytest.mark.parametrize(
    "answers, said, follow_up",
    [
        (
            ["faq/does_it_hurt", "faq/session_length"],
            ["utter_faq/does_it_hurt", "utter_faq/session_length"],
            [],
        ),  # two FAQs
        (
            ["handoff/price", "faq/does_it_hurt"],
            ["utter_handoff/price", "utter_faq/does_it_hurt"],
            ["action_clinic_contact"],
        ),  # hand-off last
        (["faq/what_is", "greet"], ["utter_faq/what_is"], []),  # anything but an FAQ or hand-off topic is ignored
        ([], [], []),  # nothing to say
    ],
)
def test_action_answer_all_says_each_answer_in_order(dispatcher, make_tracker, answers, said, follow_up):
    tracker = make_tracker(intent="faq")
    tracker.latest_message["answers"] = answers
    events = asyncio.run(ActionAnswerAll().run(dispatcher, tracker, {}))
    assert [m["response"] for m in dispatcher.messages] == said
    assert [e["name"] for e in events if e["event"] == "followup"] == follow_up


@pytest.mark.model
@pytest.mark.parametrize(
    "question, accept",
    [
        ("What is dry needling used for?", {"conditions_treated"}),  # not "what it is"
        ("How long does it take to work?", {"handoff"}),  # not the session length
        ("How long do post-session effects last?", {"handoff", "aftercare", "asked"}),  # not the session length
        ("Will I be sore?", {"aftercare", "does_it_hurt"}),  # an answer, not "Did you mean"
        ("Is dry needling safe during pregnancy?", {"handoff"}),  # personal, worded generally
        ("Can diabetics have it?", {"handoff"}),  # a condition
        ("Can someone on blood thinners have acupuncture?", {"handoff"}),  # a medicine, not the comparison
        ("I have numbness after my session, is that normal?", {"handoff"}),  # a symptom, not "soreness is normal"
        ("I felt dizzy after my session, is that normal?", {"handoff"}),  # another symptom
        ("do you take walk ins", {"handoff"}),  # not insurance: the clinic
        ("can I drive after?", {"handoff"}),  # the documents do not say
        ("can I shower after dry needling?", {"handoff"}),  # the same
        ("can I go to the gym after my session?", {"handoff"}),  # the same
    ],
)
def test_the_issues_typical_misses(converse, question, accept):
    (outcome,) = converse(question)
    # "asked" in accept: a "Did you mean...?" is honest too for an ambiguous question.
    assert score(outcome, accept - {"asked"}) in ({RIGHT, ASKED} if "asked" in accept else {RIGHT}), outcome.describe()
    if accept == {"handoff"}:
        assert outcome.handoff and not outcome.topics, outcome.describe()


@pytest.mark.model
@pytest.mark.parametrize(
    "question, topics",
    [
        ("How rare is a lung puncture from dry needling?", ["side_effects_safety"]),  # a risk, asked in general
        ("can dry needling cause a collapsed lung?", ["side_effects_safety"]),  # the same, as yes/no
        ("what is it and how can it cause a collapsed lung?", ["what_is", "side_effects_safety"]),  # two questions
        ("I think I have a collapsed lung after needling, is that common?", []),  # the patient's own: 911 only
        ("my chest hurts, is that a common side effect?", []),  # a symptom in the first person: 911 only
        ("Can you breathe with a collapsed lung?", []),  # not about the treatment's risk: 911 only
    ],
)
def test_a_red_flag_asked_as_a_risk_gets_911_first_then_the_answer(converse, question, topics):
    (outcome,) = converse(question)
    assert outcome.emergency and "911" in outcome.texts[0], outcome.describe()  # the emergency reply first
    assert outcome.topics == topics, outcome.describe()
    assert not outcome.handoff


@pytest.mark.model
def test_a_clinic_with_opening_hours_is_not_told_they_are_missing(tmp_path, monkeypatch):
    # A profile with hours: the session start sets clinic_has_hours, so the lead line
    # of the hours hand-off announces them instead of saying it has none.
    (tmp_path / "hours_clinic.yml").write_text(
        "version: 1\nid: hours_clinic\nname: Hours Clinic\nlocation: Red Deer, Alberta\n"
        "phone: '403-555-0142'\nhours: Mon-Fri 8-6\n"
    )
    monkeypatch.setenv("CLINIC_ID", "hours_clinic")
    monkeypatch.setenv("CLINICS_DIR", str(tmp_path))
    (tmp_path / "run").mkdir()
    with agent_with_actions(tmp_path / "run") as agent:
        loop = asyncio.new_event_loop()
        outcome = loop.run_until_complete(reply_outcome(agent, "hours-patient", "what are your opening hours?"))
        loop.close()
    assert outcome.handoff, outcome.describe()
    said = " ".join(outcome.texts)
    assert "Here are the clinic's opening hours" in said and "Opening hours: Mon-Fri 8-6." in said
    assert "don't have the clinic's opening hours" not in said


@pytest.mark.model
def test_a_clinic_without_opening_hours_says_so(converse):
    (outcome,) = converse("what are your opening hours?")  # Apollo's profile has no hours
    said = " ".join(outcome.texts)
    assert outcome.handoff and "I don't have the clinic's opening hours." in said
    assert "Opening hours:" not in said
