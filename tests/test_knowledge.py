"""Onboarding a clinic from its page: `python -m knowledge draft` and `check` on the fictional clinic."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from tests.servers import QUIET, ROOT

FIXTURES = ROOT / "tests" / "fixtures"
PAGE = FIXTURES / "pages" / "riverbend_physio.txt"
PLACES = ["--clinics-dir", str(FIXTURES / "clinics"), "--pages-dir", str(FIXTURES / "pages")]


def knowledge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "knowledge", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **QUIET},
        timeout=300,
    )


@pytest.fixture(scope="module")
def draft(tmp_path_factory):
    out = tmp_path_factory.mktemp("draft") / "riverbend_physio.draft.yml"
    result = knowledge("draft", "riverbend_physio", *PLACES, "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    return out, result.stdout


def test_the_draft_proposes_the_pages_own_sentences_for_the_topics_it_covers(draft):
    out, _ = draft
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data["clinic"] == "riverbend_physio" and data["reviewed"] is False
    page = " ".join(PAGE.read_text(encoding="utf-8").split())
    quotes = {topic: " ".join(item["quote"] for item in items) for topic, items in data["topics"].items()}
    for topic, items in data["topics"].items():
        assert all(item["quote"] in page for item in items), topic  # verbatim from this clinic's page only
        assert all(item["say"] == "" for item in items)  # the sentence to say is the reviewer's to write
    # The page's five subjects are found, each with the sentence that answers it.
    assert "30 minutes" in quotes["session_length"]
    assert "small prick" in quotes["does_it_hurt"]
    assert "drink plenty of water" in quotes["aftercare"]
    assert "post-graduate certificate" in quotes["who_performs"]
    assert "thin, sterile needles" in quotes["what_is"]


def test_the_draft_lists_the_topics_the_page_does_not_cover(draft):
    out, stdout = draft
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    # The page says nothing about these: they are listed, not filled with a near sentence.
    assert {"vs_acupuncture", "trigger_points", "side_effects_safety"} <= set(data["not_covered"])
    assert not set(data["not_covered"]) & set(data["topics"])
    assert "not covered by riverbend_physio.txt: " in stdout and "vs_acupuncture" in stdout
    assert "REVIEW EVERY QUOTE" in out.read_text(encoding="utf-8")


def test_check_accepts_the_draft(draft):
    out, _ = draft
    result = knowledge("check", str(out), *PLACES)
    assert result.returncode == 0, result.stderr
    assert "checked 1 file(s): 0 problem(s)" in result.stdout


@pytest.mark.parametrize(
    "topics, expected",
    [
        # a quote changed by one word: not verbatim
        (
            {"does_it_hurt": ["Most patients feel only a tiny prick when the needle goes in."]},
            "not verbatim in riverbend_physio.txt",
        ),
        # a topic that does not exist
        ({"parking": ["Free parking is available behind the building."]}, "no FAQ topic 'parking'"),
        # reviewed, but the quote has no sentence for the assistant to say
        (
            {"does_it_hurt": [{"quote": "Most patients feel only a small prick when the needle goes in", "say": ""}]},
            "no sentence to say",
        ),
    ],
)
def test_check_refuses_with_the_line_to_fix(tmp_path, topics, expected):
    path = tmp_path / "riverbend_physio.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "clinic": "riverbend_physio",
                "page": "riverbend_physio.txt",
                "reviewed": True,
                "topics": topics,
            },
            sort_keys=False,
        )
    )
    result = knowledge("check", str(path), *PLACES)
    assert result.returncode == 1
    [problem] = result.stderr.strip().splitlines()
    assert problem.startswith(f"{path}:") and expected in problem
    # The line named is the one to fix: it holds the topic or the quote.
    ((topic, [item]),) = topics.items()
    quote = item["quote"] if isinstance(item, dict) else item
    reported = path.read_text().splitlines()[int(problem.split(":")[1]) - 1]
    assert topic in reported or quote[:40] in reported, reported


def test_draft_refuses_a_clinic_that_is_not_there():
    result = knowledge("draft", "no_such_clinic", *PLACES)
    assert result.returncode == 2 and "no_such_clinic.yml does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_accepts_the_reviewed_citations_of_every_clinic():
    seeds = knowledge("check")  # knowledge/citations/*.yml: the two seed clinics
    assert seeds.returncode == 0 and "checked 2 file(s): 0 problem(s)" in seeds.stdout, seeds.stderr
    fictional = knowledge("check", str(FIXTURES / "citations" / "riverbend_physio.yml"), *PLACES)
    assert fictional.returncode == 0 and "checked 1 file(s): 0 problem(s)" in fictional.stdout, fictional.stderr
