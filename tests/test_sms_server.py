"""SMS and WhatsApp through the real Rasa and action servers, with a local fake of Twilio's API.

The credentials file is the documented block of credentials.yml (unquoted
`${VAR}`s, substituted by Rasa from the server's environment). Each test sends
what Twilio would send, signed (or not) with the auth token, and checks the
exact requests the channel then sent to the fake Twilio API.
"""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from urllib.parse import quote

import pytest
import requests
from twilio.request_validator import RequestValidator

from tests.fake_twilio import FakeTwilio
from tests.servers import ROOT, action_server, free_port, rasa_server, three_clinics

pytestmark = pytest.mark.model

FIXTURES = ROOT / "tests" / "fixtures"
SID, TOKEN = "AC-fake-account-for-tests", "test-auth-token"
API_TOKEN, DESK_TOKEN = uuid.uuid4().hex, "riverbend-desk-token"
CLINIC_NUMBER = "+15875550100"  # Riverbend's number in this test's profile
TRANSCRIPT = ROOT / "var" / "sms-transcript.md"


@pytest.fixture(scope="module")
def sms(tmp_path_factory):
    """Start the fake Twilio, the action server and Rasa with the SMS channel; yield (rasa, twilio, tracker db)."""
    folder = tmp_path_factory.mktemp("sms")
    clinics = three_clinics(folder, sms_numbers=[CLINIC_NUMBER])
    text = (ROOT / "credentials.yml").read_text(encoding="utf-8")
    block = [line[2:] for line in text.splitlines() if line.startswith(("# channels.sms", "#   "))]
    block = [line for line in block if "webhook_url" not in line]  # optional: the URL as called here
    credentials = folder / "credentials.yml"
    credentials.write_text("channels.rest.RestInput:\n" + "\n".join(block) + "\n", encoding="utf-8")
    with FakeTwilio() as twilio:
        rasa_port = free_port()
        env = {
            "RASA_URL": f"http://127.0.0.1:{rasa_port}",
            "RASA_API_TOKEN": API_TOKEN,
            "FRONTDESK_TOKEN_RIVERBEND_PHYSIO": DESK_TOKEN,
            "TRACKER_DB": str(folder / "tracker.db"),
            **clinics,
            "CALLBACK_DB_URL": f"sqlite:///{folder / 'callbacks.db'}",
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_NUMBER": CLINIC_NUMBER,
            "TWILIO_API_URL": twilio.url,
        }
        actions = action_server(folder, env=env).start()
        api = ["--enable-api", "--auth-token", API_TOKEN]
        rasa = rasa_server(
            folder, actions.url, folder / "tracker.db", env=env, credentials=credentials, extra=api, port=rasa_port
        ).start()
        TRANSCRIPT.parent.mkdir(exist_ok=True)
        TRANSCRIPT.write_text("# SMS through the fake Twilio API\n", encoding="utf-8")
        yield rasa, twilio, folder / "tracker.db", actions
        rasa.stop()
        actions.stop()


def post(rasa, form, signature=None, sign=True):
    """POST what Twilio would send; signed with the auth token unless told otherwise."""
    url = f"{rasa.url}/webhooks/twilio/webhook"
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = signature or RequestValidator(TOKEN).compute_signature(url, form)
    return requests.post(url, data=form, headers=headers, timeout=30)


def twilio_form(sender, body, to=CLINIC_NUMBER):
    return {"From": sender, "To": to, "Body": body, "AccountSid": SID, "MessageSid": f"SM{uuid.uuid4().hex}"}


def note(lines):
    with TRANSCRIPT.open("a", encoding="utf-8") as out:
        out.write("\n" + "\n".join(lines) + "\n")


def stored(tracker_db, sender):
    with sqlite3.connect(tracker_db) as db:
        return db.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0]


