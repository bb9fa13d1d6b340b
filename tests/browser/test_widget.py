"""The chat widget on the demo page, in headless Chromium, against the real servers.

What the bot should say is asked of the same Rasa server over REST first, so
these tests check the widget, not the wording of the answers.
"""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    BOT,
    CHOICE,
    OFFLINE,
    USER,
    VAGUE,
    XSS,
    active,
    ask,
    bot_texts,
    expect_bot,
    new_page,
    open_chat,
    texts,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def test_opens_with_notice_and_greeting(page, servers, screenshot):
    expected = texts(servers.rest("/greet"))
    assert len(expected) >= 2, f"REST /greet should give the notice and the greeting: {expected}"
    assert "not medical advice" in expected[0]

    page.goto(servers.page_url)
    launcher = page.locator(".dnc-launcher")
    expect(launcher).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()

    expect_bot(page, expected)
    expect(page.locator(".dnc-title")).to_have_text("Questions about dry needling")
    expect(page.locator(".dnc-subtitle")).to_have_text("Apollo Physiotherapy Massage and Chiro")
    expect(page.locator(USER)).to_have_count(0)  # the opening payload is not shown
    screenshot(page, "01-greeting-and-notice")


def test_answers_does_it_hurt(page, servers, screenshot):
    greeting = texts(servers.rest("/greet"))
    answer = texts(servers.reply_to("does it hurt?"))
    open_chat(page, servers.page_url)
    expect_bot(page, greeting)

    ask(page, "does it hurt?")
    expect(page.locator(USER)).to_have_text(["does it hurt?"])
    expect_bot(page, greeting + answer)
    screenshot(page, "02-does-it-hurt")


def test_question_typed_while_connecting_comes_after_the_greeting(page, servers):
    greeting = texts(servers.rest("/greet"))
    answer = texts(servers.reply_to("does it hurt?"))
    open_chat(page, servers.page_url)
    ask(page, "does it hurt?")  # at once, before the greeting has arrived
    expect_bot(page, greeting + answer)


def test_clarification_button_sends_its_payload(page, servers, screenshot):
    rest_reply = servers.reply_to(VAGUE)
    offered = [b for m in rest_reply for b in m.get("buttons", [])]
    assert offered, f"{VAGUE!r} no longer gets a 'Did you mean...?' over REST: {rest_reply}"
    topic = next(b for b in offered if b["payload"].startswith("/faq/"))
    topic_answer = texts(servers.reply_to(topic["payload"]))
    greeting = texts(servers.rest("/greet"))

    open_chat(page, servers.page_url)
    expect_bot(page, greeting)
    ask(page, VAGUE)
    expect_bot(page, greeting + texts(rest_reply))
    choices = page.locator(CHOICE)
    expect(choices).to_have_text([b["title"] for b in offered])
    screenshot(page, "03-did-you-mean-buttons")

    choices.filter(has_text=topic["title"]).click()
    expect(page.locator(USER)).to_have_text([VAGUE, topic["title"]])
    expect_bot(page, greeting + texts(rest_reply) + topic_answer)
    for i in range(choices.count()):
        expect(choices.nth(i)).to_be_disabled()  # a question is answered once
    screenshot(page, "04-button-answer")


def test_reload_keeps_history_and_session(page, servers, screenshot):
    greeting = texts(servers.rest("/greet"))
    answer = texts(servers.reply_to("does it hurt?"))
    open_chat(page, servers.page_url)
    expect_bot(page, greeting)
    ask(page, "does it hurt?")
    expect_bot(page, greeting + answer)
    key = f"dn-chat:{servers.rasa_url}:apollo_calgary"  # one conversation per assistant and clinic
    session_before = page.evaluate("k => JSON.parse(localStorage.getItem(k)).sessionId", key)
    assert session_before

    page.reload()
    # The chat was open: it opens again with the whole conversation.
    expect(page.locator(".dnc-panel")).to_be_visible()
    expect_bot(page, greeting + answer, timeout=5_000)
    expect(page.locator(USER)).to_have_text(["does it hurt?"])
    assert page.evaluate("k => JSON.parse(localStorage.getItem(k)).sessionId", key) == session_before
    screenshot(page, "05-after-reload")

    # The conversation goes on in the same Rasa session.
    later = texts(servers.reply_to("how long does a session take?"))
    ask(page, "how long does a session take?")
    expect_bot(page, greeting + answer + later)
    with sqlite3.connect(servers.tracker_db) as db:
        said = [
            json.loads(data).get("text")
            for (data,) in db.execute(
                "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
                (session_before,),
            )
        ]
    assert said == ["/greet", "does it hurt?", "how long does a session take?"]


