"""Held-out accuracy of one model: `python -m bench.accuracy MODEL` prints JSON.

The two figures of tests/test_heldout.py (top-1 and answer accuracy on
tests/heldout/questions.yml), with the same `answer_of` and `top1_of` the tests
import, which work for stock Rasa too (its single ResponseSelector files its
answers under "default" instead of "faq" or "handoff").
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict

import yaml

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "heldout" / "questions.yml"


def _selector(data: Dict[str, Any], intent: str) -> Dict[str, Any]:
    selectors = data.get("response_selector") or {}
    return selectors.get(intent) or selectors.get("default") or {}


def answer_of(data: Dict[str, Any]) -> str:
    """Return what the bot does: a topic, an intent, or "clarify"."""
    intent = data["intent"]["name"]
    if intent == "nlu_fallback":
        return "clarify"
    if intent in ("faq", "handoff"):
        selected = _selector(data, intent)
        if selected:
            return selected["response"]["intent_response_key"]
    return intent


def top1_of(data: Dict[str, Any]) -> str:
    """Return the classifier's own best label, before any fallback or clarification."""
    ranking = [i for i in data.get("intent_ranking") or [] if i["name"] != "nlu_fallback"]
    intent = ranking[0]["name"] if ranking else data["intent"]["name"]
    if intent in ("faq", "handoff"):
        selected = _selector(data, intent)
        if selected.get("ranking"):
            return selected["ranking"][0]["intent_response_key"]
        if selected:
            return selected["response"]["intent_response_key"]
    return intent


def measure(model: str) -> Dict[str, Any]:
    """Load the model and score every held-out case."""
    from rasa.core.agent import Agent

    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"]
    agent = Agent.load(model)  # the caller installs rasa_patches for ours (main)
    loop = asyncio.new_event_loop()
    top1 = answer = clarified = 0
    start = time.perf_counter()
    for case in cases:
        data = loop.run_until_complete(agent.parse_message(case["text"]))
        top1 += top1_of(data) == case["expect"]
        got = answer_of(data)
        answer += got == case["expect"]
        clarified += got == "clarify"
    parse_ms = (time.perf_counter() - start) / len(cases) * 1000
    loop.close()
    n = len(cases)
    return {"cases": n, "top1": top1 / n, "answer": answer / n, "clarified": clarified / n, "parse_ms": parse_ms}


if __name__ == "__main__":
    if "--stock" not in sys.argv:  # stock Rasa is measured as it comes
        import rasa_patches

        rasa_patches.install()
    print(json.dumps(measure(sys.argv[1])))