def test_a_signed_sms_is_answered_at_once_and_the_reply_sent_through_twilios_api(sms):
    rasa, twilio, _, _ = sms
    patient = "+14035550123"
    started = time.monotonic()
    response = post(rasa, twilio_form(patient, "how long is a session?"))
    answered_in = time.monotonic() - started
    assert response.status_code == 200 and "<Response>" in response.text  # empty TwiML: nothing sent inline
    [notice, answer] = twilio.wait_for(patient, 2)
    for message in (notice, answer):
        assert message["From"] == CLINIC_NUMBER and message["To"] == patient
    # The clinic is the one whose profile lists the number texted: Riverbend, with its own answer.
    assert "Riverbend Physiotherapy (fictional)" in notice["Body"]
    assert answer["Body"].startswith("A visit at Riverbend takes about 30 minutes.")
    assert all(
        r["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json" and r["auth"] == f"{SID}:{TOKEN}"
        for r in twilio.requests
    )
    note(
        [
            f"Patient {patient} texts {CLINIC_NUMBER}: how long is a session? -> HTTP 200 in {answered_in:.2f} s",
            *[f"  Twilio API POST From={m['From']} To={m['To']}: {m['Body']}" for m in (notice, answer)],
        ]
    )


def test_numbered_choices_by_sms(sms):
    rasa, twilio, _, _ = sms
    patient = "+14035550124"
    post(rasa, twilio_form(patient, "is the thingy with the pokes ok"))
    sent = twilio.wait_for(patient, 2)
    assert "1. " in sent[-1]["Body"] and "Reply with a number." in sent[-1]["Body"] and "/faq/" not in sent[-1]["Body"]
    post(rasa, twilio_form(patient, "1"))
    after = twilio.wait_for(patient, len(sent) + 1)
    assert len(after) > len(sent) and "1. " not in after[-1]["Body"]  # the first choice's answer
    note(
        [
            f"Patient {patient}: is the thingy with the pokes ok",
            f"  -> {sent[-1]['Body']!r}",
            "Patient: 1",
            f"  -> {after[-1]['Body']!r}",
        ]
    )


@pytest.mark.parametrize(
    "signature, sign",
    [
        (None, False),  # no X-Twilio-Signature at all
        ("bm90IGEgc2lnbmF0dXJl", True),  # a signature that is not Twilio's
    ],
)
def test_a_forged_request_is_refused_and_nothing_is_sent_or_stored(sms, signature, sign):
    rasa, twilio, tracker_db, _ = sms
    victim = f"+1403555{uuid.uuid4().int % 10000:04d}"
    before = len(twilio.requests)
    response = post(rasa, twilio_form(victim, "what is dry needling?"), signature=signature, sign=sign)
    assert response.status_code == 403
    time.sleep(2)
    assert len(twilio.requests) == before and twilio.messages(victim) == []
    assert stored(tracker_db, victim) == 0
    note(
        [
            f"Forged request ({'wrong signature' if sign else 'no signature'}) 'from' {victim} -> HTTP 403; "
            "nothing sent to Twilio, nothing stored"
        ]
    )


def test_a_request_signed_for_another_body_is_refused(sms):
    rasa, twilio, _, _ = sms
    form = twilio_form("+14035550125", "hello")
    url = f"{rasa.url}/webhooks/twilio/webhook"
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    tampered = {**form, "From": "+14035550999"}
    assert post(rasa, tampered, signature=signature).status_code == 403


def test_whatsapp_goes_through_the_same_channel(sms):
    rasa, twilio, _, _ = sms
    patient = "whatsapp:+14035550126"
    assert post(rasa, twilio_form(patient, "does it hurt?", to=f"whatsapp:{CLINIC_NUMBER}")).status_code == 200
    [notice, answer] = twilio.wait_for(patient, 2)
    assert notice["From"] == answer["From"] == f"whatsapp:{CLINIC_NUMBER}"
    assert answer["Body"].startswith("Most patients feel only a small prick")
    note(
        [
            f"WhatsApp {patient}: does it hurt?",
            *[f"  Twilio API POST From={m['From']} To={m['To']}: {m['Body']}" for m in (notice, answer)],
        ]
    )


def test_a_person_joins_an_sms_conversation_and_replies_by_sms(sms):
    rasa, twilio, _, actions = sms
    patient = "+14035550127"
    post(rasa, twilio_form(patient, "can I talk to a real person?"))
    sent = twilio.wait_for(patient, 3)
    assert "I've asked the team at Riverbend" in sent[-1]["Body"]
    inbox = requests.Session()
    page = inbox.post(
        f"{actions.url}/frontdesk/inbox/sign-in", data={"clinic": "riverbend_physio", "password": DESK_TOKEN}
    )
    assert quote(patient, safe="") in page.text  # waiting in Riverbend's inbox
    token = re.search(r"name='csrf' value='([^']+)'", page.text).group(1)
    url = f"{actions.url}/frontdesk/inbox/conversations/{quote(patient, safe='')}"
    assert inbox.post(f"{url}/take", data={"csrf": token}).ok
    joined = twilio.wait_for(patient, len(sent) + 1)[-1]
    assert "has joined this chat" in joined["Body"]
    assert inbox.post(f"{url}/reply", data={"csrf": token, "text": "Hi, Riverbend here."}).ok
    reply = twilio.wait_for(patient, len(sent) + 2)[-1]
    body = "Riverbend Physiotherapy (fictional) team: Hi, Riverbend here."
    assert reply == {"To": patient, "From": CLINIC_NUMBER, "Body": body}
    note(
        [
            f"Patient {patient}: can I talk to a real person?",
            f"  -> {sent[-1]['Body']}",
            f"Front desk takes it -> {joined['Body']}",
            f"Front desk replies -> {reply['Body']}",
        ]
    )
