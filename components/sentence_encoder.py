"""Sentence features from a pre-trained sentence encoder (all-MiniLM-L6-v2, int8 ONNX).

Word vectors and n-grams see the words of a question; a sentence encoder trained
on a billion sentence pairs also sees what it asks ("How long does it take to
work?" is not about the length of a session). This featurizer adds the
encoder's 384-number sentence embedding to every message as a dense sentence
feature, which ``LinearIntentClassifier`` reads beside the others.

The encoder is built once from the lock file by ``python -m tools.encoder.build``
(``make install``) into ``<venv>/share/dn-sentence-encoder``; nothing is
downloaded. It is loaded once per process, on first use, and runs on
onnxruntime with one thread. Texts seen recently are answered from a
per-process cache (greetings, yes/no and common questions repeat across
patients); ``docs/performance.md`` says what the encoder costs with and without it.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

DEFAULT_DIR = Path(sys.prefix) / "share" / "dn-sentence-encoder"
FILES = ("model.onnx", "tokenizer.json", "meta.json")
MAX_TOKENS = 128
BATCH = 32


class EncoderMissing(RuntimeError):
    """The encoder's files are not installed."""


class Encoder:
    """The ONNX sentence encoder and its tokenizer, with a cache of recent texts."""

    def __init__(self, folder: Path, cache_size: int) -> None:
        """Load the tokenizer and the ONNX graph from `folder`."""
        missing = [name for name in FILES if not (folder / name).is_file()]
        if missing:
            raise EncoderMissing(
                f"sentence encoder not found: {folder} lacks {', '.join(missing)}; "
                f"run `make install` (or `python -m tools.encoder.build --out {folder}`)"
            )
        import onnxruntime
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # The shipped tokenizer pads every text to 128 tokens: ten times the work
        # for a short question. Pad each batch to its longest text instead.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.dimension = int(self.session.get_outputs()[0].shape[-1])
        self._cache: "OrderedDict[Text, np.ndarray]" = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def embed(self, texts: List[Text]) -> np.ndarray:
        """Return one L2-normalised embedding per text (cached texts are not encoded again)."""
        result = np.zeros((len(texts), self.dimension), dtype=np.float32)
        todo: Dict[Text, List[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                hit = self._cache.get(text)
                if hit is None:
                    todo.setdefault(text, []).append(i)
                else:
                    self._cache.move_to_end(text)
                    result[i] = hit
        unique = list(todo)
        for start in range(0, len(unique), BATCH):
            batch = unique[start : start + BATCH]
            for text, vector in zip(batch, self._run(batch)):
                result[todo[text]] = vector
                self._remember(text, vector)
        return result

    def _run(self, texts: List[Text]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int32)
        mask = np.zeros((len(texts), width), dtype=np.int32)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = encoding.attention_mask
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    def _remember(self, text: Text, vector: np.ndarray) -> None:
        if self._cache_size <= 0:
            return
        with self._lock:
            self._cache[text] = vector
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


_encoders: Dict[Tuple[Text, int], Encoder] = {}
_encoders_lock = threading.Lock()


def load_encoder(folder: Optional[Text] = None, cache_size: int = 4096) -> Encoder:
    """Return the process's encoder for `folder`, loading it on first use."""
    path = Path(folder) if folder else DEFAULT_DIR
    key = (str(path.resolve()), cache_size)
    with _encoders_lock:
        if key not in _encoders:
            _encoders[key] = Encoder(path, cache_size)
        return _encoders[key]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Add the sentence encoder's embedding of each message as a dense sentence feature."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Return the defaults: the installed encoder, 4096 cached texts."""
        return {**DenseFeaturizer.get_default_config(), "model_dir": None, "cache_size": 4096}

    @staticmethod
    def required_packages() -> List[Text]:
        """Name the runtime libraries."""
        return ["onnxruntime", "tokenizers"]

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceEncoderFeaturizer":
        """Create the featurizer and load the encoder (a clear error if it is missing)."""
        return cls(config, execution_context.node_name)

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        """Load the encoder once per process."""
        super().__init__(name, config)
        self.encoder = load_encoder(self._config["model_dir"], int(self._config["cache_size"]))

    def process(self, messages: List[Message]) -> List[Message]:
        """Add the embedding of every message's text."""
        self._featurize([m for m in messages if m.get(TEXT)])
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Add the embedding of every training example's text."""
        self._featurize([m for m in training_data.training_examples if m.get(TEXT)])
        return training_data

    def _featurize(self, messages: List[Message]) -> None:
        if not messages:
            return
        vectors = self.encoder.embed([m.get(TEXT) for m in messages])
        for message, vector in zip(messages, vectors):
            message.add_features(Features(vector[np.newaxis, :], FEATURE_TYPE_SENTENCE, TEXT, self._identifier))

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        """Accept any configuration (the folder is checked when the encoder loads)."""
