"""The trained model: buttons always select their topic; nonsense never gets a confident answer."""

from __future__ import annotations

import pytest

from bench.accuracy import answer_of
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
        "what about the other one",  # a fragment with no topic (a child would be a hand-off)
        "zzzzzzzzzzzz",  # one long nonsense token
    ],
)
def test_nonsense_never_gets_a_confident_answer(parse, text):
    answer = answer_of(parse(text))
    assert not answer.startswith(("faq/", "handoff/")), f"{text!r} got {answer}"


def test_the_trained_classifier_scores_messages_as_scikit_learn_does(agent):
    """components/linear_classifier.py's softmax equals scikit-learn's predict_proba on the real features."""
    import numpy as np
    from rasa.core.channels.channel import UserMessage

    runner = agent.processor.graph_runner
    schema = runner._graph_schema
    name = next(n for n, node in schema.nodes.items() if node.uses.__name__ == "LinearIntentClassifier")
    featurized = schema.nodes[name].needs["messages"]
    classifier = runner._instantiated_nodes[name]._component
    texts = ["does it hurt?", "how much is it", "hi", "I'm pregnant, can I have it?", "zzzz qqq"]
    messages = [
        runner.run(inputs={"__message__": [UserMessage(text)], "__tracker__": None}, targets=[featurized])[featurized][
            0
        ]
        for text in texts
    ]
    X = classifier._create_X(messages)
    assert X.shape == (len(texts), classifier.clf.coef_.shape[1])
    np.testing.assert_allclose(classifier._probabilities(X), classifier.clf.predict_proba(X), rtol=1e-9)
