"""components/linear_classifier.py on a tiny training set, with real Rasa featurizers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.linear_classifier import LinearIntentClassifier

EXAMPLES = {
    "greet": ["hi", "hello there", "good morning", "hey"],
    "faq/does_it_hurt": ["does it hurt", "is it painful", "will the needle hurt", "how painful is it"],
    "faq/session_length": [
        "how long is a session",
        "how many minutes does it take",
        "session length",
        "how long will it last",
    ],
    "handoff/price": ["how much does it cost", "what is the price", "how much is a session", "fees"],
}


def training_data():
    messages = []
    for label, texts in EXAMPLES.items():
        intent = label.split("/")[0]
        for text in texts:
            data = {TEXT: text, INTENT: intent}
            if "/" in label:
                data[INTENT_RESPONSE_KEY] = label
            messages.append(Message(data=data))
    return TrainingData(messages)


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    return LocalModelStorage(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def pipeline(storage):
    """A whitespace tokenizer, word and character count features, and the trained classifier."""
    context = ExecutionContext(graph_schema=None, node_name="linear")
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    featurizers = [
        CountVectorsFeaturizer.create(
            {**CountVectorsFeaturizer.get_default_config(), **config},
            storage,
            Resource(f"cv{i}"),
            ExecutionContext(graph_schema=None, node_name=f"cv{i}"),
        )
        for i, config in enumerate([{}, {"analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4}])
    ]
    data = training_data()
    tokenizer.process_training_data(data)
    for featurizer in featurizers:
        featurizer.train(data)
        featurizer.process_training_data(data)
    classifier = LinearIntentClassifier.create(
        {**LinearIntentClassifier.get_default_config(), "C": 100}, storage, Resource("linear"), context
    )
    classifier.train(data)

    def featurize(text):
        message = Message(data={TEXT: text})
        tokenizer.process([message])
        for featurizer in featurizers:
            featurizer.process([message])
        return message

    return classifier, featurize, context, data


def parse(pipeline, text, classifier=None):
    own, featurize, _, _ = pipeline
    message = featurize(text)
    (classifier or own).process([message])
    return message


@pytest.mark.parametrize(
    "text, intent, topic",
    [
        ("hello", "greet", None),  # a plain intent: no topic
        ("does the needle hurt", "faq", "faq/does_it_hurt"),  # an FAQ topic
        ("how long does a session last", "faq", "faq/session_length"),  # another topic of the same intent
        ("what does it cost", "handoff", "handoff/price"),  # a topic of the other retrieval intent
    ],
)
def test_the_intent_and_the_topic_come_from_one_label(pipeline, text, intent, topic):
    message = parse(pipeline, text)
    assert message.get(INTENT)["name"] == intent
    if topic:
        selected = message.get("response_selector")[intent]
        assert selected["response"]["intent_response_key"] == topic
        assert selected["response"]["utter_action"] == f"utter_{topic}"
        assert selected["ranking"][0]["intent_response_key"] == topic


def test_the_intent_confidence_is_the_sum_of_its_labels(pipeline):
    message = parse(pipeline, "does it hurt")
    ranking = message.get("intent_ranking")
    assert [r["name"] for r in ranking][0] == "faq"
    assert math.isclose(sum(r["confidence"] for r in ranking), 1.0, rel_tol=1e-9)
    assert ranking == sorted(ranking, key=lambda r: -r["confidence"])


def test_topic_shares_add_up_to_one_for_each_retrieval_intent(pipeline):
    classifier, featurize, _, _ = pipeline
    row = classifier._probabilities(classifier._create_X([featurize("does it hurt")]))[0]
    _, topics = classifier._split(row)
    assert sorted(topics) == ["faq", "handoff"]
    for retrieval_intent, ranked in topics.items():
        assert all(key.startswith(f"{retrieval_intent}/") for key, _ in ranked)
        assert math.isclose(sum(p for _, p in ranked), 1.0, rel_tol=1e-9)


def test_each_topic_ranking_keeps_the_best_ranking_length_topics(pipeline, monkeypatch):
    classifier, featurize, _, _ = pipeline
    monkeypatch.setitem(classifier.config, "ranking_length", 1)  # the test data has two topics per intent
    row = classifier._probabilities(classifier._create_X([featurize("does it hurt")]))[0]
    _, topics = classifier._split(row)
    selectors = parse(pipeline, "does it hurt").get("response_selector")
    assert selectors["all_retrieval_intents"] == ["faq", "handoff"]
    assert len(topics["faq"]) > classifier.config["ranking_length"]  # so the cut is tested
    for retrieval_intent, ranked in topics.items():
        kept = [(r["intent_response_key"], r["confidence"]) for r in selectors[retrieval_intent]["ranking"]]
        assert kept == ranked[: classifier.config["ranking_length"]]


def test_probabilities_match_scikit_learn(pipeline):
    classifier, featurize, _, _ = pipeline
    X = classifier._create_X([featurize(t) for t in ("does it hurt", "fees", "zzz")])
    np.testing.assert_allclose(classifier._probabilities(X), classifier.clf.predict_proba(X), rtol=1e-9)


def test_feature_blocks_are_binary_and_of_unit_length(pipeline):
    classifier, featurize, _, _ = pipeline
    columns, values, width = classifier._row(featurize("hurt hurt hurt"))
    assert width == classifier.clf.coef_.shape[1]
    assert len(set(columns)) == len(columns)  # a repeated word counts once
    # Two blocks (word and character counts), each of unit length.
    assert math.isclose(float(np.sum(values**2)), 2.0, rel_tol=1e-9)


@pytest.mark.parametrize(
    "text",
    [
        "",  # no tokens at all
        "   ",  # whitespace only
    ],
)
def test_a_message_without_known_features_gets_no_intent(pipeline, text):
    message = parse(pipeline, text)
    assert message.get(INTENT) == {"name": None, "confidence": 0.0}
    assert message.get("intent_ranking") == []


def test_a_loaded_model_answers_like_the_trained_one(pipeline, storage):
    classifier, _, context, _ = pipeline
    loaded = LinearIntentClassifier.load(classifier.config, storage, Resource("linear"), context)
    for text in ("hello", "is it painful", "price please"):
        assert parse(pipeline, text, loaded).get(INTENT) == parse(pipeline, text).get(INTENT)
        assert parse(pipeline, text, loaded).get("response_selector") == parse(pipeline, text).get("response_selector")


def test_an_untrained_model_gives_no_intent_rather_than_failing(pipeline, storage):
    # Rasa's LogisticRegressionClassifier.load returns an untrained component when
    # the stored one cannot be read; FallbackClassifier then needs an intent key.
    _, featurize, context, _ = pipeline
    untrained = LinearIntentClassifier.load({}, storage, Resource("missing"), context)
    message = featurize("does it hurt")
    untrained.process([message])
    assert message.get(INTENT) == {"name": None, "confidence": 0.0}


def test_one_vs_rest_models_use_scikit_learns_probabilities(pipeline, storage):
    _, featurize, context, data = pipeline
    classifier = LinearIntentClassifier.create(
        {**LinearIntentClassifier.get_default_config(), "solver": "liblinear"}, storage, Resource("ovr"), context
    )
    classifier.train(data)  # the same featurized examples as the default model
    X = classifier._create_X([featurize(t) for t in ("does it hurt", "fees")])
    np.testing.assert_allclose(classifier._probabilities(X), classifier.clf.predict_proba(X), rtol=1e-9)


@pytest.mark.parametrize(
    "config",
    [
        {},  # words, as the first featurizer in config.yml
        {"analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},  # character n-grams, as the second
    ],
)
def test_the_sentence_featurizer_gives_rasas_sentence_features_and_no_per_token_ones(storage, config):
    from components.sentence_count_vectors import SentenceCountVectorsFeaturizer

    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    data = training_data()
    tokenizer.process_training_data(data)
    featurizers = []
    for cls in (CountVectorsFeaturizer, SentenceCountVectorsFeaturizer):
        featurizer = cls.create(
            {**cls.get_default_config(), **config},
            storage,
            Resource(f"cmp-{cls.__name__}-{len(config)}"),
            ExecutionContext(graph_schema=None, node_name=cls.__name__),
        )
        featurizer.train(data)
        featurizers.append(featurizer)
    # known words, a repeated word (counts above 1), unknown words, one word
    for text in ["does it hurt", "how much is a session session", "zzz qqq unknown words", "hi"]:
        rasas, ours = Message(data={TEXT: text}), Message(data={TEXT: text})
        tokenizer.process([rasas, ours])
        featurizers[0].process([rasas])
        featurizers[1].process([ours])
        rasa_sequence, rasa_sentence = rasas.get_sparse_features(TEXT)
        our_sequence, our_sentence = ours.get_sparse_features(TEXT)
        assert rasa_sequence is not None and our_sequence is None
        assert our_sentence.features.shape == rasa_sentence.features.shape
        assert our_sentence.features.dtype == rasa_sentence.features.dtype
        assert (our_sentence.features != rasa_sentence.features).nnz == 0
        np.testing.assert_array_equal(our_sentence.features.col, rasa_sentence.features.col)  # same order
        assert our_sentence.features.nnz > 0 or text.startswith("zzz")
