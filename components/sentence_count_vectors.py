"""Rasa's CountVectorsFeaturizer, making only the sentence features the pipeline reads.

For every message, Rasa's CountVectorsFeaturizer runs scikit-learn twice: once
over each token on its own (sequence features, one row per token) and once
over the whole text (sentence features). The only model in this pipeline,
``components.linear_classifier.LinearIntentClassifier``, reads sentence
features alone (DIET read both). This featurizer keeps Rasa's vocabulary,
training and settings and skips the per-token pass: the same sentence
features, and half the featurizer's work per message (about a tenth of the
Rasa server's CPU with the two featurizers in config.yml, `make profile`).
It makes no features at all for intents, action names and response keys
(Rasa makes per-token ones for those), so it suits a pipeline whose models
read sentence features only: not DIET, TED or ResponseSelector.

It also counts the n-grams of the one text itself, with the vectorizer's own
analyzer and vocabulary, instead of calling ``CountVectorizer.transform``:
for a one-line message scikit-learn spent most of its time rebuilding the
analyzer and checking and converting sparse matrices, not counting. Same
counts, same dtype, same shape, sorted columns.
``tests/test_linear_classifier.py`` checks that its sentence features equal Rasa's.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Text, Tuple

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SentenceCountVectorsFeaturizer(CountVectorsFeaturizer):
    """CountVectorsFeaturizer without sequence (per-token) features."""

    def _create_features(
        self, attribute: Text, all_tokens: List[List[Text]]
    ) -> Tuple[List[Optional[scipy.sparse.spmatrix]], List[Optional[scipy.sparse.spmatrix]]]:
        """No sequence features; sentence features exactly as Rasa makes them."""
        if not self.vectorizers.get(attribute):
            return [None], [None]
        sentence_features: List[Optional[scipy.sparse.spmatrix]] = []
        for tokens in all_tokens:
            if not tokens or attribute not in DENSE_FEATURIZABLE_ATTRIBUTES:
                sentence_features.append(None)
                continue
            sentence_features.append(self._count(attribute, " ".join(tokens)))
        return [None] * len(all_tokens), sentence_features

    def _count(self, attribute: Text, text: Text) -> scipy.sparse.coo_matrix:
        """Return what ``vectorizer.transform([text]).tocoo()`` gives, counted directly."""
        vectorizer = self.vectorizers[attribute]
        counting = getattr(self, "_counting", None)
        if counting is None:
            counting = self._counting = {}
        known = counting.get(attribute)
        if known is None or known[0] is not vectorizer or known[2] is not getattr(vectorizer, "vocabulary_", None):
            vectorizer.transform([""])  # sets vocabulary_ if the model was loaded with a fixed vocabulary
            known = counting[attribute] = (vectorizer, vectorizer.build_analyzer(), vectorizer.vocabulary_)
        _, analyze, vocabulary = known
        counts: Dict[int, int] = {}
        for feature in analyze(text):
            index = vocabulary.get(feature)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        columns = np.array(sorted(counts), dtype=np.int32)
        values = np.array([counts[c] for c in columns.tolist()], dtype=vectorizer.dtype)
        if vectorizer.binary:
            values.fill(1)
        return scipy.sparse.coo_matrix(
            (values, (np.zeros(len(columns), dtype=np.int32), columns)), shape=(1, len(vocabulary))
        )
