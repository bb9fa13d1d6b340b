"""Shared fixtures: a dispatcher, tracker factory, the domain, clinic selection, the model."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import config, topics
from server import settings as server_settings
from shared import clinic
from tests.live import live  # noqa: F401 - the shared real servers (tests/live.py)


def pytest_configure(config: pytest.Config) -> None:
    """Install the project's changes to Rasa, as every entry point does, for the in-process agents."""
    import rasa_patches

    rasa_patches.install()


ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "dry-needling.tar.gz"


def _clear_caches() -> None:
    config.settings.cache_clear()
    clinic.profile_at.cache_clear()
    server_settings.settings.cache_clear()
    topics.topic_titles.cache_clear()


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch):
    """Give every test the default settings, read anew."""
    for name in ("CLINIC_ID", "CLINICS_DIR", "TOPICS_FILE"):
        monkeypatch.delenv(name, raising=False)
    _clear_caches()
    yield
    _clear_caches()


@pytest.fixture
def use_clinic(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Select a clinic (and optionally another clinics folder) for this test."""

    def select(clinic_id: str, clinics_dir: Optional[Path] = None) -> None:
        monkeypatch.setenv("CLINIC_ID", clinic_id)
        if clinics_dir is not None:
            monkeypatch.setenv("CLINICS_DIR", str(clinics_dir))
        _clear_caches()

    return select


def run(action, dispatcher, tracker, domain):
    """Run a custom action with the `CollectingDispatcher`; return its events."""
    return asyncio.run(action.run(dispatcher, tracker, domain))


def said(message, domain):
    """Return the text and buttons Rasa makes of an action's message (RemoteAction._utter_responses)."""
    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

    values = dict(message)
    response = values.pop("response", None)
    draft = {}
    if response:
        nlg = TemplatedNaturalLanguageGenerator(domain["responses"])
        draft = nlg.generate_from_slots(response, {}, "collector", **values)
    return draft.get("text") or message["text"], (draft.get("buttons") or []) + (message["buttons"] or [])


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
def make_tracker() -> Callable[..., Tracker]:
    """Build a tracker whose latest message has the given NLU output."""

    def build(
        intent: str = "greet",
        confidence: float = 0.9,
        ranking: Optional[List[Dict[str, Any]]] = None,
        response_selector: Optional[Dict[str, Any]] = None,
        text: str = "hello",
        clarify_topics: Optional[List[str]] = None,
        slots: Optional[Dict[str, Any]] = None,
    ) -> Tracker:
        latest = {
            **({"clarify_topics": clarify_topics} if clarify_topics is not None else {}),
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": ranking or [{"name": intent, "confidence": confidence}],
            "entities": [],
            "response_selector": response_selector or {},
        }
        return Tracker("test-user", dict(slots or {}), latest, [], False, None, {}, "action_listen")

    return build


@contextlib.contextmanager
def agent_with_actions(folder: Path, **load_kwargs: Any) -> Iterator[Any]:
    """The trained model calling a real action server (callbacks in `folder`), stopped afterwards."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does) first")
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    from tests.servers import action_server

    actions = action_server(folder, env={"CALLBACK_DB_URL": f"sqlite:///{folder / 'callbacks.db'}"}).start()
    try:
        yield Agent.load(str(MODEL), action_endpoint=EndpointConfig(url=f"{actions.url}/webhook"), **load_kwargs)
    finally:
        actions.stop()


@pytest.fixture(scope="session")
def agent():
    """The trained model, loaded once (make train builds it)."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does) first")
    from rasa.core.agent import Agent

    return Agent.load(str(MODEL))


@pytest.fixture(scope="session")
def parse(agent) -> Callable[[str], Dict[str, Any]]:
    """Parse one message with the trained model."""
    loop = asyncio.new_event_loop()

    def run(text: str) -> Dict[str, Any]:
        return loop.run_until_complete(agent.parse_message(text))

    yield run
    loop.close()
