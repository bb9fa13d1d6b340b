"""Shared steps of the browser tests: open the chat, ask, read what the widget shows."""

from __future__ import annotations

from typing import Any, Dict, List

from playwright.sync_api import Page, expect

VAGUE = "is the thingy with the pokes ok"
XSS = "<img src=x onerror=alert(1)>"
OFFLINE = "Can't reach the assistant right now, retrying\u2026"

BOT = ".dnc-msg--bot .dnc-text"
USER = ".dnc-msg--user .dnc-text"
CHOICE = ".dnc-choice"

# The element focused inside the widget (it lives in a shadow root).
ACTIVE = """() => {
  const host = document.querySelector('#dn-chat');
  const el = host && host.shadowRoot && host.shadowRoot.activeElement;
  return el ? {cls: el.className, text: el.textContent, tag: el.tagName} : null;
}"""


def texts(replies: List[Dict[str, Any]]) -> List[str]:
    return [m["text"] for m in replies if m.get("text")]


def open_chat(page: Page, url: str) -> None:
    page.goto(url)
    page.locator(".dnc-launcher").click()
    expect(page.locator(".dnc-panel")).to_be_visible()
    expect(page.locator(".dnc-input")).to_be_focused()


def ask(page: Page, text: str) -> None:
    box = page.locator(".dnc-input")
    box.fill(text)
    box.press("Enter")


def expect_bot(page: Page, expected: List[str], timeout: float = 20_000) -> None:
    """The bot's messages in the page are exactly `expected`, in order."""
    expect(page.locator(BOT)).to_have_text(expected, timeout=timeout)


def bot_texts(page: Page) -> List[str]:
    return page.locator(BOT).all_text_contents()


def active(page: Page) -> Dict[str, str]:
    return page.evaluate(ACTIVE) or {}


class PageInfo:
    """What happened in a page that a test checks afterwards."""

    def __init__(self) -> None:
        self.dialogs: List[str] = []
        self.errors: List[str] = []


def new_page(browser, info: PageInfo, **context_options):
    context = browser.new_context(**context_options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: (info.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: info.errors.append(str(error)))
    return context, page
