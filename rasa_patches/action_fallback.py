"""When the action server cannot be reached, the Rasa server still answers.

Rasa 3.6 has no setting for this (RasaHQ/rasa#7630 asks for one; #5588 was
closed without one): when a custom action fails (connection refused, time-out,
an error status), ``MessageProcessor._run_action`` logs the error and drops the
action's events. A patient who asked for the clinic got only the one-line lead
("The clinic information I have doesn't list prices or fees.") and no contact
details; a new patient got no opening notice; a nonsense message got no reply.

``install()`` makes Rasa create ``RemoteActionWithFallback`` wherever it
creates a ``RemoteAction`` (``rasa.core.actions.action`` and
``rasa.core.actions.forms``). It behaves exactly like ``RemoteAction`` while the
action server answers. When it does not (or takes longer than
``ACTION_SERVER_TIMEOUT`` seconds, default 20; Rasa's own limit is 5 minutes),
it logs one line (the action's name and the error type, no personal data) and
returns:

- for ``action_session_start``: Rasa's default session start, the
  general-information notice and the ``clinic_name`` slot, as the action
  server would;
- for any other custom action: the clinic's contact details, at most once per
  patient message, and the end of any active form (the callback form cannot go
  on without the action server).

The notice and the contact details are the same sentences the action server
says: the notice is domain.yml's ``utter_notice``, the contact details are
worded by ``shared.clinic`` from the profile chosen by ``CLINIC_ID``, read by
the Rasa server itself. If the profile cannot be read, ``utter_notice_no_clinic``
and ``utter_contact_clinic_directly`` are said instead; other actions'
contact details follow ``utter_unavailable``. The Rasa server imports nothing
from ``actions/``.

A rejection by the action server (``ActionExecutionRejection``: a form
validation refusing a value) is not a failure and passes through unchanged.

It also sends ``ACTION_SERVER_TOKEN``, when that is set and endpoints.yml
gives the action endpoint no token of its own, as ``Authorization: Bearer``
(the action server requires it then: ``actions/access.py``).

Installed by ``rasa_patches.install()``, which every entry point calls.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Text, Tuple

import aiohttp
import jsonschema
import rasa.core.actions.action as rasa_action
import rasa.core.actions.forms as rasa_forms
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.shared.core.constants import ACTION_SESSION_START_NAME, REQUESTED_SLOT
from rasa.shared.core.events import ActiveLoop, BotUttered, Event, SlotSet, UserUttered
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

from server.settings import settings
from shared.clinic import ClinicProfile, clinic_file, conversation_clinic, profile_at

if TYPE_CHECKING:
    from rasa.core.channels.channel import OutputChannel
    from rasa.core.nlg import NaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

# The hand-off action already follows its one-line lead: only the contact details.
NO_SORRY = {"action_clinic_contact"}


def _profile(tracker: "DialogueStateTracker") -> Optional[ClinicProfile]:
    """Return the profile of the conversation's clinic, or None (logged) if it cannot be read."""
    try:
        clinic_id = conversation_clinic(tracker.get_slot, settings().clinic_id)
        return profile_at(clinic_file(clinic_id, settings().clinics_dir))
    except Exception as error:  # noqa: BLE001 - any failure means "no profile"
        logger.error("Fallback: cannot read the clinic profile (%s)", type(error).__name__)
        return None


async def _say(
    nlg: "NaturalLanguageGenerator",
    response: Text,
    tracker: "DialogueStateTracker",
    output_channel: "OutputChannel",
    **values: Any,
) -> Text:
    """Return the text of a domain response, filled with `values`."""
    message = await nlg.generate(response, tracker, output_channel.name(), **values) or {}
    return message.get("text") or ""


def with_token(endpoint: Optional[EndpointConfig]) -> Optional[EndpointConfig]:
    """Return the endpoint, sending ACTION_SERVER_TOKEN if it is set and no token is configured."""
    token = settings().action_server_token
    if not endpoint or not token or endpoint.token or "Authorization" in endpoint.headers:
        return endpoint
    endpoint = endpoint.copy()
    endpoint.headers = {**endpoint.headers, "Authorization": f"Bearer {token}"}
    return endpoint


