"""Twilio SMS and WhatsApp: signed requests only, answered at once, replies through Twilio's API.

Differences from Rasa's Twilio channel (``rasa.core.channels.twilio``, 3.6.21):

- **Every request must be signed by Twilio** (``X-Twilio-Signature``, checked
  against the auth token with the twilio package's ``RequestValidator`` over
  the URL Twilio called, ``webhook_url`` behind a proxy): a missing or wrong
  signature gets 403, and nothing is stored or sent. Rasa's channel accepted
  any POST and texted its ``From`` number at the clinic's cost.
- **Twilio is answered at once** (empty TwiML, 200) and the message handled
  afterwards; the replies go out through Twilio's Messages API (``api_url``,
  default https://api.twilio.com), with aiohttp, retried on a failed
  connection, 429 or 5xx. A slow turn can no longer outlive Twilio's 15 s
  webhook timeout and be lost, and no blocking HTTP client runs in the server's
  event loop.
- **WhatsApp** through the same channel: a patient writing from
  ``whatsapp:+1...`` is answered from ``whatsapp:`` + the clinic's number.
- **Buttons become numbered choices** in one message; a reply of "2" is
  turned into the second button's payload, so "Did you mean...?" and the
  callback offer work by text message.
- **The clinic** of a conversation is the one whose profile lists the number
  the patient texted (``sms_numbers``).

Turn it on in credentials.yml (see README, "Messaging channels").
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from functools import lru_cache
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text

import aiohttp
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.twilio import TwilioInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from server import admission
from server.responses import response_text
from server.settings import settings
from shared.clinic import METADATA_KEY, clinic_profiles
from shared.person import FRONT_DESK_KEY

logger = logging.getLogger(__name__)

MAX_SENDERS = 10_000  # remembered pending choices (oldest forgotten first)
TWILIO_API_URL = "https://api.twilio.com"
WHATSAPP = "whatsapp:"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SEND_ATTEMPTS = 3
SEND_TIMEOUT = 15.0  # seconds for one request to Twilio's API
RETRY_SECONDS = 1.0


class Choices:
    """The numbered choices last offered to each sender (in memory, bounded)."""

    def __init__(self, limit: int = MAX_SENDERS) -> None:
        """Remember up to `limit` senders' choices."""
        self._by_sender: "OrderedDict[Text, List[Text]]" = OrderedDict()
        self._limit = limit

    def offer(self, sender: Text, payloads: List[Text]) -> None:
        """Remember what the numbers mean for this sender."""
        self._by_sender.pop(sender, None)
        self._by_sender[sender] = payloads
        while len(self._by_sender) > self._limit:
            self._by_sender.popitem(last=False)

    def resolve(self, sender: Text, text: Optional[Text]) -> Optional[Text]:
        """Turn "2" into the second payload offered; anything else stays as it is."""
        payloads = self._by_sender.pop(sender, None)
        reply = (text or "").strip().rstrip(".")
        if payloads and reply.isdigit() and 1 <= int(reply) <= len(payloads):
            return payloads[int(reply) - 1]
        return text


# The response said after numbered choices ("Reply with a number.").
CHOOSE = "utter_sms_choose_by_number"


def numbered(text: Text, buttons: List[Dict[Text, Any]], prompt: Optional[Text] = None) -> Text:
    """Word a message with buttons as one SMS with numbered choices, then the prompt (if any)."""
    lines = [text.strip()] + [f"{i}. {b['title']}" for i, b in enumerate(buttons, 1)]
    return "\n".join(lines + ([prompt] if prompt else []))


class SmsOutput(OutputChannel):
    """Send replies through Twilio's Messages API (async, retried), buttons as numbered choices."""

    @classmethod
    def name(cls) -> Text:
        """Return the channel's name (Rasa's Twilio channel's)."""
        return "twilio"

    def __init__(
        self,
        account_sid: Optional[Text],
        auth_token: Optional[Text],
        twilio_number: Optional[Text],
        choices: Choices,
        prompt: Optional[Text] = None,
        api_url: Text = TWILIO_API_URL,
    ) -> None:
        """Send from `twilio_number` with the account's credentials; remember offered choices in `choices`."""
        self.account_sid, self.auth_token, self.twilio_number = account_sid, auth_token, twilio_number
        self.choices = choices
        self.prompt = prompt
        self.api_url = api_url.rstrip("/")

    def sender_for(self, recipient_id: Text) -> Text:
        """Return the `From` of a reply: the clinic's number, on WhatsApp when the patient wrote on WhatsApp."""
        number = (self.twilio_number or "").removeprefix(WHATSAPP)
        return WHATSAPP + number if recipient_id.startswith(WHATSAPP) else number

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """Send each paragraph as one message, in order."""
        for part in text.strip().split("\n\n"):
            await self._send({"To": recipient_id, "From": self.sender_for(recipient_id), "Body": part})

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """Send a person's reply (live hand-off) as text with who wrote it; ignore any other custom data."""
        person = (json_message.get("data") or {}).get(FRONT_DESK_KEY) if isinstance(json_message, dict) else None
        if isinstance(person, dict) and person.get("text"):
            await self.send_text_message(recipient_id, f"{person.get('from') or 'The clinic team'}: {person['text']}")

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        """Send one message with numbered choices."""
        self.choices.offer(recipient_id, [b["payload"] for b in buttons])
        await self.send_text_message(recipient_id, numbered(text, buttons, self.prompt))

    async def _send(self, form: Dict[Text, Text]) -> None:
        """POST one message to Twilio; retry a failed connection or a 5xx/429, give up on any other 4xx."""
        url = f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        auth = aiohttp.BasicAuth(self.account_sid or "", self.auth_token or "")
        for attempt in range(SEND_ATTEMPTS):
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT)) as session:
                    async with session.post(url, data=form, auth=auth) as response:
                        if response.status < 300:
                            return
                        if response.status != 429 and response.status < 500:
                            logger.error("SMS: Twilio refused a message (HTTP %s)", response.status)
                            return
                        reason = f"HTTP {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                reason = type(error).__name__
            await asyncio.sleep(RETRY_SECONDS * (attempt + 1))
        logger.error("SMS: could not send a message to Twilio after %d attempts (%s)", SEND_ATTEMPTS, reason)


