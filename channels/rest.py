"""Rasa's REST channel with the request checked first, and no message text in the logs.

Referenced from credentials.yml as ``channels.rest.RestInput``; it keeps the
name ``rest``, so the URL (``POST /webhooks/rest/webhook``), the request
(``{"sender": "...", "message": "..."}``) and the reply (a JSON list of bot
messages) are the same as with Rasa's own ``rest`` channel. Differences from
``rasa.core.channels.rest.RestInput`` (Rasa 3.6.21):

- **A bad request gets a clear 4xx with a JSON ``{"error": ...}``**, never a 500
  or a silent empty reply. Rasa answered 500 to a body that is not a JSON object
  (``[]``, ``"hi"``, ``null``, an empty body), put every request without a
  ``sender`` into one shared conversation called ``default``, and answered
  ``[]`` to a ``message`` that is not a string. Here: a body that is not JSON
  (400), not a JSON object (400), a content type other than JSON (415), a
  missing, empty or non-string ``sender`` (400) or one longer than 255
  characters (400), a missing, non-string or empty/whitespace-only
  ``message`` (400), one longer than ``MAX_MESSAGE_CHARS`` (413), and
  ``metadata`` that is not an object (400), and a ``metadata.clinic_id`` that
  names no clinic of this deployment (400, nothing stored; ``server.clinics``).
- **No message text in the logs.** Rasa's channel logs the whole message at
  ERROR level when handling it fails; here only the error's type is logged.
- **A failure while handling the message is a 503** (``{"error": ...}``, try
  again), not a 200 with an empty list: the message was not stored (for
  example, the tracker store's database is locked), so the client may resend it.

- **A few messages at a time** (``server.admission``): the others wait their
  turn in arrival order, so a busy minute slows every message a little rather
  than some a lot.
- **The garbage collector skips what was loaded at start-up** (``gc.freeze()``
  once the server has started), so its occasional full pass stays short.
- **The kept-alive connections to the action server** (``rasa_patches.action_fallback``)
  are closed once the server has stopped.

The changes to Rasa's own behaviour (the action-server fallback, the graph
runner...) are not installed here: ``python -m rasa_patches`` installs them
for every Rasa command (``rasa_patches/__init__.py``).
"""

from __future__ import annotations

import gc
import json
import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, Optional, Text, Tuple

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_patches import action_fallback
from server import admission
from server.clinics import clinic_error

logger = logging.getLogger(__name__)

# A patient's question fits in a few sentences; a longer message costs the
# NLU pipeline seconds of CPU (6 s for 50,000 characters) that every other
# conversation waits for.
MAX_MESSAGE_CHARS = 5000
MAX_SENDER_CHARS = 255  # the sender_id column of Rasa's SQL tracker store


class BadRequest(Exception):
    """A request the channel refuses, with its HTTP status."""

    def __init__(self, status: int, error: Text) -> None:
        super().__init__(error)
        self.status, self.error = status, error


def _is_json(content_type: Text) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def parse_request(request: Request) -> Tuple[Text, Text, Optional[Dict[Text, Any]], Optional[Text]]:
    """Return (sender, message, metadata, input channel), or raise BadRequest."""
    if not _is_json(request.headers.get("content-type", "")):
        raise BadRequest(415, "send JSON with 'Content-Type: application/json'")
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(400, "the body is not valid JSON")
    if not isinstance(body, dict):
        raise BadRequest(400, "the body must be a JSON object with 'sender' and 'message'")
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        raise BadRequest(400, "'sender' must be a non-empty string (one per conversation)")
    if len(sender) > MAX_SENDER_CHARS:
        raise BadRequest(400, f"'sender' must be at most {MAX_SENDER_CHARS} characters")
    message = body.get("message")
    if not isinstance(message, str):
        raise BadRequest(400, "'message' must be a string")
    if not message.strip():
        raise BadRequest(400, "'message' is empty")
    if len(message) > MAX_MESSAGE_CHARS:
        raise BadRequest(413, f"'message' is longer than {MAX_MESSAGE_CHARS} characters; please ask in a few sentences")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest(400, "'metadata' must be a JSON object")
    input_channel = body.get("input_channel")
    if input_channel is not None and not isinstance(input_channel, str):
        raise BadRequest(400, "'input_channel' must be a string")
    unknown = clinic_error(metadata)
    if unknown:
        raise BadRequest(400, unknown)
    return sender, message, metadata, input_channel


class RestInput(RasaRestInput):
    """REST input channel that refuses bad requests with a clear 4xx."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        """Return a blueprint with the same routes as Rasa's REST channel: GET / and POST /webhook."""
        on_new_message = admission.gated(on_new_message)  # a few at a time, in order
        webhook = Blueprint("custom_webhook_RestInput", __name__)

        @webhook.listener("after_server_start")
        async def freeze_startup_objects(*_: Any) -> None:
            # Rasa, TensorFlow, spaCy and the model are loaded now and live as long
            # as the process: take their millions of objects out of the garbage
            # collector's full passes, each of which took 225-283 ms here and
            # stalls every conversation (docs/performance.md).
            gc.collect()  # free start-up garbage first: frozen cycles are never freed
            gc.freeze()

        @webhook.listener("after_server_stop")  # after the in-flight requests finished
        async def close_action_server_session(*_: Any) -> None:
            await action_fallback.close_sessions()  # the kept-alive connections to the action server

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                sender, text, metadata, input_channel = parse_request(request)
            except BadRequest as bad:
                return response.json({"error": bad.error}, status=bad.status)
            input_channel = input_channel or self.name()
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, text, sender, input_channel, metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(text, collector, sender, input_channel=input_channel, metadata=metadata)
                )
            except CancelledError:
                logger.error("REST: handling a message timed out")
                return response.json({"error": "the assistant took too long; please try again"}, status=503)
            except Exception as error:  # the message was not stored: say so, log no text
                logger.error("REST: could not handle a message: %s", type(error).__name__)
                return response.json(
                    {"error": "the assistant is unavailable just now; please try again or contact the clinic"},
                    status=503,
                )
            return response.json(collector.messages)

        return webhook