# How long an idle connection to the action server is kept for the next call:
# under the action server's own keep-alive (Sanic's 5 s), so it never closes a
# connection this side is about to reuse.
KEEPALIVE_SECONDS = 2.0
# The event loop's session for action calls (one per loop: aiohttp sessions
# belong to a loop). A session holds its loop, so the loops are not weak keys;
# entries of closed loops are dropped when a session is made.
_SESSIONS: Dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}


class _Open:
    """``async with`` a session that stays open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


class KeepAliveEndpoint(EndpointConfig):
    """The action endpoint, calling through one HTTP session per event loop.

    Rasa's ``EndpointConfig.request`` opens a new aiohttp session, so a new TCP
    connection (and a name lookup in a thread for ``localhost`` or a compose
    service name), for every action call. Here the event loop's session is
    reused: on a busy server the calls share kept-alive connections. The
    request itself (headers, token, timeout, errors) is Rasa's.
    """

    @classmethod
    def of(cls, endpoint: Optional[EndpointConfig]) -> Optional[EndpointConfig]:
        """Return the endpoint's settings as this class, or the endpoint as it is if it needs its own session."""
        if endpoint is None or endpoint.basic_auth or not endpoint.url:
            return endpoint  # basic auth is set on Rasa's session itself
        return cls(
            endpoint.url,
            endpoint.params,
            endpoint.headers,
            endpoint.basic_auth,
            endpoint.token,
            endpoint.token_name,
            endpoint.cafile,
            **endpoint.kwargs,
        )

    def session(self) -> Any:
        """Return the running loop's shared session (made on first use), left open after each call."""
        loop = asyncio.get_running_loop()
        session = _SESSIONS.get(loop)
        if session is None or session.closed:
            for old in [old for old in _SESSIONS if old.is_closed()]:
                del _SESSIONS[old]  # finished loops (tests, tools): nothing to close them with
            session = _SESSIONS[loop] = aiohttp.ClientSession(
                # No cached name lookups: a restarted action server container may
                # come back at another address (connections are reused anyway).
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS, use_dns_cache=False),
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            )
        return _Open(session)

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        """Rasa's request; once more, on new connections, if the connection fails.

        A kept connection can be dead without this side knowing yet (the action
        server restarted within the 2 s): the first write or read on it fails
        before the action server has read the request. Rasa's one-connection-
        per-call never met that. A second failure (the server is down) is
        raised, and the action falls back as before.
        """
        try:
            return await super().request(*args, **kwargs)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as error:
            logger.debug("Action server connection failed (%s): retrying on a new one", type(error).__name__)
            _renew_session()
            return await super().request(*args, **kwargs)


def _renew_session() -> None:
    """Make the next call open a new session; close the old one once its other calls are done."""
    loop = asyncio.get_running_loop()
    old = _SESSIONS.pop(loop, None)
    if old is not None:
        # Other conversations' calls may still be running on it: close it after the longest one could take.
        loop.call_later(DEFAULT_REQUEST_TIMEOUT + 1, lambda: loop.create_task(old.close()))


async def close_sessions() -> None:
    """Close the running loop's action server session (the server is stopping)."""
    session = _SESSIONS.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()


def _said_this_turn(tracker: "DialogueStateTracker", text: Text) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, BotUttered) and text in (event.text or ""):
            return True
    return False


@functools.lru_cache(maxsize=1)
def _response_validators() -> (
    Tuple["jsonschema.protocols.Validator", Optional[Dict[Text, "jsonschema.protocols.Validator"]]]
):
    """Rasa's schema for action server replies, compiled once, split at its events' ``oneOf``.

    Each event in a reply must match exactly one of Rasa's event schemas
    (``oneOf``), and each of those fixes ``event`` to its own constant, which
    every event must have. So an event is valid exactly when it passes the
    rest of the event schema and the one alternative named by its ``event``.
    jsonschema tries all 23 alternatives on every event instead (0.2-0.7 ms a
    reply). Returns the schema without the ``oneOf`` and the alternatives by
    event name; no alternatives (None) if Rasa's schema is not shaped so.
    """
    full = RemoteAction.action_response_format_spec()
    validator = jsonschema.validators.validator_for(full)
    schema = copy.deepcopy(full)
    try:
        event_schema = schema["properties"]["events"]["items"]
        alternatives = event_schema.pop("oneOf")
        names = [alternative["properties"]["event"]["const"] for alternative in alternatives]
        split = len(set(names)) == len(names) and "event" in event_schema.get("required", [])
    except (KeyError, TypeError):
        split = False
    if not split:
        return validator(full), None
    return validator(schema), {name: validator(alternative) for name, alternative in zip(names, alternatives)}


