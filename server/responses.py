"""Read a response's text from the loaded model's domain, for what a channel says itself."""

from __future__ import annotations

import logging
from typing import Any, Optional, Text

logger = logging.getLogger(__name__)


def response_text(app: Any, name: Text) -> Optional[Text]:
    """Return the first text of domain.yml's response `name` in the model the Rasa server loaded, or None (logged)."""
    try:
        return app.ctx.agent.domain.responses[name][0]["text"]
    except (AttributeError, KeyError, IndexError, TypeError):
        logger.error("No model loaded yet, or no response '%s' in its domain", name)
        return None
