"""The trained model: buttons always select their topic; nonsense never gets a confident answer."""

from __future__ import annotations

import pytest

from tests.conftest import answer_of
from tests.test_sources import REQUIRED

pytestmark = pytest.mark.model


@pytest.mark.parametrize("topic", REQUIRED)
def test_clarification_button_selects_its_topic(parse, topic):
    data = parse(f"/faq/{topic}")
    assert (data["intent"]["name"], data["intent"]["confidence"]) == ("faq", 1.0)
    assert answer_of(data) == f"faq/{topic}"


def test_something_else_button(parse):
    assert parse("/something_else")["intent"]["name"] == "something_else"


@pytest.mark.parametrize(
    "text",
    [
        "asdkjh qwe",  # keyboard mash
        "lorem ipsum dolor sit",  # placeholder text
        "?",  # a lone question mark
        "what about my kid",  # a fragment with no topic
        "zzzzzzzzzzzz",  # one long nonsense token
    ],
)
def test_nonsense_never_gets_a_confident_answer(parse, text):
    answer = answer_of(parse(text))
    assert not answer.startswith(("faq/", "handoff/")), f"{text!r} got {answer}"
