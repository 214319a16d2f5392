"""The two-way handoff in the browser (Debian's Chromium, Playwright), against the real Rasa server, action
server and back office (`bot web`) with a local SMTP server: the user hands off in the widget; the project
manager signs in to the inbox in a second browser context and replies; the open widget shows the reply
without a reload; the user closes the page, the manager replies again, the user comes back and sees it;
each reply also arrives once by e-mail. Replies are text: markup in them stays text."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from widget_helpers import TIMEOUT, wait_until

from tests.e2e.two_way_stack import MANAGER_USER, REFERENCE, TwoWayStack
from tests.e2e.two_way_stack import wait_until as wait_for

ATTACK = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, widget_assets: Path) -> Iterator[TwoWayStack]:
    running = TwoWayStack(tmp_path_factory.mktemp("two-way-widget")).start()
    try:
        yield running
    finally:
        running.stop()


def _context(browser: Any, stack: TwoWayStack) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=stack.backoffice_url)
    context.set_default_timeout(TIMEOUT)
    return context


def _bot_texts(page: Any) -> list[str]:
    return [str(t) for t in page.locator(".ris3w-bot").all_inner_texts()]


def _say(page: Any, text: str) -> str:
    before = page.locator(".ris3w-bot").count()
    page.fill("#ris3w-input", text)
    page.press("#ris3w-input", "Enter")
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length > {before}")
    time.sleep(0.3)  # the turn's other messages
    return "\n".join(_bot_texts(page)[before:])


def _press(page: Any, title: str) -> str:
    """Presses a quick reply: its payload goes as a button's (typed, "/affirm" would be words)."""
    before = page.locator(".ris3w-bot").count()
    page.locator(".ris3w-reply", has_text=title).last.click()
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length > {before}")
    time.sleep(0.3)
    return "\n".join(_bot_texts(page)[before:])


def _open_widget(page: Any) -> None:
    page.goto("/?lang=en")
    if page.is_hidden("#ris3w-panel"):
        page.click(".ris3w-launcher")
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    wait_until(page, "localStorage.getItem('ris3-widget:session') !== null")


def _manager_replies(manager: Any, reference: str, text: str) -> None:
    manager.goto(f"/inbox/tickets/{reference}")
    manager.fill("#reply-text", text)
    manager.click("form.reply button[type=submit]")
    manager.wait_for_url(f"**/inbox/tickets/{reference}*")


def _route_status(stack: TwoWayStack, reference: str, index: int, route: str) -> str | None:
    store = stack.store()
    try:
        thread = store.thread(reference)
        replies = [m for m in thread.messages if m.kind == "manager_reply"] if thread else []  # type: ignore[union-attr]
        if len(replies) <= index:
            return None
        return next((j.status for j in replies[index].jobs if j.route == route), None)
    finally:
        store.close()


def test_the_reply_reaches_the_open_widget_and_a_page_opened_later(browser: Any, stack: TwoWayStack) -> None:
    address = f"aino.{uuid.uuid4().hex[:6]}@example.fi"
    user_context = _context(browser, stack)
    page = user_context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _open_widget(page)
    _say(page, "I want to talk to a human")
    _say(page, "Aino Esimerkki")
    _say(page, address)
    _say(page, "Can our company join a RIS3 project?")
    _press(page, "Yes")  # the consent
    done = _press(page, "Yes")  # the confirmation
    reference = REFERENCE.search(done)
    assert reference, done
    assert f"His reply will appear in this chat and by e-mail to {address}" in done
    ref = reference.group(0)

    # The manager, in a browser of his own.
    manager_context = _context(browser, stack)
    manager = manager_context.new_page()
    manager.goto("/inbox/login")
    manager.fill("input[name=user]", MANAGER_USER)
    manager.fill("input[name=password]", stack.password)
    manager.click("form.login button[type=submit]")
    manager.wait_for_url("**/inbox*")
    first = f"Hello Aino! I'll call you tomorrow. {ATTACK}"
    _manager_replies(manager, ref, first)
    wait_until(page, "[...document.querySelectorAll('.ris3w-bot')].some(m => m.textContent.includes(\"I'll call you"
                     " tomorrow\"))")
    shown = next(t for t in _bot_texts(page) if "call you tomorrow" in t)
    assert f"Reply from the project manager to your request {ref}" in shown and ATTACK in shown
    assert page.locator(".ris3w-log img").count() == 0
    wait_for(lambda: _route_status(stack, ref, 0, "user_web") == "sent", what="the push recorded")
    manager.reload()
    assert "website chat: delivered" in manager.locator("ol.thread").inner_text()

    # The user leaves; the reply waits for the next visit.
    page.close()
    second = "Second reply: the meeting is on Friday at 10."
    _manager_replies(manager, ref, second)
    wait_for(lambda: _route_status(stack, ref, 1, "user_web") == "held", what="the reply kept for the next visit")
    manager.reload()
    assert "website chat: kept until the user is back" in manager.locator("ol.thread").inner_text()

    page = user_context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _open_widget(page)
    wait_until(page, "[...document.querySelectorAll('.ris3w-bot')].some(m => m.textContent.includes('Friday at 10'))")
    assert sum("on Friday at 10" in t for t in _bot_texts(page)) == 1
    assert _route_status(stack, ref, 1, "user_web") == "sent"

    # The e-mail copies: once each.
    wait_for(lambda: len(stack.mails_to(address)) >= 2, what="both e-mails")
    time.sleep(2)
    bodies = [m.get_payload(decode=True).decode() for m in stack.mails_to(address)]
    assert len(bodies) == 2 and any("call you tomorrow" in b for b in bodies) and any("on Friday" in b for b in bodies)
    assert dialogs == []
    user_context.close()
    manager_context.close()
