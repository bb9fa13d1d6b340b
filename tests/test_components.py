"""Unit tests for the custom NLU components, on hand-made NLU output."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from components.faq_gate import FaqConfidenceGate
from components.red_flags import RedFlagDetector

GATE = FaqConfidenceGate({**FaqConfidenceGate.get_default_config()})
RED_FLAGS = RedFlagDetector(RedFlagDetector.get_default_config())


def message(text="does it hurt", intent="faq", confidence=0.95, topics=(("does_it_hurt", 0.9), ("aftercare", 0.05))):
    ranking = [{"intent_response_key": f"faq/{t}", "confidence": c} for t, c in topics]
    return Message(
        data={
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
            "response_selector": {
                "all_retrieval_intents": ["faq"],
                "faq": {
                    "response": {**ranking[0], "utter_action": f"utter_{ranking[0]['intent_response_key']}"},
                    "ranking": ranking,
                },
            },
        }
    )


@pytest.mark.parametrize(
    "topics, confidence, expected",
    [
        ((("does_it_hurt", 0.9), ("aftercare", 0.05)), 0.95, "faq"),  # sure of the answer: answer it
        ((("does_it_hurt", 0.45), ("aftercare", 0.3)), 0.95, "nlu_fallback"),  # below the threshold
        ((("does_it_hurt", 0.52), ("aftercare", 0.46)), 0.95, "nlu_fallback"),  # two answers too close
        ((("does_it_hurt", 0.5), ("aftercare", 0.4)), 1.0, "faq"),  # exactly at both limits
        ((("does_it_hurt", 0.64), ("aftercare", 0.21)), 0.64, "nlu_fallback"),  # a sure share of an unsure intent
    ],
)
def test_gate_falls_back_only_when_the_answer_is_uncertain(topics, confidence, expected):
    [m] = GATE.process([message(topics=topics, confidence=confidence)])
    assert m.get("intent")["name"] == expected
    assert m.get("intent_ranking")[0]["name"] == expected


def test_gate_ignores_other_intents():
    [m] = GATE.process([message(intent="greet", topics=(("what_is", 0.1), ("needles", 0.1)))])
    assert m.get("intent")["name"] == "greet"


OFFERING_GATE = FaqConfidenceGate({"offer_min_intent": 0.4, "offer_min_topic": 0.05})


@pytest.mark.parametrize(
    "intent, confidence, topics, offered",
    [
        # an FAQ, unsure which: every topic rated 0.05 or more, best first
        (
            "faq",
            0.9,
            (("does_it_hurt", 0.4), ("aftercare", 0.35), ("side_effects_safety", 0.2), ("needles", 0.05)),
            ["does_it_hurt", "aftercare", "side_effects_safety", "needles"],
        ),
        # not likely an FAQ at all (gibberish, another language): nothing to offer
        ("greet", 0.45, (("what_is", 0.3), ("needles", 0.2)), []),
        # an FAQ, but no topic reaches 0.05
        ("faq", 0.6, (("what_is", 0.04), ("needles", 0.03)), []),
        # exactly at both minimums
        ("faq", 0.4, (("what_is", 0.05), ("needles", 0.04)), ["what_is"]),
    ],
)
def test_gate_lists_the_topics_did_you_mean_may_offer(intent, confidence, topics, offered):
    m = message(intent=intent, confidence=confidence, topics=topics)
    if intent != "faq":  # the FAQ intent's own confidence, lower in the ranking
        m.set("intent_ranking", m.get("intent_ranking") + [{"name": "faq", "confidence": 0.1}])
    [m] = OFFERING_GATE.process([m])
    assert m.get("clarify_topics") == offered


def test_gate_without_offer_settings_lists_nothing():
    [m] = GATE.process([message(topics=(("does_it_hurt", 0.45), ("aftercare", 0.3)))])
    assert m.get("clarify_topics") is None


@pytest.mark.parametrize("topic", ["twitch_response", "needles", "what_is"])
def test_button_payload_selects_exactly_its_topic(topic):
    m = message(
        text=f"/faq/{topic}",
        intent="greet",
        confidence=0.3,
        topics=(("does_it_hurt", 0.4), ("twitch_response", 0.3), ("needles", 0.2), ("what_is", 0.1)),
    )
    [m] = GATE.process([m])
    assert m.get("intent") == {"name": "faq", "confidence": 1.0}
    response = m.get("response_selector")["faq"]["response"]
    assert response["intent_response_key"] == f"faq/{topic}"
    assert response["utter_action"] == f"utter_faq/{topic}"


@pytest.mark.parametrize(
    "text",
    [
        "/faq/no_such_topic",  # unknown topic: left to the classifier
        "/handoff/price",  # another retrieval intent's payload: not this gate's
        "faq/what_is",  # not a payload
    ],
)
def test_other_payloads_are_not_honoured(text):
    """Payloads of other intents or unknown topics are left to the classifier."""
    m = message(text=text, intent="greet", topics=(("what_is", 0.9), ("needles", 0.05)))
    [m] = GATE.process([m])
    assert m.get("intent")["name"] == "greet"


@pytest.mark.parametrize(
    "text",
    [
        "I can't breathe properly after my dry needling",
        "cant catch my breath since the needles in my upper back",
        "short of breath and dizzy",
        "my chest hurts a lot after the session",
        "sharp pain in my chest when I breathe in",
        "the needle spot is bleeding heavily",
        "bleeding that won't stop",
        "i fainted on the table",
        "my mom passed out after treatment",
        "could i have a collapsed lung?",
        "worried about a pneumothorax",
        "I’m having trouble breathing",  # curly apostrophe
    ],
)
def test_red_flags_always_get_the_emergency_intent(text):
    [m] = RED_FLAGS.process([message(text=text, intent="faq")])
    assert m.get("intent") == {"name": "emergency", "confidence": 1.0}
    assert [i["name"] for i in m.get("intent_ranking")][:2] == ["emergency", "faq"]


@pytest.mark.parametrize(
    "text",
    [
        "does it hurt?",
        "is it the same as acupuncture",
        "how long is a session",
        "can it help with breathing muscles?",
        "will I bleed a little?",
        "/faq/side_effects_safety",
    ],
)
def test_ordinary_questions_are_not_red_flags(text):
    [m] = RED_FLAGS.process([message(text=text)])
    assert m.get("intent")["name"] == "faq"


from components.language_gate import LanguageGate  # noqa: E402

LANGUAGE = LanguageGate(LanguageGate.get_default_config())


@pytest.mark.parametrize(
    "text",
    [
        "¿Duele la punción seca?",  # Spanish (the example)
        "Est-ce que ça fait mal?",  # French
        "ਕੀ ਇਹ ਦੁਖਦਾ ਹੈ?",  # Punjabi, Gurmukhi script
        "这个疼吗",  # Chinese
        "هل يؤلم؟",  # Arabic: too short for CLD2, caught by its script
        "Masakit ba ang dry needling?",  # Tagalog, Latin script
        "necesito una cita por favor",  # Spanish, no accents
    ],
)
def test_other_languages_get_the_other_language_intent(text):
    [m] = LANGUAGE.process([message(text=text)])
    assert m.get("intent") == {"name": "other_language", "confidence": 1.0}


@pytest.mark.parametrize(
    "text",
    [
        "does it hurt?",  # plain English
        "I have a pacemaker. Can I have IMS?",  # CLD2 guesses Danish; English words win
        "nah im good",  # CLD2 guesses Indonesian
        "needle size?",  # CLD2 guesses Scots
        "hurt?",  # too short to tell: English by default
        "/faq/needles",  # a button payload
    ],
)
def test_english_is_left_alone(text):
    [m] = LANGUAGE.process([message(text=text)])
    assert m.get("intent")["name"] == "faq"


@pytest.mark.parametrize("text", ["/faq", " /faq ", "/faq@0.9", '/faq{"a": 1}'])
def test_a_bare_retrieval_intent_payload_is_not_trusted(text):
    [m] = GATE.process([message(text=text, intent="faq")])
    assert m.get("intent")["name"] == "nlu_fallback"
    assert not m.get("text").startswith("/")  # so Rasa's RegexMessageHandler leaves it alone


@pytest.mark.parametrize(
    "text, topic",
    [
        ("Is dry needling safe during pregnancy?", "health_conditions"),  # worded like a general question
        ("can diabetics have it", "health_conditions"),  # a condition
        ("I'm on blood thinners", "health_conditions"),  # a medicine
        ("how young is too young for dry needling", "health_conditions"),  # age
        ("my leg feels numb since the session", "symptoms_after"),  # a symptom after treatment
        ("I felt dizzy after my session, is that normal?", "symptoms_after"),  # another one
        ("whats your phone number", ""),  # "number" is not "numb"
        ("does it hurt?", ""),  # a general question
    ],
)
def test_personal_health_questions_get_the_hand_off(text, topic):
    from components.personal_health import PersonalHealthDetector

    assert PersonalHealthDetector({}).topic(text) == topic


def test_a_missing_sentence_encoder_is_a_clear_error(tmp_path):
    from components.sentence_encoder import EncoderMissing, load_encoder

    with pytest.raises(EncoderMissing, match=r"lacks model.onnx, tokenizer.json, meta.json; run `make install`"):
        load_encoder(str(tmp_path / "nowhere"))


def test_the_sentence_encoder_places_questions_by_meaning():
    import numpy as np

    from components.sentence_encoder import load_encoder

    encoder = load_encoder()
    hurt, painful, cost = encoder.embed(["does it hurt?", "is it painful", "how much does it cost"])
    assert hurt.shape == (384,) and abs(float(np.linalg.norm(hurt)) - 1.0) < 1e-3  # sentence-transformers' unit vectors
    assert float(hurt @ painful) > float(hurt @ cost) + 0.2  # the same question in other words is closer


def test_the_sentence_encoder_answers_a_repeated_text_from_its_cache(monkeypatch):
    from components.sentence_encoder import Encoder, load_encoder

    encoder = load_encoder()
    first = encoder.embed(["a text for the cache test"])
    calls = []
    monkeypatch.setattr(Encoder, "_run", lambda self, texts: calls.append(texts))
    again = encoder.embed(["a text for the cache test"])
    assert calls == [] and (again == first).all()


from components.questions import clauses, with_antecedents  # noqa: E402


@pytest.mark.parametrize(
    "text, parts",
    [
        (
            "does it hurt and how long does it take?",
            ["does it hurt", "how long does it take?"],
        ),  # "and" + question word
        ("What is it? How does it work?", ["What is it", "How does it work?"]),  # two question marks
        ("In general, how many will I need?", ["In general, how many will I need?"]),  # one question
        (
            "Dry needling vs. acupuncture. Are they the same?",
            ["Dry needling vs. acupuncture", "Dry needling vs. acupuncture Are they the same?"],
        ),  # points back
        ("what is it and how does it work?", ["what is it", "how does it work?"]),  # "it" alone does not point back
    ],
)
def test_a_compound_message_is_split_into_its_questions(text, parts):
    assert with_antecedents(clauses(text)) == parts


def _classified(label, confidence):
    """Return a message classified as `label` (`faq/what_is`) with `confidence` for intent and topic."""
    from rasa.shared.nlu.training_data.message import Message

    intent = label.split("/")[0] if label else "nlu_fallback"
    selector = {intent: {"response": {"intent_response_key": label, "confidence": confidence}}} if label else {}
    return Message(
        data={"text": label or "?", "intent": {"name": intent, "confidence": 1.0}, "response_selector": selector}
    )


@pytest.mark.parametrize(
    "whole, parts, answered",
    [
        # two sure parts on two topics: both, in the order asked
        (("faq/what_is", 0.9), [("faq/what_is", 0.95), ("faq/how_it_works", 0.9)], ["faq/what_is", "faq/how_it_works"]),
        # one sure part and a fairly sure one on another topic: both
        (
            ("faq/what_is", 0.7),
            [("faq/what_is", 0.95), ("faq/side_effects_safety", 0.7)],
            ["faq/what_is", "faq/side_effects_safety"],
        ),
        # the fairly sure part comes first: the order asked is kept
        (
            ("faq/conditions_treated", 0.9),
            [("faq/conditions_treated", 0.75), ("handoff/health_conditions", 0.9)],
            ["faq/conditions_treated", "handoff/health_conditions"],
        ),
        # no part sure, but the whole message is sure of one part's answer: that part anchors the other
        (
            ("handoff/not_covered", 0.86),
            [("faq/what_is", 0.67), ("handoff/not_covered", 0.66)],
            ["faq/what_is", "handoff/not_covered"],
        ),
        # one sure part, the other too vague to answer alone: one answer
        (("faq/what_is", 0.9), [("faq/what_is", 0.95), ("handoff/price", 0.5)], ["faq/what_is"]),
        # nothing sure anywhere: no part is answered
        (("faq/benefits", 0.5), [("faq/benefits", 0.7), ("faq/how_it_works", 0.7)], []),
        # both parts on the same topic: one answer
        (("faq/benefits", 1.0), [("faq/benefits", 0.84), ("faq/benefits", 1.0)], ["faq/benefits"]),
    ],
)
def test_the_parts_answered_are_the_sure_ones_and_their_partner(whole, parts, answered):
    from components.questions import _answered_clauses, answer_label

    found = _answered_clauses(_classified(*whole), [_classified(*part) for part in parts])
    assert [answer_label(f) for f in found] == answered
