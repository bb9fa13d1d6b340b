"""The yardstick: real patients' questions, end to end, and the held-out set scored the same way.

Every question of ``../shared/eval/realworld_dev.tsv`` (160 questions copied
from other clinics' pages; never trained on, see its README) is sent as the
first message of a new conversation to the trained model, with the real action
server, as a patient's message reaches it (NLU, policies, custom actions). The
reply is scored by ``tests.outcomes.score``: right, asked ("Did you mean"),
confidently wrong (an answer to another question, or no hand-off / 911 where
only those are right) or missed. ``var/realworld-report.md`` lists every miss
and a confusion table by topic. The held-out set (``tests/heldout``) is
reported the same way in ``var/heldout-outcomes.md``.
"""

from __future__ import annotations

import asyncio
import csv
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest
import yaml

from tests.conftest import agent_with_actions
from tests.outcomes import ASKED, MISSED, RIGHT, WRONG, Outcome, answered_in_full, reply_outcome, score

ROOT = Path(__file__).resolve().parents[1]
DEV_SET = ROOT.parent / "shared" / "eval" / "realworld_dev.tsv"
HELDOUT = ROOT / "tests" / "heldout" / "questions.yml"
REPORT = ROOT / "var" / "realworld-report.md"
HELDOUT_REPORT = ROOT / "var" / "heldout-outcomes.md"
MIN_RIGHT = 0.90
MAX_WRONG = 0.03
# A floor at what the assistant reaches now (docs/quality.md), so nothing slips
# back; the target is 0.90 of the compound questions answered in full.
MIN_COMPOUND = 0.90
HELDOUT_MIN_RIGHT = 0.90
HELDOUT_MAX_WRONG = 0.03
# A question that asks two things: it opens with a question word, and a second
# question word follows "?", ",", "." or "and" outside brackets ("Can (and
# Should) You..." asks one thing).
_ASKS = r"(?:what|how|who|why|when|where|is|are|can|could|does|do|will|should)\b"
COMPOUND = re.compile(rf"^\W*{_ASKS}.*?(?:[?,.]|\band\b)\s+(?:and\s+)?{_ASKS}", re.IGNORECASE)
BRACKETS = re.compile(r"\([^)]*\)")


def is_compound(question: str) -> bool:
    """Tell whether a question asks two things."""
    return bool(COMPOUND.search(BRACKETS.sub(" ", question)))


def dev_cases() -> List[Tuple[str, Set[str]]]:
    """Return (question, accepted labels) for every row of the development set."""
    if not DEV_SET.exists():
        pytest.fail(f"{DEV_SET} is missing: the shared/ folder must lie beside the repository")
    with open(DEV_SET, encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file, delimiter="\t"))
    return [(row["question"], set(row["accept"].split("|"))) for row in rows]


def heldout_cases() -> List[Tuple[str, Set[str]]]:
    """Return the held-out questions with their expectation as development-set labels."""
    cases = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))["cases"]
    result = []
    for case in cases:
        expect = case["expect"]
        if expect.startswith("faq/"):
            accept = {expect.split("/", 1)[1]}
        elif expect.startswith("handoff/") or expect == "something_else":
            accept = {"handoff"}
        elif expect == "emergency":
            accept = {"emergency"}
        else:
            accept = {"nofaq"}
        result.append((case["text"], accept))
    return result


def run_all(agent, questions: List[str]) -> List[Outcome]:
    """Send each question as the first message of its own conversation; return the outcomes."""
    loop = asyncio.new_event_loop()
    try:
        return [loop.run_until_complete(reply_outcome(agent, f"yardstick-{i}", q)) for i, q in enumerate(questions)]
    finally:
        loop.close()


@pytest.fixture(scope="module")
def live_agent(tmp_path_factory):
    """The trained model with a real action server, for this module's questions."""
    with agent_with_actions(tmp_path_factory.mktemp("yardstick")) as agent:
        yield agent


