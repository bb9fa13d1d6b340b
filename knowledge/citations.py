"""Draft and check a clinic's citations: which sentences of its own page support each FAQ topic.

A clinic's page is the file its profile names as ``source``, in
``knowledge/seeds/`` (the shared seed pages) or ``knowledge/pages/``. A
citations file (``knowledge/citations/<clinic_id>.yml``) lists, per FAQ topic
of ``knowledge/topics.yml``, quotes from that page, each verbatim.

``draft`` proposes them: it splits the page into sentences and ranks them for
each topic with the sentence encoder (cosine similarity to the topic's title,
its general answer and the sentences already cited for it from the seed
pages), keeps up to ``MAX_QUOTES`` at or above ``MIN_SIMILARITY``, and lists
the topics the page does not cover. A person reviews the draft (see the
README's "Add a clinic"). ``check`` refuses a quote that is not verbatim in
the page and a topic that does not exist, naming the file and line to fix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import yaml

from shared.clinic import PROJECT_ROOT, ClinicProfile, clinics_folder, load_profile

KNOWLEDGE = PROJECT_ROOT / "knowledge"
PAGE_FOLDERS = (KNOWLEDGE / "seeds", KNOWLEDGE / "pages")
CITATIONS = KNOWLEDGE / "citations"
TOPICS_FILE = KNOWLEDGE / "topics.yml"
DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
# A sentence is proposed for a topic at this cosine similarity or more (the
# encoder's embeddings are normalised); a topic without one is "not covered".
MIN_SIMILARITY = 0.55
MARGIN = 0.08
MAX_QUOTES = 3
MIN_SENTENCE_WORDS = 5
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class CitationError(Exception):
    """A citations file or a page that cannot be used, with what to fix."""


@dataclass(frozen=True)
class Proposal:
    """A page sentence proposed for a topic, with its similarity."""

    topic: str
    sentence: str
    similarity: float


def page_of(profile: ClinicProfile, folders: Sequence[Path] = PAGE_FOLDERS) -> Path:
    """Return the clinic's page: its profile's `source` in the first page folder that has it."""
    if not profile.source:
        raise CitationError(f"clinic profile {profile.id} names no page: add `source: <file>` to it")
    for folder in folders:
        if (folder / profile.source).is_file():
            return folder / profile.source
    raise CitationError(
        f"the page {profile.source} of clinic {profile.id} is in none of {', '.join(map(str, folders))}"
    )


def sentences(text: str) -> List[str]:
    """Return the page's sentences (and lines) of at least MIN_SENTENCE_WORDS words, in order, once each."""
    found = []
    for piece in SENTENCE_END.split(text):
        piece = " ".join(piece.split())
        if len(piece.split()) >= MIN_SENTENCE_WORDS and piece not in found:
            found.append(piece)
    return found


def topic_references() -> Dict[str, List[str]]:
    """Return, per FAQ topic, the texts that say what it is about: title, general answer, seed quotes."""
    topics = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))["topics"]
    responses = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))["responses"]
    references = {}
    for topic, entry in topics.items():
        texts = [entry["title"]] + [v["text"] for v in responses.get(f"utter_faq/{topic}", []) if v.get("text")]
        texts += [quote for source in entry.get("sources", []) for quote in source.get("quotes", [])]
        references[topic] = texts
    return references


