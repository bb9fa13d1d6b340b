"""Every clinic's answer rests, sentence by sentence, on its own page; replies are plain, for one clinic."""

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


FIXTURES = ROOT / "tests" / "fixtures"
# Every clinic checked: the two seed clinics and the fictional one of the tests.
CITATION_FILES = sorted((ROOT / "knowledge" / "citations").glob("[a-z]*.yml")) + [
    FIXTURES / "citations" / "riverbend_physio.yml"
]
CITATION_FILES = [p for p in CITATION_FILES if not p.name.endswith(".draft.yml")]
PAGE_FOLDERS = [SEEDS, ROOT / "knowledge" / "pages", FIXTURES / "pages"]


def _citations(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _page(data) -> str:
    folder = next(f for f in PAGE_FOLDERS if (f / data["page"]).is_file())
    return " ".join((folder / data["page"]).read_text(encoding="utf-8").split())


def _answers():
    for path in CITATION_FILES:
        data = _citations(path)
        for topic, items in data["topics"].items():
            yield pytest.param(data, topic, items, id=f"{data['clinic']}:{topic}")


def test_each_seed_clinic_and_the_fictional_one_has_reviewed_answers():
    clinics = {_citations(p)["clinic"] for p in CITATION_FILES}
    assert clinics == {"apollo_calgary", "dynamic_okotoks", "riverbend_physio"}
    assert all(_citations(p)["reviewed"] is True for p in CITATION_FILES)


@pytest.mark.parametrize("data, topic, items", list(_answers()))
def test_every_sentence_said_rests_on_a_verbatim_sentence_of_the_clinics_own_page(data, topic, items):
    page = _page(data)
    for item in items:
        assert item["say"].strip(), item
        assert " ".join(item["quote"].split()) in page, f"not in {data['page']}: {item['quote']!r}"


@pytest.mark.parametrize("path", CITATION_FILES, ids=lambda p: p.stem)
def test_every_topic_is_answered_or_listed_as_not_covered(path):
    data = _citations(path)
    answered, missing = set(data["topics"]), set(data.get("not_covered") or [])
    assert not answered & missing and answered | missing == set(TOPICS), path


@pytest.mark.parametrize("data, topic, items", list(_answers()))
def test_clinic_answer_is_short_and_reads_at_grade_8_or_below(data, topic, items):
    """Patient-education material should read at grade 6-8 (Flesch-Kincaid, textstat 0.7.8 offline)."""
    import textstat

    text = " ".join(item["say"] for item in items)
    sentences = [s for s in text.replace("?", ".").split(". ") if s.strip()]
    # Short: a few short sentences (plain language splits long ones), read on a phone.
    assert 1 <= len(sentences) <= 7 and len(text) <= 540, text
    assert textstat.flesch_kincaid_grade(text) <= 8.0, text


def test_topics_are_exactly_the_domain_faq_answers(domain):
    answers = {k.split("/", 1)[1] for k in domain["responses"] if k.startswith("utter_faq/")}
    assert answers == set(TOPICS)
    assert set(REQUIRED) <= answers


@pytest.mark.parametrize("topic", REQUIRED)
def test_a_topic_a_page_does_not_cover_is_said_so_with_the_contact_details(domain, topic):
    [response] = domain["responses"][f"utter_faq/{topic}"]
    assert "{clinic_name}'s information doesn't cover" in response["text"]
    assert response["text"].endswith("{clinic_contact}")
    assert TOPICS[topic]["title"]


def test_general_information_comes_from_a_clinic_that_covers_the_topic():
    by_clinic = {_citations(p)["clinic"]: _citations(p) for p in CITATION_FILES}
    for topic, entry in TOPICS.items():
        if entry.get("general_from"):
            assert topic in by_clinic[entry["general_from"]]["topics"], topic


def test_no_reply_says_the_clinics(domain):
    """A reply speaks for one clinic: never "the clinics" (another clinic's practice as this one's)."""
    texts = [v.get("text", "") for variants in domain["responses"].values() for v in variants]
    texts += [item["say"] for p in CITATION_FILES for items in _citations(p)["topics"].values() for item in items]
    assert not [t for t in texts if "the clinics" in t.lower()]


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
