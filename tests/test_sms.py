"""The SMS channel: buttons become numbered choices, and a number picks one."""

from __future__ import annotations

import asyncio

import pytest
import yaml
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.twilio import TwilioInput
from sanic import Blueprint

from channels.sms import Choices, SmsInput, SmsOutput, numbered

BUTTONS = [
    {"title": "Does it hurt?", "payload": "/faq/does_it_hurt"},
    {"title": "Aftercare and soreness", "payload": "/faq/aftercare"},
    {"title": "Something else", "payload": "/something_else"},
]


def test_buttons_become_one_message_with_numbered_choices(domain):
    prompt = domain["responses"]["utter_sms_choose_by_number"][0]["text"]
    assert numbered("Did you mean one of these?", BUTTONS, prompt) == (
        "Did you mean one of these?\n1. Does it hurt?\n2. Aftercare and soreness\n"
        "3. Something else\nReply with a number."
    )


def test_the_channel_ends_numbered_choices_with_the_loaded_domains_prompt():
    # The prompt comes from the model the Rasa server loaded (its domain.yml response).
    from types import SimpleNamespace

    domain = SimpleNamespace(responses={"utter_sms_choose_by_number": [{"text": "Reply with a number."}]})
    channel = SmsInput("AC123", "token", "+15875550100")
    channel.app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(domain=domain)))
    assert channel.get_output_channel().prompt == "Reply with a number."
    assert SmsInput("AC123", "token", "+15875550100").get_output_channel().prompt is None  # no model yet


def test_output_sends_one_sms_without_payloads(monkeypatch):
    sent = []
    output = SmsOutput("AC123", "token", "+15875550100", Choices())

    async def capture(data):
        sent.append(dict(data))

    monkeypatch.setattr(output, "_send_message", capture)
    asyncio.run(output.send_text_with_buttons("+14035550123", "Did you mean one of these?", BUTTONS))
    [sms] = sent
    assert sms["to"] == "+14035550123" and sms["from_"] == "+15875550100"
    assert "1. Does it hurt?" in sms["body"] and "/faq/" not in sms["body"]


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("2", "/faq/aftercare"),  # a number picks that choice
        (" 3. ", "/something_else"),  # spaces and a full stop are fine
        ("4", "4"),  # out of range: left as typed
        ("does it hurt", "does it hurt"),  # words: left as typed
    ],
)
def test_a_number_reply_picks_the_choice(reply, expected):
    choices = Choices()
    choices.offer("+14035550123", [b["payload"] for b in BUTTONS])
    assert choices.resolve("+14035550123", reply) == expected
    # A choice is used once; the next "2" is just text.
    assert choices.resolve("+14035550123", "2") == "2"


def test_choices_are_per_sender_and_bounded():
    choices = Choices(limit=2)
    for sender in ("a", "b", "c"):
        choices.offer(sender, ["/x", "/y"])
    assert choices.resolve("a", "1") == "1"  # the oldest was forgotten
    assert choices.resolve("c", "2") == "/y"


def test_input_resolves_numbers_before_rasa_sees_them(monkeypatch):
    captured = {}

    # Rasa's Twilio webhook calls the handler it is given for each SMS: capture it.
    def capture(self, handler):
        captured["handler"] = handler
        return Blueprint("captured")

    monkeypatch.setattr(TwilioInput, "blueprint", capture)
    channel = SmsInput("AC123", "token", "+15875550100")
    channel.choices.offer("+14035550123", ["/affirm", "/deny"])
    seen = []

    async def handle(message):
        seen.append(message.text)

    channel.blueprint(handle)
    asyncio.run(captured["handler"](UserMessage("1", None, "+14035550123")))
    asyncio.run(captured["handler"](UserMessage("how much is it", None, "+14035550123")))
    assert seen == ["/affirm", "how much is it"]


def test_sms_channel_is_off_by_default_and_documented_in_credentials():
    text = open("credentials.yml", encoding="utf-8").read()
    active = set(yaml.safe_load(text))
    assert any("rest" in name.lower() for name in active)
    assert not any("sms" in name.lower() or "twilio" in name.lower() for name in active)
    block = [
        line[2:]
        for line in text.splitlines()
        if line.startswith("# ") and ("channels.sms" in line or line.startswith("#   "))
    ]
    enabled = yaml.safe_load("\n".join(block))
    assert enabled["channels.sms.SmsInput"] == {
        "account_sid": "${TWILIO_ACCOUNT_SID}",
        "auth_token": "${TWILIO_AUTH_TOKEN}",
        "twilio_number": "${TWILIO_NUMBER}",
    }
