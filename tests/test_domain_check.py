"""rasa_patches/domain_check.py: Rasa's Domain.is_empty answer, without building an empty domain each time."""

from __future__ import annotations

import pytest
from rasa.shared.core.domain import Domain

from rasa_patches import domain_check

DOMAINS = [
    ("empty", Domain.empty),  # Rasa's empty domain
    ("from an empty dict", lambda: Domain.from_dict({})),
    (
        "only a session setting",
        lambda: Domain.from_yaml('version: "3.1"\nsession_config:\n  session_expiration_time: 5\n'),
    ),
    ("one intent", lambda: Domain.from_yaml('version: "3.1"\nintents: [greet]\n')),
    ("one response", lambda: Domain.from_yaml('version: "3.1"\nresponses:\n  utter_hi:\n  - text: hi\n')),
    ("the project's", lambda: Domain.load("domain.yml")),
]


@pytest.mark.parametrize("name, make", DOMAINS, ids=[name for name, _ in DOMAINS])
def test_the_answer_is_rasas(name, make):
    domain = make()
    assert domain_check.is_empty(domain) == domain_check._RASA_IS_EMPTY(domain)


def test_both_answers_occur():
    answers = {domain_check.is_empty(make()) for _, make in DOMAINS}
    assert answers == {True, False}


def test_install_replaces_rasas_method(monkeypatch):
    monkeypatch.setattr(Domain, "is_empty", domain_check._RASA_IS_EMPTY)
    domain_check.install()
    assert Domain.is_empty is domain_check.is_empty
    assert Domain.empty().is_empty() and not Domain.load("domain.yml").is_empty()
