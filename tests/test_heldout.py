"""Held-out accuracy: patient-style questions the model is never trained on.

tests/heldout/questions.yml was written separately from data/nlu/ and must
never be copied into it (test_heldout_is_not_in_the_training_data checks).
Reports two figures and fails below 0.90 on either:
  * top-1 accuracy: the classifier's own best label (intent, and the topic for
    faq/handoff questions), before any clarification;
  * answer accuracy: what the bot actually does: the right answer given
    directly. A "Did you mean...?" counts as a miss here; a confident wrong
    answer is counted separately and reported.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from bench.accuracy import answer_of, top1_of

ROOT = Path(__file__).resolve().parents[1]
CASES = yaml.safe_load((ROOT / "tests" / "heldout" / "questions.yml").read_text(encoding="utf-8"))["cases"]
REPORT = ROOT / "var" / "heldout-report.md"
MINIMUM = 0.90


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def test_heldout_is_not_in_the_training_data():
    training = set()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in block.get("examples", "").splitlines():
                training.add(_normal(line.lstrip("- ")))
    leaked = [c["text"] for c in CASES if _normal(c["text"]) in training]
    assert leaked == []


def test_heldout_has_at_least_five_cases_per_faq_topic():
    counts = Counter(c["expect"] for c in CASES)
    faq = {k: v for k, v in counts.items() if k.startswith("faq/")}
    assert len(faq) == 15 and min(faq.values()) >= 5


@pytest.mark.model
def test_heldout_accuracy(parse):
    per_label = defaultdict(lambda: Counter())
    wrong, clarified, confident_wrong = [], [], []
    top1_hits = answer_hits = 0
    for case in CASES:
        data = parse(case["text"])
        top1, answer, expected = top1_of(data), answer_of(data), case["expect"]
        top1_hits += top1 == expected
        answer_hits += answer == expected
        per_label[expected]["n"] += 1
        per_label[expected]["top1"] += top1 == expected
        per_label[expected]["answer"] += answer == expected
        if answer == "clarify":
            clarified.append((case["text"], expected, top1))
        elif answer != expected:
            confident_wrong.append((case["text"], expected, answer))
        if top1 != expected:
            wrong.append((case["text"], expected, top1))
    n = len(CASES)
    top1_acc, answer_acc = top1_hits / n, answer_hits / n
    lines = [
        "# Held-out accuracy",
        "",
        f"{n} cases; top-1 accuracy {top1_acc:.3f}; answer accuracy {answer_acc:.3f}; "
        f"clarified {len(clarified)} ({len(clarified) / n:.1%}); "
        f"confident wrong answers {len(confident_wrong)} ({len(confident_wrong) / n:.1%})",
        "",
        "| label | cases | top-1 | answered right |",
        "|---|---|---|---|",
    ]
    for label in sorted(per_label):
        c = per_label[label]
        lines.append(f"| {label} | {c['n']} | {c['top1']} | {c['answer']} |")
    lines += ["", "## Top-1 misses (text, expected, got)"] + [f"- {t!r}: {e} -> {g}" for t, e, g in wrong]
    lines += ["", "## Clarified (text, expected, top-1)"] + [f"- {t!r}: {e} (top-1 {g})" for t, e, g in clarified]
    lines += ["", "## Confident wrong answers (text, expected, answered)"] + [
        f"- {t!r}: {e} -> {g}" for t, e, g in confident_wrong
    ]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n" + "\n".join(lines[:3]) + f"\n(full report: {REPORT.relative_to(ROOT)})")
    assert top1_acc >= MINIMUM, f"top-1 accuracy {top1_acc:.3f} < {MINIMUM}; see {REPORT}"
    assert answer_acc >= MINIMUM, f"answer accuracy {answer_acc:.3f} < {MINIMUM}; see {REPORT}"