def test_html_in_a_message_stays_text(page, servers, page_info, screenshot):
    greeting = texts(servers.rest("/greet"))
    reply = texts(servers.reply_to(XSS))
    open_chat(page, servers.page_url)
    expect_bot(page, greeting)

    ask(page, XSS)
    expect(page.locator(USER)).to_have_text([XSS])
    expect_bot(page, greeting + reply)
    page.wait_for_timeout(300)  # time for an onerror handler, had one been created
    assert page.locator(".dnc-log img").count() == 0
    assert page.locator(USER).first.evaluate("e => e.innerHTML") == "&lt;img src=x onerror=alert(1)&gt;"

    page.reload()  # the restored history is text too
    expect(page.locator(USER)).to_have_text([XSS])
    page.wait_for_timeout(300)
    assert page.locator(".dnc-log img").count() == 0
    assert page_info.dialogs == []
    screenshot(page, "06-html-shown-as-text")


def test_keyboard_only(page, servers, screenshot):
    greeting = texts(servers.rest("/greet"))
    rest_reply = servers.reply_to(VAGUE)
    offered = [b for m in rest_reply for b in m.get("buttons", [])]
    assert offered, f"{VAGUE!r} no longer gets a 'Did you mean...?' over REST"
    first = offered[0]
    first_answer = texts(servers.reply_to(first["payload"]))

    page.goto(servers.page_url)
    for _ in range(12):  # Tab through the page's links to the chat button
        page.keyboard.press("Tab")
        if active(page).get("cls") == "dnc-launcher":
            break
    assert active(page).get("cls") == "dnc-launcher", "Tab never reached the chat button"
    page.keyboard.press("Enter")
    expect(page.locator(".dnc-panel")).to_be_visible()
    assert active(page).get("cls") == "dnc-input"
    expect_bot(page, greeting)

    page.keyboard.type(VAGUE)
    page.keyboard.press("Enter")
    expect_bot(page, greeting + texts(rest_reply))
    expect(page.locator(CHOICE).first).to_be_enabled()
    for _ in range(len(offered) + 2):  # back from the text box to the first choice
        page.keyboard.press("Shift+Tab")
        if active(page).get("text") == first["title"]:
            break
    assert active(page) == {"cls": "dnc-choice", "text": first["title"], "tag": "BUTTON"}
    page.keyboard.press("Enter")
    expect(page.locator(USER)).to_have_text([VAGUE, first["title"]])
    expect_bot(page, greeting + texts(rest_reply) + first_answer)
    assert active(page).get("cls") == "dnc-input"  # ready for the next question
    screenshot(page, "07-keyboard-only")

    page.keyboard.press("Escape")
    expect(page.locator(".dnc-panel")).to_be_hidden()
    assert active(page).get("cls") == "dnc-launcher"


def test_new_bot_messages_are_announced(page, servers):
    greeting = texts(servers.rest("/greet"))
    answer = texts(servers.reply_to("does it hurt?"))
    open_chat(page, servers.page_url)
    live = page.locator(".dnc-announcer")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(page.locator(".dnc-status")).to_have_attribute("role", "status")
    expect_bot(page, greeting)
    expect(live.locator("p")).to_have_text([f"Assistant: {t}" for t in greeting])

    ask(page, "does it hurt?")
    expect(live.locator("p").last).to_have_text(f"Assistant: {answer[-1]}")
    # Screen readers also hear who said each message in the log.
    expect(page.locator(".dnc-msg--user .dnc-sr-only")).to_have_text(["You: "])

    page.reload()  # restored history is shown, not read out again
    expect_bot(page, greeting + answer, timeout=5_000)
    expect(live.locator("p")).to_have_count(0)