@lru_cache(maxsize=4)
def clinic_by_number(clinics_dir: str) -> Dict[Text, Text]:
    """Return {texted number: clinic id} from the profiles' `sms_numbers` (read once per process)."""
    return {number: p.id for p in clinic_profiles(clinics_dir).values() for number in p.sms_numbers}


class SmsInput(TwilioInput):
    """Twilio's webhook: signed requests only, answered at once; the reply goes out through Twilio's API."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "SmsInput":
        """Read account_sid, auth_token, twilio_number and the optional webhook_url and api_url."""
        credentials = credentials or {}
        return cls(
            credentials.get("account_sid"),
            credentials.get("auth_token"),
            credentials.get("twilio_number"),
            webhook_url=credentials.get("webhook_url") or None,
            api_url=credentials.get("api_url") or TWILIO_API_URL,
        )

    def __init__(
        self,
        account_sid: Optional[Text],
        auth_token: Optional[Text],
        twilio_number: Optional[Text],
        webhook_url: Optional[Text] = None,
        api_url: Text = TWILIO_API_URL,
    ) -> None:
        """Check requests with the auth token; `webhook_url` is the public URL Twilio calls (behind a proxy)."""
        super().__init__(account_sid, auth_token, twilio_number, debug_mode=False)
        self.webhook_url = webhook_url
        self.api_url = api_url
        self.choices = Choices()
        self.tasks: Set[asyncio.Task] = set()

    def signed(self, request: Request) -> bool:
        """Tell whether the request carries Twilio's signature of its URL and form, made with our auth token."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not (signature and self.auth_token):
            return False
        params = {key: request.form.get(key) for key in request.form}
        return RequestValidator(self.auth_token).validate(self.webhook_url or request.url, params, signature)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Return the webhook: 403 unless signed, else an empty answer at once and the message handled after."""
        on_new_message = admission.gated(on_new_message)  # a few at a time, in order
        webhook = Blueprint("twilio_webhook", __name__)

        @webhook.listener("after_server_start")
        async def keep_app(app: Any, _: Any) -> None:
            self.app = app  # its model's domain has the prompt after numbered choices

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.signed(request):
                logger.warning("SMS: refused a request without a valid Twilio signature")
                return response.text("invalid signature", status=403)
            sender, text = request.form.get("From"), request.form.get("Body")
            if sender and text is not None:
                message = UserMessage(
                    self.choices.resolve(sender, text.replace("¡", "@")),  # "@" gets corrupted by some carriers
                    self.get_output_channel(),
                    sender,
                    input_channel=self.name(),
                    metadata=self.get_metadata(request),
                )
                task = asyncio.create_task(self._handle(on_new_message, message))
                self.tasks.add(task)  # kept until done, so it is not garbage-collected
                task.add_done_callback(self.tasks.discard)
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return webhook

    @staticmethod
    async def _handle(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage) -> None:
        """Handle one message after Twilio was answered; log a failure without the patient's text."""
        try:
            await on_new_message(message)
        except Exception as error:  # noqa: BLE001 - logged; the webhook already answered
            logger.error("SMS: could not handle a message: %s", type(error).__name__)

    def get_metadata(self, request: Request) -> Dict[Text, Any]:
        """Name the clinic whose profile lists the number the patient texted (`To`); none: the default clinic."""
        number = (request.form.get("To") or "").removeprefix("whatsapp:")
        clinic_id = clinic_by_number(settings().clinics_dir).get(number)
        return {METADATA_KEY: clinic_id} if clinic_id else {}

    def get_output_channel(self) -> SmsOutput:
        """Return the Twilio API output, ending numbered choices with domain.yml's prompt."""
        prompt = response_text(getattr(self, "app", None), CHOOSE)
        return SmsOutput(self.account_sid, self.auth_token, self.twilio_number, self.choices, prompt, self.api_url)
