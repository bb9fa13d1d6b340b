"""Rasa's SpacyNLP, loading only the spaCy pipes the pipeline uses.

Rasa's SpacyNLP runs every pipe of en_core_web_md except the parser on each
message: tok2vec, tagger, attribute ruler, lemmatizer and named entities. This
pipeline needs spaCy's tokens and static word vectors (SpacyFeaturizer), which
come from the tokenizer and the vocabulary, not from any pipe. Measured here on
one message: 7.3 ms with Rasa's pipes, 3.5 ms without `ner`, 0.1 ms with the
tokenizer alone. With DIET, losing the lemmas cost held-out accuracy (top-1
0.972 to 0.954); the logistic regression that replaced DIET
(components/linear_classifier.py) scores the same with or without them (top-1
0.981), so config.yml excludes every pipe.

The class keeps the name `SpacyNLP` on purpose: Rasa's SpacyTokenizer and
SpacyFeaturizer find their model provider by that class name.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

import spacy
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.utils import spacy_utils
from rasa.nlu.utils.spacy_utils import SpacyModel


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.MODEL_LOADER,
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    ],
    is_trainable=False,
    model_from="SpacyNLP",
)
class SpacyNLP(spacy_utils.SpacyNLP):
    """SpacyNLP that excludes the spaCy pipes listed in `exclude`."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Return Rasa's defaults plus `exclude` (the pipes not to load)."""
        return {
            **spacy_utils.SpacyNLP.get_default_config(),
            "exclude": ["parser", "ner"],
        }

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SpacyNLP":
        """Load the model without the excluded pipes."""
        config = {**cls.get_default_config(), **config}
        name = config.get("model")
        required = (spacy.info(name) or {}).get("spacy_version", "")
        if not spacy.util.is_compatible_version(spacy.about.__version__, required):
            raise spacy_utils.InvalidModelError(
                f"The spaCy model {name} requires spaCy {required}, not {spacy.about.__version__}"
            )
        exclude: List[Text] = list(config["exclude"])
        model = SpacyModel(model=spacy.load(name, exclude=exclude), model_name=name)
        cls.ensure_proper_language_model(model.model)
        return cls(model, config)
