"""Two clinics' pages at once through one server: each widget hears its own clinic; an unknown clinic is shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ask, expect_bot, new_page, open_chat, texts

pytestmark = pytest.mark.browser

DYNAMIC_PAGE = "clinics/dynamic_okotoks/"


def test_two_clinics_at_once_each_hear_their_own_answers_and_contact_details(browser, servers, page_info, screenshot):
    # One browser, two tabs on one site (shared storage): Apollo's page and Dynamic's.
    context, apollo = new_page(browser, page_info, viewport={"width": 1280, "height": 800})
    dynamic = context.new_page()
    dynamic.on("pageerror", lambda error: page_info.errors.append(str(error)))
    try:
        open_chat(apollo, servers.page_url)
        open_chat(dynamic, servers.page_url + DYNAMIC_PAGE)
        expect(apollo.locator(".dnc-subtitle")).to_have_text("Apollo Physiotherapy Massage and Chiro")
        expect(dynamic.locator(".dnc-subtitle")).to_have_text("Dynamic Physiotherapy Okotoks")
        for question in ("how long is a session?", "how can I contact the clinic?"):
            ask(apollo, question)
            ask(dynamic, question)
        for page, clinic_id, own, other in (
            (apollo, "apollo_calgary", "info@apollophysioyyc.com", "Steve Hansen"),
            (dynamic, "dynamic_okotoks", "Steve Hansen", "info@apollophysioyyc.com"),
        ):
            sender = f"same-{clinic_id}"
            expected = texts(servers.rest("/greet", sender, clinic_id))
            expected += texts(servers.rest("how long is a session?", sender, clinic_id))
            expected += texts(servers.rest("how can I contact the clinic?", sender, clinic_id))
            expect_bot(page, expected)  # the same as that clinic's conversation over REST
            shown = " ".join(page.locator(".dnc-msg--bot .dnc-text").all_text_contents())
            assert own in shown and other not in shown
        assert "20 to 30 minutes" in " ".join(dynamic.locator(".dnc-msg--bot .dnc-text").all_text_contents())
        assert "20 to 30 minutes" not in " ".join(apollo.locator(".dnc-msg--bot .dnc-text").all_text_contents())
        screenshot(apollo, "20-two-clinics-apollo")
        screenshot(dynamic, "21-two-clinics-dynamic")
    finally:
        context.close()
    assert not page_info.errors, page_info.errors


def test_an_unknown_clinic_id_is_shown_to_the_web_person_and_nothing_is_answered(page, servers, screenshot):
    # The demo page with a mistyped data-clinic-id (changed as the page is parsed: a
    # page served by the test itself would not be allowed to call the loopback server).
    page.add_init_script(
        """new MutationObserver((changes) => {
          for (const change of changes) for (const node of change.addedNodes)
            if (node.tagName === "SCRIPT" && node.dataset.clinicId) node.dataset.clinicId = "apolo_calgary";
        }).observe(document, {childList: true, subtree: true});"""
    )
    open_chat(page, servers.page_url)
    status = page.locator(".dnc-status")
    expect(status).to_be_visible(timeout=20_000)
    expect(status).to_contain_text("not set up correctly")
    expect(status).to_contain_text("unknown clinic 'apolo_calgary'")
    ask(page, "does it hurt?")
    expect(status).to_contain_text("data-clinic-id")
    expect(page.locator(".dnc-msg--bot")).to_have_count(0)
    screenshot(page, "22-unknown-clinic")
