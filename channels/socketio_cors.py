"""Rasa's socket.io channel, fixed for this server and limited to allowed origins.

Referenced from credentials.yml as ``channels.socketio_cors.SocketIOCorsInput``;
it takes the same options as Rasa's ``socketio`` channel and keeps its name, so
the events and payloads are unchanged for clients. Three differences from
``rasa.core.channels.socketio.SocketIOInput`` (Rasa 3.6.21):

1. **Allowed origins.** Rasa creates the socket.io server with
   ``cors_allowed_origins=[]``, which switches python-engineio's origin check
   off and leaves CORS to Sanic (``rasa run --cors``). Browsers apply CORS to
   HTTP responses only, so that never refused a connection from another site.
   Here a connection whose ``Origin`` header is not in ``CORS_ORIGINS`` (comma
   or space separated; default ``http://localhost:8080``) is refused. Clients
   that send no ``Origin`` (not a browser: scripts, tests) are let in, as
   python-engineio does. ``*`` is not special: it matches no origin.
2. **Replies reach the browser.** With ``session_persistence: true`` Rasa calls
   ``sio.enter_room(...)`` without ``await``; in python-socketio 5.x that is a
   coroutine, so the socket never joined its session's room and every bot
   message was sent to an empty room (a ``coroutine ... was never awaited``
   warning in the log and no reply in the browser). Here it is awaited.
3. **Long-polling only.** Sanic 21.12's WebSocket code fails on Python 3.11
   ("Passing coroutines is forbidden"), so an upgrade to WebSocket breaks the
   connection. The server offers only the HTTP long-polling transport, which
   every socket.io client supports.

A message whose ``metadata.clinic_id`` names no clinic of this deployment is
not handled: the socket gets a ``clinic_error`` event, which the widget shows.
When a widget (re)joins its session it lists the front desk's messages it has
shown (``frontdesk_seen``); any other one in the conversation (a person's reply
written while the page was closed) is sent to it then.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import rasa.core.channels.channel
import rasa.shared.utils.io
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError

from channels.rest import MAX_MESSAGE_CHARS
from server import admission
from server.clinics import CLINIC_ERROR_EVENT, clinic_error
from server.responses import response_text
from server.settings import settings
from shared.person import FRONT_DESK_KEY, front_desk_message

logger = logging.getLogger(__name__)
MAX_SEEN = 200  # front-desk message ids a widget may say it has shown
# The response said to a message longer than MAX_MESSAGE_CHARS (REST answers 413).
TOO_LONG = "utter_message_too_long"


def allowed_origins(value: Optional[str] = None) -> List[str]:
    """Return the origins allowed to connect: CORS_ORIGINS, comma or space separated."""
    if value is None:
        value = settings().cors_origins
    return [origin.rstrip("/") for origin in re.split(r"[\s,]+", value) if origin]


def origin_allowed(origin: Optional[str], allowed: List[str]) -> bool:
    """Tell whether the origin may connect: a browser's must be listed; a client without one is not a browser."""
    if not origin:
        return True
    return origin.rstrip("/") in allowed


class SocketIOCorsInput(SocketIOInput):
    """socket.io input channel: origin check, working rooms, long-polling only."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Return the Sanic blueprint serving socket.io at ``socketio_path``."""
        on_new_message = admission.gated(on_new_message)  # a few at a time, in order
        origins = allowed_origins()
        if "*" in origins:
            logger.warning("CORS_ORIGINS contains '*': it matches no origin here.")
        logger.info(f"socket.io: allowed browser origins {origins}")

        # CORS headers for the polling requests still come from Sanic
        # (`rasa run --cors`); python-engineio's own CORS handling stays off
        # (cors_allowed_origins=[]) so the headers are not sent twice.
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=[],
            transports=["polling"],
            allow_upgrades=False,
        )
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio

        @socketio_webhook.listener("after_server_start")
        async def keep_app(app: Any, _: Any) -> None:
            self.app = app  # its model's domain has the reply to a message too long

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict]) -> bool:
            origin = environ.get("HTTP_ORIGIN")
            if not origin_allowed(origin, origins):
                logger.warning(f"socket.io: refused a connection from origin {origin}")
                raise ConnectionRefusedError(f"origin {origin} is not allowed")
            if self.jwt_key:
                jwt_payload = None
                if auth and auth.get("token"):
                    jwt_payload = rasa.core.channels.channel.decode_bearer_token(
                        auth.get("token"), self.jwt_key, self.jwt_algorithm
                    )
                if not jwt_payload:
                    return False
            logger.debug(f"User {sid} connected to socketIO endpoint.")
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: Text) -> None:
            logger.debug(f"User {sid} disconnected from socketIO endpoint.")

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            if not isinstance(data, dict):
                data = {}
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, data["session_id"], namespace=self.namespace)
            await sio.emit("session_confirm", data["session_id"], room=sid, namespace=self.namespace)
            logger.debug(f"User {sid} joined session {data['session_id']}.")
            seen = data.get("frontdesk_seen")
            await self._send_missed(sid, data["session_id"], seen if isinstance(seen, list) else [])

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Dict) -> None:
            output_channel = SocketIOOutput(sio, self.bot_message_evt)
            if not isinstance(data, dict):
                return

            if self.session_persistence:
                if not data.get("session_id"):
                    rasa.shared.utils.io.raise_warning(
                        "A message without a valid session_id was received. This "
                        "message will be ignored. Make sure to set a proper session "
                        "id using the `session_request` socketIO event."
                    )
                    return
                sender_id = data["session_id"]
            else:
                sender_id = sid

            # Bad input (channels/rest.py has the same limits): text only, not too long.
            text = data.get("message", "")
            if not isinstance(text, str):
                logger.warning("socket.io: ignored a message that is not text")
                return
            if len(text) > MAX_MESSAGE_CHARS:
                reply = response_text(getattr(self, "app", None), TOO_LONG)
                if reply:
                    await output_channel.send_text_message(sender_id, reply)
                return
            metadata = data.get(self.metadata_key, {})
            if isinstance(metadata, Text):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            unknown = clinic_error(metadata)
            if unknown:  # shown by the widget to the web person; nothing is stored
                logger.warning("socket.io: refused a message: %s", unknown)
                await sio.emit(CLINIC_ERROR_EVENT, {"error": unknown}, room=sid, namespace=self.namespace)
                return
            message = UserMessage(
                text,
                output_channel,
                sender_id,
                input_channel=self.name(),
                metadata=metadata,
            )
            await on_new_message(message)

        return socketio_webhook

    async def _send_missed(self, sid: Text, session_id: Text, seen: List[Any]) -> None:
        """Send the front desk's messages the widget has not shown (written while the page was closed)."""
        agent = getattr(getattr(getattr(self, "app", None), "ctx", None), "agent", None)
        if agent is None or agent.tracker_store is None or self.sio is None:
            return
        try:
            tracker = await agent.tracker_store.retrieve(session_id)
        except Exception as error:  # noqa: BLE001 - a missed message is shown next time; the chat goes on
            logger.error("socket.io: could not read a conversation's front-desk messages: %s", type(error).__name__)
            return
        shown = {str(item) for item in seen[:MAX_SEEN]}
        for event in tracker.events if tracker else []:
            message = front_desk_message(event.as_dict()) if isinstance(event, BotUttered) else None
            if message and message.get("id") not in shown:
                await self.sio.emit(self.bot_message_evt, {FRONT_DESK_KEY: message}, room=sid, namespace=self.namespace)