def test_usable_at_360px(browser, servers, page_info, screenshot):
    context, page = new_page(browser, page_info, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    try:
        greeting = texts(servers.rest("/greet"))
        rest_reply = servers.reply_to(VAGUE)
        offered = [b for m in rest_reply for b in m.get("buttons", [])]
        assert offered, f"{VAGUE!r} no longer gets a 'Did you mean...?' over REST"
        topic_answer = texts(servers.reply_to(offered[0]["payload"]))

        page.goto(servers.page_url)
        launcher = page.locator(".dnc-launcher")
        box = launcher.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360
        assert box["height"] >= 44  # a comfortable touch target
        launcher.tap()
        panel = page.locator(".dnc-panel")
        expect(panel).to_be_visible()
        assert panel.bounding_box() == {"x": 0, "y": 0, "width": 360, "height": 740}
        expect_bot(page, greeting)
        ask(page, VAGUE)
        expect_bot(page, greeting + texts(rest_reply))

        overflow = page.evaluate(
            """() => {
              const root = document.querySelector('#dn-chat').shadowRoot;
              const wide = [...root.querySelectorAll('*')]
                .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 0.5)
                .map(e => e.className);
              const log = root.querySelector('.dnc-log');
              return {page: document.documentElement.scrollWidth, inner: innerWidth,
                      logScroll: log.scrollWidth - log.clientWidth, wide};
            }"""
        )
        assert overflow["page"] <= overflow["inner"] == 360, overflow
        assert overflow["logScroll"] <= 0 and overflow["wide"] == [], overflow
        for selector in (".dnc-input", ".dnc-send", ".dnc-close"):
            expect(page.locator(selector)).to_be_in_viewport()
        screenshot(page, "08-phone-360px")

        page.locator(CHOICE).first.tap()
        expect_bot(page, greeting + texts(rest_reply) + topic_answer)
        screenshot(page, "09-phone-360px-answer")
        assert not page_info.errors
    finally:
        context.close()


def test_typing_indicator_while_waiting(page, servers, screenshot):
    greeting = texts(servers.rest("/greet"))
    answer = texts(servers.reply_to("does it hurt?"))
    open_chat(page, servers.page_url)
    expect_bot(page, greeting)
    typing = page.locator(".dnc-typing")
    expect(typing).to_be_hidden()

    ask(page, "does it hurt?")
    expect(typing).to_be_visible(timeout=2_000)
    assert bot_texts(page) == greeting  # still waiting for the answer
    screenshot(page, "10-typing-indicator")
    expect_bot(page, greeting + answer)
    expect(typing).to_be_hidden()


def _engineio_connect(servers, origin: str):
    """Open a socket.io connection by hand, as a page from `origin` would."""
    base = f"{servers.rasa_url}/socket.io/?EIO=4&transport=polling"
    headers = {"Origin": origin}
    with urllib.request.urlopen(urllib.request.Request(base, headers=headers), timeout=10) as r:
        allow_origin = r.headers.get("Access-Control-Allow-Origin")
        handshake = json.loads(r.read().decode()[1:])
    url = f"{base}&sid={handshake['sid']}"
    post = urllib.request.Request(url, data=b"40", headers={**headers, "Content-Type": "text/plain;charset=UTF-8"})
    urllib.request.urlopen(post, timeout=10).read()
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        answer = r.read().decode()
    return allow_origin, handshake, answer


def test_other_origins_are_refused(browser, servers, page_info, screenshot):
    # The demo origin (CORS_ORIGINS) gets CORS headers and a socket.io session.
    allow, handshake, answer = _engineio_connect(servers, servers.page_origin)
    assert allow == servers.page_origin
    assert handshake["upgrades"] == []  # long-polling only: see channels/socketio_cors.py
    assert answer.startswith('40{"sid"'), answer

    # Another origin gets neither, even from a client that ignores CORS.
    allow, _, answer = _engineio_connect(servers, "http://evil.example")
    assert allow is None
    assert re.match(r'^44\{"message": ?"origin http://evil.example is not allowed"\}', answer), answer

    # In a browser, the same page served from another origin cannot chat.
    context, page = new_page(browser, page_info, viewport={"width": 1280, "height": 800})
    try:
        page.goto(servers.other_origin_url)
        page.locator(".dnc-launcher").click()
        expect(page.locator(".dnc-status")).to_have_text(OFFLINE)
        page.wait_for_timeout(1_000)
        expect(page.locator(BOT)).to_have_count(0)
        screenshot(page, "11-other-origin-refused")
    finally:
        context.close()


def test_widget_never_parses_html():
    source = (ROOT / "web" / "widget" / "dn-chat.js").read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in code, f"dn-chat.js uses {sink}"


def test_contact_details_are_links_and_patient_text_is_not(page, servers, screenshot):
    greeting = texts(servers.rest("/greet"))
    open_chat(page, servers.page_url)
    expect_bot(page, greeting)

    ask(page, "how much does it cost?")  # the hand-off: Apollo's profile gives an email address
    email = page.locator(f'{BOT} a[href="mailto:info@apollophysioyyc.com"]')
    expect(email).to_have_text("info@apollophysioyyc.com")
    assert email.get_attribute("target") is None  # mail opens the mail app, not a tab

    typed = "call me at 403-555-0123 or me@example.org, see https://example.org"
    ask(page, typed)
    expect(page.locator(USER).last).to_have_text(typed)
    assert page.locator(f"{USER} a").count() == 0  # what the patient typed is never a link
    screenshot(page, "14-contact-links")
