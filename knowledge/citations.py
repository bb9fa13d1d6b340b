"""Draft and check a clinic's citations, and read its answers: each sentence said rests on its own page.

A clinic's page is the file its profile names as ``source``, in
``knowledge/seeds/`` (the shared seed pages) or ``knowledge/pages/``. A
citations file (``knowledge/citations/<clinic_id>.yml``) lists, per FAQ topic
of ``knowledge/topics.yml``, the sentences the assistant says (``say``), each
with the sentence of the page it rests on (``quote``, verbatim). The Rasa
server answers a clinic's patients with them (``server/clinic_nlg.py``).

``draft`` proposes the quotes: it splits the page into sentences and ranks
them for each topic with the sentence encoder (cosine similarity to the
topic's title and question, and the quotes and answers of the clinics already reviewed), keeps up to
``MAX_QUOTES`` at or above ``MIN_SIMILARITY``, and lists the topics the page
does not cover. A person reviews the draft and writes the sentences to say
(see the README's "Add a clinic"). ``check`` refuses a quote that is not
verbatim in the page, a topic that does not exist and a reviewed quote without
its sentence, naming the file and line to fix.
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


def items_of(entry) -> List[dict]:
    """Return a topic's items as `{"quote": ..., "say": ...}` (a draft may list bare quotes)."""
    return [item if isinstance(item, dict) else {"quote": item} for item in entry or []]


def reviewed_files(folder: Path = CITATIONS) -> List[Path]:
    """Return the reviewed citations files of a folder (not the drafts)."""
    return sorted(p for p in Path(folder).glob("*.yml") if not p.name.endswith(".draft.yml"))


def answers_in(path: Path) -> Tuple[str, Dict[str, str]]:
    """Return the clinic of a reviewed citations file and its answer per topic (its `say` sentences, joined)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if data.get("reviewed") is not True:
        raise CitationError(f"{path} is not reviewed: review it and set `reviewed: true`")
    answers = {}
    for topic, entry in (data.get("topics") or {}).items():
        said = [str(item.get("say") or "").strip() for item in items_of(entry)]
        if not all(said):
            raise CitationError(f"{path}: topic {topic} has a quote without the sentence to say (`say`)")
        answers[topic] = " ".join(said)
    return data["clinic"], answers


def topic_references(folder: Path = CITATIONS) -> Dict[str, List[str]]:
    """Return, per FAQ topic, what says what it is about: title, question, reviewed clinics' quotes and answers."""
    topics = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))["topics"]
    references = {topic: [entry["title"], entry.get("asks") or entry["title"]] for topic, entry in topics.items()}
    for path in reviewed_files(folder):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for topic, entry in (data.get("topics") or {}).items():
            if topic in references:
                items = items_of(entry)
                references[topic] += [item["quote"] for item in items if item.get("quote")]
                references[topic] += [" ".join(item.get("say") or "" for item in items)]  # the answer as said
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
        "# what the topic's answer says for this clinic, delete the others, move a topic",
        "# the page does not really cover to `not_covered`; write for each quote kept the",
        "# sentence the assistant says (`say`: plain words, grade 8 or below, nothing the",
        "# quote does not say); then set `reviewed: true`, save as <clinic_id>.yml and run",
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
            lines.append(f"    - quote: {quoted}  # similarity {proposal.similarity:.2f}")
            lines.append('      say: ""  # the plain-language sentence the assistant says from this quote')
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
    reviewed = data.get("reviewed") is True
    for topic, entry in (data.get("topics") or {}).items():
        if topic not in known:
            problems.append(f"{line_of(f'{topic}:')}: no FAQ topic '{topic}' (see knowledge/topics.yml)")
            continue
        for item in items_of(entry):
            quote = item.get("quote")
            if not isinstance(quote, str) or " ".join(quote.split()) not in page_text:
                problems.append(f"{line_of(str(quote)[:40])}: not verbatim in {page.name}: {quote!r}")
            elif reviewed and not str(item.get("say") or "").strip():
                problems.append(f"{line_of(quote[:40])}: reviewed, but no sentence to say (`say`) for this quote")
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
