"""The SMS channel without a server: numbered choices, replies through (a fake of) Twilio's API, the credentials."""

from __future__ import annotations

import asyncio

import pytest
import yaml

from channels.sms import Choices, SmsInput, SmsOutput, numbered
from tests.fake_twilio import FakeTwilio

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


def test_output_sends_one_sms_without_payloads():
    with FakeTwilio() as twilio:
        output = SmsOutput("AC123", "token", "+15875550100", Choices(), api_url=twilio.url)
        asyncio.run(output.send_text_with_buttons("+14035550123", "Did you mean one of these?", BUTTONS))
    [request] = twilio.requests
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json" and request["auth"] == "AC123:token"
    sms = request["form"]
    assert sms["To"] == "+14035550123" and sms["From"] == "+15875550100"
    assert "1. Does it hurt?" in sms["Body"] and "/faq/" not in sms["Body"]


def test_output_retries_when_twilio_fails_for_a_moment():
    with FakeTwilio(fail_first=1) as twilio:
        output = SmsOutput("AC123", "token", "+15875550100", Choices(), api_url=twilio.url)
        asyncio.run(output.send_text_message("+14035550123", "Hello."))
    assert [r["form"]["Body"] for r in twilio.requests] == ["Hello.", "Hello."]  # a 503, then sent


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
    assert "channels.sms.SmsInput:" in block
    # Unquoted: Rasa substitutes environment variables only in unquoted values.
    assert {"account_sid: ${TWILIO_ACCOUNT_SID}", "auth_token: ${TWILIO_AUTH_TOKEN}"} <= {b.strip() for b in block}


def test_credentials_are_substituted_from_the_environment_by_rasas_own_loader(tmp_path, monkeypatch):
    # The documented block, uncommented, read as `rasa run` reads credentials.yml.
    from rasa.shared.utils.io import read_config_file

    text = open("credentials.yml", encoding="utf-8").read()
    block = [line[2:] for line in text.splitlines() if line.startswith("# channels.sms") or line.startswith("#   ")]
    path = tmp_path / "credentials.yml"
    path.write_text("\n".join(block) + "\n", encoding="utf-8")
    values = {
        "TWILIO_ACCOUNT_SID": "AC0123456789",
        "TWILIO_AUTH_TOKEN": "s3cret",
        "TWILIO_NUMBER": "+15875550100",
        "TWILIO_WEBHOOK_URL": "https://assistant.example-clinic.ca/webhooks/twilio/webhook",
        "TWILIO_API_URL": "https://api.twilio.com",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    credentials = read_config_file(str(path))["channels.sms.SmsInput"]
    assert credentials == {
        "account_sid": "AC0123456789",
        "auth_token": "s3cret",
        "twilio_number": "+15875550100",
        "webhook_url": "https://assistant.example-clinic.ca/webhooks/twilio/webhook",
        "api_url": "https://api.twilio.com",
    }
    channel = SmsInput.from_credentials(credentials)
    assert (channel.account_sid, channel.auth_token, channel.webhook_url) == (
        "AC0123456789",
        "s3cret",
        "https://assistant.example-clinic.ca/webhooks/twilio/webhook",
    )
