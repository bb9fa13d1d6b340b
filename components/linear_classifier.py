"""One logistic regression for the intent and the FAQ/hand-off topic.

The assistant first shipped with Rasa's TensorFlow models: DIET for the intent
and one ResponseSelector per retrieval intent. Each model call cost about 4 ms
of Python and TensorFlow overhead per message on a 2-core machine, half of all
the work per message (docs/benchmark.md). This component replaces all three
with one scikit-learn model that scores every label at once (``greet``,
``faq/does_it_hurt``, ``handoff/price``...) on the same features:

* the intent is the label's prefix, with the summed probability of its labels;
* for each retrieval intent (``faq``, ``handoff``) the topic ranking is the
  probabilities of its labels, divided by their sum, in the ResponseSelector's
  output format, so ``utter_faq``, FallbackClassifier and FaqConfidenceGate
  work unchanged.

Features: each sparse sentence featurizer's counts are made binary (a word or
character n-gram is there or not) and scaled to unit length, and so is the
spaCy sentence vector, so no featurizer outweighs the others. On the held-out
set this matches DIET and the selectors (docs/benchmark.md) and trains in
seconds.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.constants import UTTER_PREFIX
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix

logger = logging.getLogger(__name__)

# Where the label's intent ends and its topic begins: "faq/does_it_hurt".
SEPARATOR = "/"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearIntentClassifier(LogisticRegressionClassifier):
    """Classify the intent and the retrieval topic with one logistic regression."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Return the defaults: weak regularisation, ten intents in the ranking."""
        return {
            **LogisticRegressionClassifier.get_default_config(),
            "C": 100.0,
            "max_iter": 5000,
            "ranking_length": 10,
            "feature_weights": {},
        }

    def __init__(self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage, resource: Resource) -> None:
        """Build the untrained classifier."""
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=float(self.config["C"]))
        # Label lookups, computed once from the trained classifier's labels.
        self._intents: Optional[List[Text]] = None
        self._label_intent = np.zeros(0, dtype=np.int64)
        self._topics: Optional[Dict[Text, np.ndarray]] = None
        self._weights: Optional[np.ndarray] = None

    def _row(self, message: Message) -> Tuple[np.ndarray, np.ndarray, int]:
        """Return the message's sentence features: column indices, values and width.

        Each featurizer's block in a fixed order; a sparse block made binary (a
        word or n-gram is there or not), and every block scaled to unit length,
        then by its weight in `feature_weights` (by featurizer alias; 1 if not named).
        """
        blocks = sorted(
            (f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE),
            key=lambda f: (f.is_sparse(), str(f.origin)),
        )
        columns, values, width = [], [], 0
        for feature in blocks:
            if feature.is_sparse():
                block = feature.features.tocoo()
                cols = np.unique(block.col[block.data != 0])
                vals = np.full(len(cols), 1.0 / np.sqrt(len(cols)) if len(cols) else 0.0)
            else:
                vector = np.asarray(feature.features, dtype=np.float64).ravel()
                norm = np.linalg.norm(vector)
                cols, vals = np.arange(len(vector)), vector / norm if norm else vector
            columns.append(cols + width)
            values.append(vals * float(self.config["feature_weights"].get(str(feature.origin), 1.0)))
            width += feature.features.shape[-1]
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0), 0
        return np.concatenate(columns), np.concatenate(values), width

    def _create_X(self, messages: List[Message]) -> csr_matrix:
        return self._matrix([self._row(m) for m in messages])

    @staticmethod
    def _matrix(rows: List[Tuple[np.ndarray, np.ndarray, int]]) -> csr_matrix:
        indptr = np.cumsum([0] + [len(cols) for cols, _, _ in rows])
        width = max((w for _, _, w in rows), default=0)
        return csr_matrix(
            (np.concatenate([v for _, v, _ in rows]), np.concatenate([c for c, _, _ in rows]), indptr),
            shape=(len(rows), width),
        )

    def _probabilities(self, X: csr_matrix) -> np.ndarray:
        """scikit-learn's predict_proba without its per-call checks (softmax of the scores)."""
        if self.clf.coef_.shape[0] == 1 or self.clf.solver == "liblinear" or self.clf.multi_class == "ovr":
            return self.clf.predict_proba(X)  # one-vs-rest sigmoids, not a softmax
        if self._weights is None:
            # coef_.T is a strided view: scipy would copy all of it on every call.
            self._weights = np.ascontiguousarray(self.clf.coef_.T)
        scores = np.asarray(X @ self._weights) + self.clf.intercept_
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)

    def train(self, training_data: TrainingData) -> Resource:
        """Learn every label: the intent, or the full ``intent/topic`` of a retrieval intent."""
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            logger.debug("%s: no examples, nothing to train.", self.name)
            return self._resource
        labels = [e.get(INTENT_RESPONSE_KEY) or e.get(INTENT) for e in examples]
        self.clf.fit(self._create_X(examples), labels)
        self._intents = self._topics = self._weights = None
        self.persist()
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        """Set the intent, its ranking and each retrieval intent's topic ranking."""
        if not messages:
            return messages
        trained = hasattr(self.clf, "classes_")
        rows = [self._row(m) for m in messages]
        fit = [trained and width == self.clf.coef_.shape[1] and bool(np.any(values)) for _, values, width in rows]
        for message in (m for m, ok in zip(messages, fit) if not ok):
            # No trained model, no features, or none the model knows (an empty
            # message): no intent, as DIET does, instead of a guess from the
            # intercepts alone. FallbackClassifier then says nlu_fallback.
            message.set(INTENT, {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        if not any(fit):
            return messages
        probabilities = self._probabilities(self._matrix([r for r, ok in zip(rows, fit) if ok]))
        for message, row in zip((m for m, ok in zip(messages, fit) if ok), probabilities):
            intents, topics = self._split(row)
            ranking = [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: p} for name, p in intents]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[: self.config["ranking_length"] or None], add_to_output=True)
            # The retrieval intents are the prefixes of the labels with a topic.
            selectors = {RESPONSE_SELECTOR_RETRIEVAL_INTENTS: sorted(topics)}
            for retrieval_intent, ranked in topics.items():
                top_key, top_p = ranked[0]
                selectors[retrieval_intent] = {
                    RESPONSE_SELECTOR_PREDICTION_KEY: {
                        INTENT_RESPONSE_KEY: top_key,
                        PREDICTED_CONFIDENCE_KEY: top_p,
                        RESPONSE_SELECTOR_UTTER_ACTION_KEY: f"{UTTER_PREFIX}{top_key}",
                    },
                    # The best `ranking_length` topics, as Rasa's ResponseSelector
                    # gives (every message's ranking is stored with the conversation).
                    RESPONSE_SELECTOR_RANKING_KEY: [
                        {INTENT_RESPONSE_KEY: key, PREDICTED_CONFIDENCE_KEY: p}
                        for key, p in ranked[: self.config["ranking_length"] or None]
                    ],
                }
            message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selectors, add_to_output=True)
        return messages

    def _split(self, row: np.ndarray) -> Tuple[List[Tuple[Text, float]], Dict[Text, List[Tuple[Text, float]]]]:
        """Intents by summed probability; per retrieval intent, its topics by share."""
        intents, label_intent = self._intent_index()
        intent_p = np.bincount(label_intent, weights=row, minlength=len(intents))
        topics = {}
        for retrieval_intent, labels in self._topic_labels().items():
            shares = row[labels] / (intent_p[intents.index(retrieval_intent)] or 1.0)
            order = np.argsort(-shares, kind="stable")
            topics[retrieval_intent] = [(str(self.clf.classes_[labels[i]]), float(shares[i])) for i in order]
        order = np.argsort(-intent_p, kind="stable")
        return [(intents[i], float(intent_p[i])) for i in order], topics

    def _intent_index(self) -> Tuple[List[Text], np.ndarray]:
        """Return the intents, and for each label the index of its intent (computed once)."""
        if self._intents is None:
            names = [str(label).split(SEPARATOR, 1)[0] for label in self.clf.classes_]
            intents = sorted(set(names))
            # The index first: another thread (Rasa's /model/test) may read both.
            self._label_intent = np.array([intents.index(n) for n in names])
            self._intents = intents
        return self._intents, self._label_intent

    def _topic_labels(self) -> Dict[Text, np.ndarray]:
        """For each retrieval intent, the indices of its labels (computed once)."""
        if self._topics is None:
            topics: Dict[Text, List[int]] = defaultdict(list)
            for i, label in enumerate(self.clf.classes_):
                if SEPARATOR in label:
                    topics[str(label).split(SEPARATOR, 1)[0]].append(i)
            self._topics = {intent: np.array(labels) for intent, labels in topics.items()}
        return self._topics

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leave the training data as it is (no later component trains on the intent)."""
        return training_data
