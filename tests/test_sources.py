"""Every FAQ answer cites its sources, and every cited sentence is in its seed file."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "knowledge" / "seeds"
SHARED_SEEDS = ROOT.parent / "shared" / "seeds"
TOPICS = yaml.safe_load((ROOT / "knowledge" / "topics.yml").read_text(encoding="utf-8"))["topics"]
REQUIRED = [
    "what_is",
    "vs_acupuncture",
    "how_it_works",
    "trigger_points",
    "twitch_response",
    "does_it_hurt",
    "session_length",
    "what_to_expect",
    "aftercare",
    "side_effects_safety",
    "conditions_treated",
    "benefits",
    "who_performs",
    "needles",
    "treatment_plan",
]


def quotes():
    for topic, entry in TOPICS.items():
        for source in entry["sources"]:
            for quote in source["quotes"]:
                yield pytest.param(source["seed"], quote, id=f"{topic}:{quote[:30]}")


@pytest.mark.parametrize("seed, quote", list(quotes()))
def test_cited_sentence_is_verbatim_in_its_seed(seed, quote):
    assert quote in (SEEDS / seed).read_text(encoding="utf-8")


def test_topics_are_exactly_the_domain_faq_answers(domain):
    answers = {k.split("/", 1)[1] for k in domain["responses"] if k.startswith("utter_faq/")}
    assert answers == set(TOPICS)
    assert set(REQUIRED) <= answers


@pytest.mark.parametrize("topic", REQUIRED)
def test_answer_is_short_plain_and_cited(domain, topic):
    [response] = domain["responses"][f"utter_faq/{topic}"]
    sentences = [s for s in response["text"].replace("?", ".").split(". ") if s.strip()]
    # Short: a few short sentences (plain language splits long ones), read on a phone.
    assert 1 <= len(sentences) <= 7 and len(response["text"]) <= 540, response["text"]
    assert TOPICS[topic]["title"] and TOPICS[topic]["sources"]


@pytest.mark.parametrize("topic", REQUIRED)
def test_answer_reads_at_grade_8_or_below(domain, topic):
    """Patient-education material should read at grade 6-8 (Flesch-Kincaid, textstat 0.7.8 offline)."""
    import textstat

    [response] = domain["responses"][f"utter_faq/{topic}"]
    assert textstat.flesch_kincaid_grade(response["text"]) <= 8.0, response["text"]


@pytest.mark.skipif(not SHARED_SEEDS.is_dir(), reason="../shared/seeds is not beside this clone")
def test_knowledge_seeds_are_the_shared_seeds():
    names = sorted(p.name for p in SHARED_SEEDS.glob("*.txt"))
    assert names == sorted(p.name for p in SEEDS.glob("*.txt"))
    for name in names:
        assert filecmp.cmp(SHARED_SEEDS / name, SEEDS / name, shallow=False), name


def test_no_number_in_an_answer_that_is_not_in_the_seeds(domain):
    """Prices, phone numbers and durations must come from the documents."""
    import re

    seeds = " ".join(p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt"))
    seeds = seeds.replace("–", " to ")
    # The callback form's example of a phone number to type is a fictional 555 number, not a fact.
    example = re.compile(r"\b\d{3}-555-\d{4}\b")
    for name, variants in domain["responses"].items():
        for variant in variants:
            for number in re.findall(r"\d+", example.sub("", variant.get("text", ""))):
                if number in {"911", "811"}:  # emergency and Health Link, product safety policy
                    continue
                assert number in seeds, f"{name} says {number}, which no seed says"
