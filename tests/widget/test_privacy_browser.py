"""The widget's privacy notice and its "Delete this conversation", in headless Chromium against the real Rasa
server and action server (bot_stack) and the back office's demo page; axe-core checks both at desktop and phone
width. After the erasure neither the browser nor the tracker store holds the conversation."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from widget_helpers import TIMEOUT, ServedApp, wait_until

from bot.privacy.notice import load
from bot.runtime import BotProcesses
from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.usefixtures("widget_server")
AXE = PROJECT_ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
AXE_PINNED = json.loads((PROJECT_ROOT / "widget" / "package.json").read_text())["devDependencies"]["axe-core"]
SHOTS = PROJECT_ROOT / "reports" / "widget"
AXE_TAGS = "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']"


@pytest.fixture(scope="module")
def widget_server(bot_stack: BotProcesses) -> Iterator[str]:
    os.environ["RIS3_WEB_WIDGET_SERVER"] = bot_stack.url
    try:
        yield bot_stack.url
    finally:
        os.environ.pop("RIS3_WEB_WIDGET_SERVER", None)


def _axe(page: Any) -> list[Any]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(f"axe.run(document, {{runOnly: {{type: 'tag', values: {AXE_TAGS}}}}})")
    assert result["testEngine"]["version"] == AXE_PINNED
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]


def _context(browser: Any, app: ServedApp, width: int, height: int) -> Any:
    # bypass_csp: axe is injected as an inline script, which the demo page's CSP forbids.
    context = browser.new_context(
        viewport={"width": width, "height": height}, base_url=app.url, bypass_csp=True, reduced_motion="reduce"
    )
    context.set_default_timeout(TIMEOUT)
    return context


def _open(page: Any, lang: str) -> None:
    page.goto(f"/?lang={lang}")
    page.click(".ris3w-launcher")
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    wait_until(page, "localStorage.getItem('ris3-widget:session') !== null")


@pytest.mark.parametrize(("width", "height", "lang"), [(1280, 800, "en"), (360, 740, "fi")])
def test_the_notice_comes_before_the_first_message_in_the_pages_language(
    browser: Any, backoffice_app: ServedApp, width: int, height: int, lang: str
) -> None:
    privacy = load()
    context = _context(browser, backoffice_app, width, height)
    try:
        page = context.new_page()
        _open(page, lang)
        page.wait_for_selector(".ris3w-notice:not([hidden])")
        shown = page.inner_text(".ris3w-notice")
        assert privacy.say("notice", lang) in shown and "90" in shown
        # No privacy statement is set in privacy.yml: no link, rather than an invented one.
        assert page.locator(".ris3w-notice a[href]").count() == 0
        # Not in the way on a phone: the input stays visible and usable, the notice is a small part of the panel.
        notice, panel = page.locator(".ris3w-notice").bounding_box(), page.locator("#ris3w-panel").bounding_box()
        assert notice["height"] <= panel["height"] * 0.3, (notice, panel)
        assert page.locator("#ris3w-input").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"privacy-notice-{width}.png"))
        assert _axe(page) == []
        # Closed by its button (a name a screen reader reads), it stays closed on the next page.
        page.click(".ris3w-notice-close")
        assert page.locator(".ris3w-notice").is_hidden()
        page.goto(f"/?lang={lang}")
        page.wait_for_selector("#ris3w-panel:not([hidden])")
        assert page.locator(".ris3w-notice").is_hidden()
    finally:
        context.close()


def test_delete_this_conversation_from_the_menu(
    browser: Any, backoffice_app: ServedApp, bot_stack: BotProcesses
) -> None:
    privacy = load()
    context = _context(browser, backoffice_app, 360, 740)
    try:
        page = context.new_page()
        _open(page, "en")
        marker = f"Is the Kymijoki sawmill {uuid.uuid4().hex[:6]} in the strategy?"
        page.fill("#ris3w-input", marker)
        page.press("#ris3w-input", "Enter")
        wait_until(page, "document.querySelectorAll('.ris3w-bot').length >= 2")
        session = page.evaluate("JSON.parse(localStorage.getItem('ris3-widget:session'))")
        tracker = bot_stack.workdir / "tracker.db"

        def kept() -> bool:
            with sqlite3.connect(tracker) as connection:
                return any(marker in (row[0] or "") for row in connection.execute("SELECT data FROM events"))

        assert kept()
        # The menu, by keyboard: the item, then the confirmation in place, checked by axe while open.
        page.click(".ris3w-menu-btn")
        assert page.get_attribute(".ris3w-menu-btn", "aria-expanded") == "true"
        page.keyboard.press("Enter")  # focus is on "Delete this conversation"
        page.wait_for_selector(".ris3w-confirm:not([hidden])")
        assert _axe(page) == []
        page.click(".ris3w-confirm-yes")
        erased = json.dumps(privacy.say("erased", "en"))
        wait_until(page, f"document.querySelector('.ris3w-log').textContent.includes({erased})")
        # The browser forgot the conversation and has a new session; the server kept nothing of it.
        assert marker not in page.inner_text(".ris3w-log")
        assert marker not in page.evaluate("JSON.stringify(localStorage)")
        wait_until(page, f"JSON.parse(localStorage.getItem('ris3-widget:session')) !== {json.dumps(session)}")
        assert not kept()
        # The chat goes on in the new conversation.
        page.fill("#ris3w-input", "what are the priorities?")
        page.press("#ris3w-input", "Enter")
        wait_until(page, "[...document.querySelectorAll('.ris3w-bot')].some(m => /Source:/.test(m.textContent))")
    finally:
        context.close()