def _valid_reply(result: Any) -> bool:
    """Whether the reply passes Rasa's action server reply schema."""
    schema, by_event = _response_validators()
    if not schema.is_valid(result):
        return False
    if by_event is None:  # the schema was checked whole
        return True
    for event in result.get("events") or []:
        alternative = by_event.get(event["event"])
        if alternative is None or not alternative.is_valid(event):
            return False
    return True


class RemoteActionWithFallback(RemoteAction):
    """A RemoteAction that answers from the Rasa server when the action server fails."""

    def __init__(self, name: Text, action_endpoint: Optional[EndpointConfig]) -> None:
        super().__init__(name, KeepAliveEndpoint.of(with_token(action_endpoint)))

    def _validate_action_result(self, result: Dict[Text, Any]) -> bool:
        """Validate like Rasa, without re-checking the schema on every call.

        Rasa calls jsonschema.validate(), which checks the schema itself and builds
        a new validator each time: 11% of the Rasa server's busy time under load
        (`make profile`). Same schema, compiled once, each event checked against
        its own event schema only (``_response_validators``); an invalid reply
        gets Rasa's own check, message and exception.
        """
        if _valid_reply(result):
            return True
        return super()._validate_action_result(result)  # Rasa's message and exception

    async def run(
        self,
        output_channel: "OutputChannel",
        nlg: "NaturalLanguageGenerator",
        tracker: "DialogueStateTracker",
        domain: "Domain",
    ) -> List[Event]:
        """Run the action on the action server; fall back if it cannot be reached."""
        try:
            # asyncio.timeout, not wait_for: wait_for runs the call as a separate
            # task, and under load each task hand-over waits its turn behind every
            # other conversation's work (the slowest messages were these).
            async with asyncio.timeout(settings().action_server_timeout):
                return await super().run(output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except Exception as error:  # noqa: BLE001 - every failure gets the fallback
            cause = error.__cause__ or error.__context__ or error  # RasaException wraps the real error
            reason = "timed out" if isinstance(error, asyncio.TimeoutError) else type(cause).__name__
            logger.error(
                "Action server unavailable for '%s' (%s): the Rasa server answered instead",
                self.name(),
                reason,
            )
            return await self.fallback(output_channel, nlg, tracker, domain)

    async def fallback(
        self,
        output_channel: "OutputChannel",
        nlg: "NaturalLanguageGenerator",
        tracker: "DialogueStateTracker",
        domain: "Domain",
    ) -> List[Event]:
        """Return the events the action server could not give: see the module docstring."""
        profile = _profile(tracker)
        if self.name() == ACTION_SESSION_START_NAME:
            if profile:
                notice = await _say(nlg, "utter_notice", tracker, output_channel, clinic_name=profile.name)
            else:
                notice = await _say(nlg, "utter_notice_no_clinic", tracker, output_channel)
            events = await rasa_action.ActionSessionStart().run(output_channel, nlg, tracker, domain)
            known = {s.name for s in domain.slots}
            values = profile.session_slots() if profile else {}
            slots = [SlotSet(name, value) for name, value in values.items() if name in known]
            # Rasa's order: SessionStarted, carried-over slots, then action_listen last.
            return [BotUttered(notice), *events[:-1], *slots, events[-1]]
        if profile:
            contact = profile.contact_text()
        else:
            contact = await _say(nlg, "utter_contact_clinic_directly", tracker, output_channel)
        events: List[Event] = []
        if not _said_this_turn(tracker, contact):
            if self.name() not in NO_SORRY:
                contact = f"{await _say(nlg, 'utter_unavailable', tracker, output_channel)} {contact}"
            events.append(BotUttered(contact))
        if tracker.active_loop_name:
            events += [ActiveLoop(None), SlotSet(REQUESTED_SLOT, None)]
        return events


def install() -> None:
    """Make Rasa use RemoteActionWithFallback for every custom action (idempotent)."""
    rasa_action.RemoteAction = RemoteActionWithFallback
    rasa_forms.RemoteAction = RemoteActionWithFallback