def propose(page_text: str, encoder) -> Tuple[Dict[str, List[Proposal]], List[str]]:
    """Return the proposed quotes per topic (best first) and the topics the page does not cover.

    Every sentence of a page about dry needling is somewhat like every topic,
    so a sentence is proposed only for the topics it is most like: its best
    topic, and any other within ``MARGIN`` of it, at ``MIN_SIMILARITY`` or more.
    """
    # Claims only: not a heading that asks ("How long is a session?") or a title without a full stop.
    candidates = [c for c in sentences(page_text) if c.endswith((".", "!"))]
    references = topic_references()
    topics = list(references)
    if not candidates:
        return {}, sorted(topics)
    page = encoder.embed(candidates)
    similarity = np.stack([(page @ encoder.embed(references[t]).T).max(axis=1) for t in topics], axis=1)
    proposals: Dict[str, List[Proposal]] = {}
    for i, sentence in enumerate(candidates):
        best = similarity[i].max()
        for j, topic in enumerate(topics):
            if similarity[i, j] >= MIN_SIMILARITY and similarity[i, j] >= best - MARGIN:
                proposals.setdefault(topic, []).append(Proposal(topic, sentence, float(similarity[i, j])))
    proposals = {t: sorted(ps, key=lambda p: -p.similarity)[:MAX_QUOTES] for t, ps in proposals.items()}
    return {t: proposals[t] for t in topics if t in proposals}, sorted(set(topics) - set(proposals))


def draft_text(profile: ClinicProfile, page: Path, proposals: Dict[str, List[Proposal]], missing: List[str]) -> str:
    """Return the draft citations file for a person to review."""
    lines = [
        f"# DRAFT citations for {profile.name} ({profile.id}), from {page.name}.",
        "# Proposed by `python -m knowledge draft`: the sentence encoder ranked the page's",
        "# sentences for each topic. REVIEW EVERY QUOTE: keep only those that really say",
        "# what the topic's answer says for this clinic, delete the others, delete a topic",
        "# the page does not really cover, then set `reviewed: true` and run",
        "# `python -m knowledge check`.",
        "version: 1",
        f"clinic: {profile.id}",
        f"page: {page.name}",
        "reviewed: false",
        "topics:",
    ]
    for topic, chosen in proposals.items():
        lines.append(f"  {topic}:")
        for proposal in chosen:
            quoted = json.dumps(proposal.sentence, ensure_ascii=False)  # JSON strings are YAML
            lines.append(f"    - {quoted}  # similarity {proposal.similarity:.2f}")
    lines.append("# Topics this page does not cover (the reply says so and hands over):")
    lines.append("not_covered: [" + ", ".join(missing) + "]")
    return "\n".join(lines) + "\n"


def check_file(path: Path, clinics_dir: Optional[str] = None, folders: Sequence[Path] = PAGE_FOLDERS) -> List[str]:
    """Return the problems of one citations file, each as `file:line: what to fix` (none: it is valid)."""
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        return [f"{path}:{getattr(getattr(error, 'problem_mark', None), 'line', -1) + 1}: not valid YAML: {error}"]
    line_of = _line_finder(path, text)
    clinic_id = data.get("clinic")
    try:
        profile = load_profile(clinics_folder(clinics_dir) / f"{clinic_id}.yml")
        page = page_of(profile, folders)
    except Exception as error:  # noqa: BLE001 - any reason the page cannot be read is reported
        return [f"{line_of('clinic:')}: {error}"]
    page_text = " ".join(page.read_text(encoding="utf-8").split())
    known = set(yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))["topics"])
    problems = []
    for topic, quotes in (data.get("topics") or {}).items():
        if topic not in known:
            problems.append(f"{line_of(f'{topic}:')}: no FAQ topic '{topic}' (see knowledge/topics.yml)")
            continue
        for quote in quotes or []:
            if not isinstance(quote, str) or " ".join(quote.split()) not in page_text:
                problems.append(f"{line_of(str(quote)[:40])}: not verbatim in {page.name}: {quote!r}")
    for topic in data.get("not_covered") or []:
        if topic not in known:
            problems.append(f"{line_of('not_covered')}: no FAQ topic '{topic}' in not_covered")
    return problems


def _line_finder(path: Path, text: str):
    """Return a function giving `path:line` of the first line containing a string."""
    lines = text.splitlines()

    def line_of(needle: str) -> str:
        for number, line in enumerate(lines, start=1):
            if needle and needle in line:
                return f"{path}:{number}"
        return f"{path}:1"

    return line_of
