"""Read the FAQ topics' button titles from knowledge/topics.yml."""

from __future__ import annotations

from functools import lru_cache
from typing import Dict

import yaml

from actions.config import settings


@lru_cache(maxsize=1)
def topic_titles() -> Dict[str, str]:
    """Return {topic: button title} (read once per process)."""
    with open(settings().topics_file, encoding="utf-8") as file:
        topics = yaml.safe_load(file)["topics"]
    return {topic: entry["title"] for topic, entry in topics.items()}
