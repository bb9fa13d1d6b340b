"""Choose the classifier's settings by cross-validation on the training data.

`python -m bench.tune [MODEL]` featurizes every training example with the
trained model's own featurizers (spaCy vectors, the sentence encoder, word and
character n-grams), then scores LinearIntentClassifier's logistic regression
with 5-fold stratified cross-validation for each regularisation strength `C`
and weight of the encoder's feature block, and prints one line per setting.
The development set is not used here: it judges the chosen settings
(tests/test_realworld.py, docs/quality.md).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import List

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def training_examples() -> List[tuple]:
    """Return (text, label) for every NLU training example, as the classifier learns it."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu"))
    return [(e.get("text"), e.get("intent_response_key") or e.get("intent")) for e in data.intent_examples]


def featurize(model: str, texts: List[str]):
    """Return the classifier's input matrix for the texts and the encoder block's columns."""
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage

    agent = Agent.load(model)
    runner = agent.processor.graph_runner
    schema = runner._graph_schema
    name = next(n for n, node in schema.nodes.items() if node.uses.__name__ == "LinearIntentClassifier")
    featurized = schema.nodes[name].needs["messages"]
    classifier = runner._instantiated_nodes[name]._component
    classifier.config = {**classifier.config, "feature_weights": {}}  # every block at weight 1 here
    messages = [
        runner.run(inputs={"__message__": [UserMessage(t)], "__tracker__": None}, targets=[featurized])[featurized][0]
        for t in texts
    ]
    blocks = sorted(
        (f for f in messages[0].features if f.attribute == "text" and f.type == "sentence"),
        key=lambda f: (f.is_sparse(), str(f.origin)),
    )
    start, encoder = 0, None
    for block in blocks:
        width = block.features.shape[-1]
        if str(block.origin) == "sentence_encoder" or "SentenceEncoder" in str(block.origin):
            encoder = (start, start + width)
        start += width
    return classifier._create_X(messages).tocsc(), encoder


def main(argv=None) -> int:
    """Print the cross-validated accuracy of each setting, best first."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    import rasa_patches

    rasa_patches.install()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(ROOT / "models" / "dry-needling.tar.gz"))
    parser.add_argument("--C", type=float, nargs="+", default=[10, 30, 100, 300])
    parser.add_argument("--encoder-weight", type=float, nargs="+", default=[0.0, 1.0, 1.5, 2.0])
    args = parser.parse_args(argv)
    texts, labels = zip(*training_examples())
    X, encoder = featurize(args.model, list(texts))
    y = np.array(labels)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)
    results = []
    for c, weight in itertools.product(args.C, args.encoder_weight):
        scale = np.ones(X.shape[1])
        if encoder:
            scale[encoder[0] : encoder[1]] = weight
        Xw = X.multiply(scale).tocsr()
        clf = LogisticRegression(C=c, max_iter=5000)
        scores = cross_val_score(clf, Xw, y, cv=folds, n_jobs=1)
        results.append((scores.mean(), c, weight))
        print(f"C={c:g} encoder weight={weight:g}: accuracy {scores.mean():.4f} (+/- {scores.std():.4f})", flush=True)
    best = max(results)
    print(f"best: C={best[1]:g}, encoder weight={best[2]:g}, accuracy {best[0]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
