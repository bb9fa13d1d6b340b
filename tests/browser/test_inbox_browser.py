"""Live hand-off from both sides in Chromium: the patient in the widget, the front desk in the inbox page.

A patient asks for a person; the front desk (on a phone-sized screen, keyboard
only to sign in) signs in, sees the conversation waiting, takes it and replies;
the patient sees the reply as the clinic team's, the assistant stays quiet, a
reply written while the patient's page is closed is there when they come back,
and after the hand-back the assistant answers again. Also: a wrong password,
a change without the CSRF token, another clinic's inbox, and a patient's
`<script>` shown as text.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DYNAMIC_TOKEN, INBOX_PASSWORD
from tests.browser.helpers import BOT, ask, expect_bot, new_page, open_chat, texts

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PERSON = ".dnc-msg--person"


def sign_in_with_keyboard(page, url, clinic_id, password):
    page.goto(url)
    page.locator("#clinic").select_option(clinic_id)
    page.locator("#clinic").focus()
    page.keyboard.press("Tab")  # to the password
    page.keyboard.type(password)
    page.keyboard.press("Enter")


def test_live_hand_off_from_both_sides(browser, servers, page_info, screenshot):
    patient_context, patient = new_page(browser, page_info, viewport={"width": 1280, "height": 800})
    desk_context, desk = new_page(browser, page_info, viewport=PHONE)
    try:
        # The patient asks for a person and is told what happens next.
        open_chat(patient, servers.page_url)
        greeting = texts(servers.rest("/greet"))
        expect_bot(patient, greeting)
        ask(patient, "can I talk to a real person?")
        expect(patient.locator(BOT).last).to_contain_text("I've asked the team at Apollo", timeout=20_000)

        # The front desk: a wrong password first, then the right one, with the keyboard only.
        sign_in_with_keyboard(desk, servers.inbox_url, "apollo_calgary", "not the password")
        expect(desk.locator(".error")).to_have_text("Wrong clinic or password.")
        screenshot(desk, "30-inbox-wrong-password")
        sign_in_with_keyboard(desk, servers.inbox_url, "apollo_calgary", INBOX_PASSWORD)
        expect(desk.locator("h1")).to_have_text("Inbox")
        waiting = desk.locator(".waiting a")
        expect(waiting).to_have_count(1)
        expect(waiting).to_contain_text("Waiting since")
        screenshot(desk, "31-inbox-waiting")

        # A change without the CSRF token is refused.
        refused = desk.request.post(servers.inbox_url + "requests/1/done", form={})
        assert refused.status == 403

        # Take it: the patient is told a person joined.
        waiting.click()
        desk.get_by_role("button", name="Take this conversation").click()
        expect(patient.locator(BOT).last).to_contain_text("has joined this chat", timeout=20_000)

        # The front desk replies; the patient sees it as the clinic team's.
        desk.locator("#reply").fill("Hi, this is Jo at Apollo. How can I help?")
        desk.get_by_role("button", name="Send").click()
        expect(patient.locator(PERSON)).to_have_count(1, timeout=20_000)
        expect(patient.locator(PERSON)).to_contain_text("Apollo Physiotherapy team:")
        expect(patient.locator(PERSON)).to_contain_text("Hi, this is Jo at Apollo. How can I help?")
        screenshot(patient, "32-patient-sees-the-front-desk")

        # The patient writes (a script too): the assistant stays quiet, the front desk sees it as text.
        bots_before = patient.locator(BOT).count()
        ask(patient, "<script>window.pwned = 1</script> my knee is sore")
        transcript = desk.locator("#transcript")
        expect(transcript).to_contain_text("<script>window.pwned = 1</script> my knee is sore", timeout=20_000)
        assert desk.evaluate("typeof window.pwned") == "undefined"
        patient.wait_for_timeout(2000)
        assert patient.locator(BOT).count() == bots_before  # nothing from the assistant
        screenshot(desk, "33-inbox-conversation")

        # A reply written while the patient's page is closed is there when they come back.
        patient.goto("about:blank")
        desk.locator("#reply").fill("We will call you tomorrow morning.")
        desk.get_by_role("button", name="Send").click()
        expect(desk.locator("#transcript")).to_contain_text("We will call you tomorrow morning.")
        patient.goto(servers.page_url)
        expect(patient.locator(".dnc-panel")).to_be_visible()
        expect(patient.locator(PERSON)).to_have_count(2, timeout=20_000)
        expect(patient.locator(PERSON).last).to_contain_text("We will call you tomorrow morning.")

        # Hand back: the patient is told, and the assistant answers again.
        desk.get_by_role("button", name="Hand back to the assistant").click()
        expect(patient.locator(BOT).last).to_contain_text("handed you back", timeout=20_000)
        answer = texts(servers.reply_to("does it hurt?"))
        ask(patient, "does it hurt?")
        expect(patient.locator(BOT).last).to_have_text(answer[-1], timeout=20_000)
        screenshot(patient, "34-patient-handed-back")
    finally:
        patient_context.close()
        desk_context.close()
    assert not page_info.errors, page_info.errors


def test_another_clinics_front_desk_does_not_see_the_conversation(browser, servers, page_info, screenshot):
    context, patient = new_page(browser, page_info, viewport={"width": 1280, "height": 800})
    desk = context.new_page()
    try:
        open_chat(patient, servers.page_url)
        ask(patient, "I'd like to speak to a human")
        expect(patient.locator(BOT).last).to_contain_text("I've asked the team at Apollo", timeout=20_000)
        sign_in_with_keyboard(desk, servers.inbox_url, "dynamic_okotoks", DYNAMIC_TOKEN)
        expect(desk.locator(".clinic")).to_contain_text("Dynamic Physiotherapy Okotoks")
        expect(desk.locator(".waiting li")).to_have_text(["Nobody."])
        screenshot(desk, "35-other-clinic-inbox")
    finally:
        context.close()
