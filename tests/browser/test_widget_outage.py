"""Rasa goes away and comes back: the widget says so and recovers without a reload.

In a file of its own so that it runs after the other browser tests: it is the
only test that stops the shared Rasa server.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import OFFLINE, USER, ask, expect_bot, open_chat, texts

pytestmark = pytest.mark.browser


def test_server_outage_and_recovery(page, servers, screenshot):
    greeting = texts(servers.rest("/greet"))
    hurt = texts(servers.reply_to("does it hurt?"))
    acupuncture = texts(servers.reply_to("is it the same as acupuncture?"))
    open_chat(page, servers.page_url)
    expect_bot(page, greeting)
    status = page.locator(".dnc-status")
    expect(status).to_be_hidden()

    servers.stop_rasa()
    try:
        expect(status).to_be_visible(timeout=20_000)
        expect(status).to_have_text(OFFLINE)
        # A question asked now waits, and is sent when the server is back.
        ask(page, "does it hurt?")
        expect(page.locator(USER)).to_have_text(["does it hurt?"])
        screenshot(page, "12-server-unreachable")

        servers.start_rasa()
        servers.rasa.wait_ready(240)
        expect(status).not_to_have_text(OFFLINE, timeout=30_000)
        expect_bot(page, greeting + hurt, timeout=30_000)

        ask(page, "is it the same as acupuncture?")
        expect_bot(page, greeting + hurt + acupuncture)
        expect(status).to_be_hidden(timeout=10_000)
        screenshot(page, "13-recovered")
    finally:
        servers.ensure_rasa()