def _report(title: str, cases, outcomes, path: Path) -> Dict[str, float]:
    verdicts = [score(o, accept) for o, (_, accept) in zip(outcomes, cases)]
    counts = Counter(verdicts)
    n = len(cases)
    figures = {v: counts[v] / n for v in (RIGHT, ASKED, WRONG, MISSED)}
    compound = [(o, a) for o, (q, a) in zip(outcomes, cases) if is_compound(q)]
    full = sum(answered_in_full(o, a) for o, a in compound)
    figures["compound"] = full / len(compound) if compound else 1.0
    by_label = defaultdict(Counter)
    for verdict, (_, accept) in zip(verdicts, cases):
        for label in accept:
            by_label[label][verdict] += 1
    lines = [
        f"# {title}",
        "",
        f"{n} questions: right {figures[RIGHT]:.3f}, asked {figures[ASKED]:.3f}, "
        f"confidently wrong {figures[WRONG]:.3f}, missed {figures[MISSED]:.3f}; "
        f"compound questions answered in full {full}/{len(compound)}",
        "",
        "| accepted label | questions | right | asked | confidently wrong | missed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label in sorted(by_label):
        c = by_label[label]
        lines.append(f"| {label} | {sum(c.values())} | {c[RIGHT]} | {c[ASKED]} | {c[WRONG]} | {c[MISSED]} |")
    lines += ["", "## Confusion: accepted label (rows) by what the reply did first (columns)", ""]
    did = [_first(o) for o in outcomes]
    columns = sorted(set(did))
    lines += ["| accepted | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for label in sorted(by_label):
        row = Counter(d for d, (_, accept) in zip(did, cases) if label in accept)
        lines.append(f"| {label} | " + " | ".join(str(row[c] or "") for c in columns) + " |")
    for verdict in (WRONG, ASKED, MISSED):
        lines += ["", f"## {verdict.capitalize()} (question: accepted -> what it did)"]
        lines += [
            f"- {q!r}: {'|'.join(sorted(a))} -> {o.describe()}"
            for (q, a), o, v in zip(cases, outcomes, verdicts)
            if v == verdict
        ]
    lines += ["", "## Compound questions (question: accepted -> what it did)"]
    lines += [
        f"- {'full' if answered_in_full(o, a) else 'PART'}: {q!r}: {'|'.join(sorted(a))} -> {o.describe()}"
        for (q, a), o in zip(cases, outcomes)
        if is_compound(q)
    ]
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n" + lines[2] + f"\n(full report: {path.relative_to(ROOT)})")
    return figures


def _first(outcome: Outcome) -> str:
    """Return the first thing a reply did: its first FAQ topic, emergency, handoff, asked or none."""
    if outcome.topics:
        return outcome.topics[0]
    if outcome.emergency:
        return "emergency"
    if outcome.handoff:
        return "handoff"
    return "asked" if outcome.asked else "none"


@pytest.mark.model
def test_realworld_questions(live_agent):
    cases = dev_cases()
    assert len(cases) == 160
    figures = _report("Real-world development set", cases, run_all(live_agent, [q for q, _ in cases]), REPORT)
    assert figures[RIGHT] >= MIN_RIGHT, f"right {figures[RIGHT]:.3f} < {MIN_RIGHT}; see {REPORT}"
    assert figures[WRONG] <= MAX_WRONG, f"confidently wrong {figures[WRONG]:.3f} > {MAX_WRONG}; see {REPORT}"
    assert figures["compound"] >= MIN_COMPOUND, f"compound {figures['compound']:.3f} < {MIN_COMPOUND}; see {REPORT}"


@pytest.mark.model
def test_heldout_questions_end_to_end(live_agent):
    cases = heldout_cases()
    figures = _report("Held-out set, end to end", cases, run_all(live_agent, [q for q, _ in cases]), HELDOUT_REPORT)
    assert (
        figures[RIGHT] >= HELDOUT_MIN_RIGHT
    ), f"right {figures[RIGHT]:.3f} < {HELDOUT_MIN_RIGHT}; see {HELDOUT_REPORT}"
    assert (
        figures[WRONG] <= HELDOUT_MAX_WRONG
    ), f"confidently wrong {figures[WRONG]:.3f} > {HELDOUT_MAX_WRONG}; see {HELDOUT_REPORT}"


@pytest.mark.parametrize(
    "question, compound",
    [
        ("does it hurt and how long does it take?", True),  # two questions joined by "and"
        ("What is it? How does it work?", True),  # two question marks
        ("If you're not a doctor, why can you do it?", False),  # one question with a condition first
        ("Dry needling vs. acupuncture. Are they the same?", False),  # a title, then one question
        ("what is it, and is it safe", True),  # comma, "and", a second question
        ("What is myofascial pain syndrome and trigger points?", False),  # one question about two things
        ("Is it Painful?", False),  # one short question
        ("Can (and should) I do it twice a week?", False),  # a second question word in brackets
    ],
)
def test_compound_questions_are_recognised(question, compound):
    assert is_compound(question) is compound
