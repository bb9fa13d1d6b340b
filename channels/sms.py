"""Rasa's Twilio SMS channel, with buttons as numbered choices.

SMS has no buttons: Rasa's Twilio channel would send each button as its own
message showing its payload ("1: Does it hurt? (/faq/does_it_hurt)"). This
channel sends one message with numbered choices and turns a reply of "2" into
the second button's payload, so "Did you mean...?" and the callback offer work
by text message. The clinic of a conversation is the one whose profile lists
the number the patient texted (`sms_numbers`). Turn it on in credentials.yml
(see README, "Messaging channels").
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from sanic import Blueprint
from sanic.request import Request

from server import admission
from server.responses import response_text
from server.settings import settings
from shared.clinic import METADATA_KEY, clinic_profiles

MAX_SENDERS = 10_000  # remembered pending choices (oldest forgotten first)


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


class SmsOutput(TwilioOutput):
    """Twilio output that sends buttons as numbered choices."""

    def __init__(
        self,
        account_sid: Optional[Text],
        auth_token: Optional[Text],
        twilio_number: Optional[Text],
        choices: Choices,
        prompt: Optional[Text] = None,
    ) -> None:
        """Send through Twilio; remember offered choices in `choices`; end numbered choices with `prompt`."""
        super().__init__(account_sid, auth_token, twilio_number)
        self.choices = choices
        self.prompt = prompt

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        """Send one message with numbered choices."""
        self.choices.offer(recipient_id, [b["payload"] for b in buttons])
        await self.send_text_message(recipient_id, numbered(text, buttons, self.prompt))


@lru_cache(maxsize=4)
def clinic_by_number(clinics_dir: str) -> Dict[Text, Text]:
    """Return {texted number: clinic id} from the profiles' `sms_numbers` (read once per process)."""
    return {number: p.id for p in clinic_profiles(clinics_dir).values() for number in p.sms_numbers}


class SmsInput(TwilioInput):
    """Twilio input that understands a number as a choice from the last message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Like Rasa's Twilio channel; errors are logged, never returned as a 500."""
        kwargs.setdefault("debug_mode", False)
        super().__init__(*args, **kwargs)
        self.choices = Choices()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's Twilio webhook, with numbered replies resolved first."""

        on_new_message = admission.gated(on_new_message)  # a few at a time, in order

        async def resolve_then_handle(message: UserMessage) -> Any:
            message.text = self.choices.resolve(message.sender_id, message.text)
            return await on_new_message(message)

        blueprint = super().blueprint(resolve_then_handle)

        @blueprint.listener("after_server_start")
        async def keep_app(app: Any, _: Any) -> None:
            self.app = app  # its model's domain has the prompt after numbered choices

        return blueprint

    def get_metadata(self, request: Request) -> Dict[Text, Any]:
        """Name the clinic whose profile lists the number the patient texted (`To`); none: the default clinic."""
        number = (request.form.get("To") or "").removeprefix("whatsapp:")
        clinic_id = clinic_by_number(settings().clinics_dir).get(number)
        return {METADATA_KEY: clinic_id} if clinic_id else {}

    def get_output_channel(self) -> SmsOutput:
        """Return the numbered-choices output, ending them with domain.yml's prompt."""
        prompt = response_text(getattr(self, "app", None), CHOOSE)
        return SmsOutput(self.account_sid, self.auth_token, self.twilio_number, self.choices, prompt)
