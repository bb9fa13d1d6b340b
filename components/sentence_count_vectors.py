"""Rasa's CountVectorsFeaturizer, making only the sentence features the pipeline reads.

For every message, Rasa's CountVectorsFeaturizer runs scikit-learn twice: once
over each token on its own (sequence features, one row per token) and once
over the whole text (sentence features). The only model in this pipeline,
``components.linear_classifier.LinearIntentClassifier``, reads sentence
features alone (DIET read both). This featurizer keeps Rasa's vocabulary,
training and settings and skips the per-token pass: the same sentence
features, and half the featurizer's work per message (about a tenth of the
Rasa server's CPU with the two featurizers in config.yml, `make profile`).
``tests/test_linear_classifier.py`` checks that its sentence features equal Rasa's.
"""

from __future__ import annotations

from typing import List, Optional, Text, Tuple

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
            sentence_vec = self.vectorizers[attribute].transform([" ".join(tokens)])
            sentence_vec.sort_indices()
            sentence_features.append(sentence_vec.tocoo())
        return [None] * len(all_tokens), sentence_features
