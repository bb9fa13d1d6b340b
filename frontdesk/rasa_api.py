"""Join, reply to and leave a patient's conversation through Rasa's HTTP API (live hand-off).

A person takes a conversation: the assistant says so (``utter_frontdesk_joined``)
and the conversation is paused (Rasa's ``pause`` event: the patient's messages
are still stored, the assistant predicts nothing). A reply is a bot event
carrying ``{"frontdesk": {...}}`` as its custom data, sent to the patient on
the channel they last wrote on (``output_channel=latest``: the widget through
socket.io, SMS through Twilio) and stored in the conversation. Handing back
resumes the conversation and the assistant says so. Needs the Rasa server's
API (``--enable-api``) with RASA_API_TOKEN.
"""

from __future__ import annotations

import uuid
from typing import Any, Dict, List
from urllib.parse import quote

import aiohttp

from actions.config import settings
from shared.person import FRONT_DESK_KEY

JOINED, HANDED_BACK = "utter_frontdesk_joined", "utter_frontdesk_handed_back"
TIMEOUT = aiohttp.ClientTimeout(total=30)


class RasaApiError(Exception):
    """Rasa's HTTP API refused or could not be reached."""


async def _post(path: str, body: Any, **params: str) -> None:
    config = settings()
    url = f"{config.rasa_url}/conversations/{quote(path, safe='/+:@')}"  # Rasa reads ids unquoted: keep + and :
    query = {"token": config.rasa_api_token, **params}
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            async with session.post(url, json=body, params=query) as response:
                if response.status >= 300:
                    raise RasaApiError(f"Rasa answered HTTP {response.status}")
    except aiohttp.ClientError as error:
        raise RasaApiError(f"Rasa cannot be reached ({type(error).__name__})") from None


async def take(sender_id: str) -> None:
    """Tell the patient a person joined, then pause the assistant in this conversation."""
    await _post(f"{sender_id}/execute", {"name": JOINED}, output_channel="latest")
    await _post(f"{sender_id}/tracker/events", [{"event": "pause"}])


def reply_event(text: str, who: str) -> Dict[str, Any]:
    """Return the bot event of a front-desk reply: custom data the channels show as a person's message."""
    message = {"id": uuid.uuid4().hex, "text": text, "from": who}
    return {"event": "bot", "text": None, "data": {"custom": {"data": {FRONT_DESK_KEY: message}}}}


async def reply(sender_id: str, text: str, who: str) -> None:
    """Send a person's reply to the patient on their channel, and keep it in the conversation."""
    events: List[Dict[str, Any]] = [reply_event(text, who)]
    await _post(f"{sender_id}/tracker/events", events, output_channel="latest", execute_side_effects="true")


async def hand_back(sender_id: str) -> None:
    """Resume the assistant in this conversation, tell the patient, and listen as after any reply."""
    await _post(f"{sender_id}/tracker/events", [{"event": "resume"}])
    await _post(f"{sender_id}/execute", {"name": HANDED_BACK}, output_channel="latest")
    # `execute` runs one action and predicts nothing after it: without `action_listen`
    # the patient's next message would not follow a listen, and no rule would match it.
    await _post(f"{sender_id}/tracker/events", [{"event": "action", "name": "action_listen"}])
