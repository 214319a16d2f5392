"""The widget in headless Chromium against a stand-in of the website chat channel (chat_standin.py), for what
the real bot cannot be made to send on cue: the server's message length limit, link quick replies (hostile
schemes among them), a refusal for sending too fast, and ten messages pending at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from chat_standin import StandInChat
from widget_helpers import wait_until

pytestmark = pytest.mark.usefixtures("widget_server")
LIMIT = 60


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInChat]:
    with StandInChat(max_message_chars=LIMIT) as chat:
        yield chat


@pytest.fixture(scope="module")
def widget_server(standin: StandInChat) -> str:
    """The demo pages point the widget at the stand-in."""
    return standin.url


@pytest.fixture(autouse=True)
def fresh(standin: StandInChat) -> Iterator[None]:
    standin.scripted.clear()
    standin.holding = False
    yield
    standin.release(1000)
    standin.holding = False


def open_widget(page: Any, lang: str) -> None:
    page.goto(f"/?lang={lang}")
    page.click(".ris3w-launcher")
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    wait_until(page, "localStorage.getItem('ris3-widget:session') !== null")


def send(page: Any, text: str) -> None:
    page.fill("#ris3w-input", text)
    page.press("#ris3w-input", "Enter")


def bots(page: Any) -> int:
    return page.locator(".ris3w-bot").count()


def test_links_only_from_the_bots_link_replies_with_safe_schemes(page: Any, standin: StandInChat) -> None:
    standin.scripted["contacts"] = [
        (
            "bot_uttered",
            {
                "text": "Petri Tolmunen, +358 44 747 8512. More at https://text.example/not-a-link",
                "lang": "en",
                "quick_replies": [
                    {"content_type": "url", "title": "Strategy page", "url": "https://www.kymenlaakso.fi/ris3"},
                    {"content_type": "url", "title": "+358 44 747 8512", "url": "tel:+358447478512"},
                    {"content_type": "url", "title": "Script", "url": "javascript:alert(1)"},
                    {"content_type": "url", "title": "Data", "url": "data:text/html,<script>alert(2)</script>"},
                    {"content_type": "url", "title": "File", "url": "file:///etc/passwd"},
                    {"content_type": "text", "title": "Yes", "payload": "/affirm"},
                ],
            },
        )
    ]
    open_widget(page, "en")
    before = bots(page)
    send(page, "contacts")
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length > {before}")
    answer = page.locator(".ris3w-bot").last
    links = answer.locator("a")
    assert links.count() == 2
    web, tel = links.nth(0), links.nth(1)
    assert web.get_attribute("href") == "https://www.kymenlaakso.fi/ris3"
    assert web.get_attribute("target") == "_blank" and "noopener" in web.get_attribute("rel")
    assert web.inner_text().startswith("Strategy page")
    assert tel.get_attribute("href") == "tel:+358447478512" and tel.get_attribute("target") is None
    # The text's own web address stays text; the text's phone number is kept on one line.
    assert "https://text.example/not-a-link" in answer.inner_text()
    assert page.locator("a[href*='text.example']").count() == 0
    assert answer.locator(".ris3w-nowrap").first.inner_text() == "+358 44 747 8512"
    # The text reply is a button, as before.
    assert page.locator(".ris3w-reply").all_inner_texts() == ["Yes"]
    # The links are part of the message: after a reload they are still there.
    page.reload()
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    assert page.locator(".ris3w-bot").last.locator("a").evaluate_all("as => as.map(a => a.href)") == [
        "https://www.kymenlaakso.fi/ris3",
        "tel:+358447478512",
    ]
    assert page.dialogs == []


def test_the_length_limit_comes_from_the_server_and_shows_while_typing(page: Any, standin: StandInChat) -> None:
    open_widget(page, "en")
    wait_until(page, f"document.querySelector('#ris3w-input').maxLength === {LIMIT}")
    page.focus("#ris3w-input")
    page.keyboard.type("x" * 40)
    assert page.is_hidden(".ris3w-count")  # far from the limit: nothing shown
    page.keyboard.type("x" * 10)
    assert page.inner_text(".ris3w-count") == "10 characters left"
    assert page.get_attribute("#ris3w-input", "aria-describedby") == "ris3w-count"
    page.keyboard.type("x" * 30)  # the input takes no more than the limit
    assert page.input_value("#ris3w-input") == "x" * LIMIT
    assert page.inner_text(".ris3w-count") == f"Maximum length {LIMIT} characters"
    # A longer text set by a script (or autofill) is not sent, and stays in the input.
    page.evaluate(f"document.querySelector('#ris3w-input').value = 'y'.repeat({LIMIT + 5})")
    page.press("#ris3w-input", "Enter")
    assert page.inner_text(".ris3w-count") == f"Too long: at most {LIMIT} characters."
    assert page.input_value("#ris3w-input") == "y" * (LIMIT + 5)
    assert "y" * (LIMIT + 5) not in standin.messages()


def test_a_pasted_text_cut_at_the_limit_is_told(page: Any) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_widget(page, "fi")
    wait_until(page, f"document.querySelector('#ris3w-input').maxLength === {LIMIT}")
    page.evaluate("navigator.clipboard.writeText('z'.repeat(500))")
    page.focus("#ris3w-input")
    page.keyboard.press("ControlOrMeta+V")
    assert page.input_value("#ris3w-input") == "z" * LIMIT
    assert page.inner_text(".ris3w-count") == f"Liitetty teksti katkaistiin {LIMIT} merkkiin."


def test_the_typing_indicator_stays_while_any_message_is_pending(page: Any, standin: StandInChat) -> None:
    open_widget(page, "en")
    standin.holding = True
    sent = len(standin.messages())
    page.evaluate(
        """() => {
            for (let i = 1; i <= 10; i++) {
                document.querySelector('#ris3w-input').value = 'question ' + i;
                document.querySelector('.ris3w-form').requestSubmit();
            }
        }"""
    )
    deadline = time.monotonic() + 30
    while len(standin.messages()) < sent + 10:
        assert time.monotonic() < deadline, f"the stand-in got {standin.messages()[sent:]}"
        time.sleep(0.05)
    before = bots(page)
    assert page.is_visible(".ris3w-typing")
    standin.release(1)
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length === {before + 1}")
    assert page.is_visible(".ris3w-typing")  # nine still pending
    standin.release(8)
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length === {before + 9}")
    assert page.is_visible(".ris3w-typing")  # one still pending
    standin.release(1)
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length === {before + 10}")
    assert page.is_hidden(".ris3w-typing")


def test_a_message_refused_for_sending_too_fast_is_kept(page: Any, standin: StandInChat) -> None:
    standin.scripted["one more question"] = [
        ("chat_error", {"error": "rate limited", "code": "rate_limited", "retry_after": 7})
    ]
    open_widget(page, "fi")
    send(page, "one more question")
    page.wait_for_selector(".ris3w-status:not([hidden])")
    assert page.inner_text(".ris3w-status") == "Liian monta viestiä kerralla. Odota 7 s ja lähetä viestisi uudelleen."
    assert page.is_hidden(".ris3w-typing")
    # The message is back in the input, ready to send again, and marked as not sent in the conversation.
    assert page.input_value("#ris3w-input") == "one more question"
    assert page.locator(".ris3w-user").last.locator(".ris3w-unsent-note").inner_text() == "Ei lähetetty"
    # The notice follows the interface language.
    page.click(".ris3w-lang")
    assert page.inner_text(".ris3w-status") == "Too many messages at once. Please wait 7 s and send your message again."
    # Sent again (now answered), it goes through.
    before = bots(page)
    standin.scripted.clear()
    page.press("#ris3w-input", "Enter")
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length > {before}")
    assert standin.messages()[-2:] == ["one more question", "one more question"]


def test_the_servers_own_slow_down_reply_is_shown_and_the_message_kept(page: Any, standin: StandInChat) -> None:
    # The first refusal of a flood comes as a bot message with a code (bot/channels/web_chat.py): the user reads
    # the server's words, and the refused message goes back into the input as with chat_error.
    text = "Lähetät viestejä nopeammin kuin ehdin vastata. Odota 3 s ja lähetä viestisi uudelleen."
    standin.scripted["too fast"] = [
        ("bot_uttered", {"text": text, "code": "rate_limited", "retry_after": 3, "lang": "fi"})
    ]
    open_widget(page, "fi")
    send(page, "too fast")
    wait_until(page, "[...document.querySelectorAll('.ris3w-bot')].some(b => b.innerText.includes('Odota 3 s'))")
    assert page.is_hidden(".ris3w-typing")
    assert page.input_value("#ris3w-input") == "too fast"
    assert page.locator(".ris3w-user").last.locator(".ris3w-unsent-note").inner_text() == "Ei lähetetty"


def test_a_message_pushed_while_the_panel_is_closed_is_announced_on_the_button(
    page: Any, standin: StandInChat
) -> None:
    open_widget(page, "en")
    send(page, "hello")
    wait_until(page, "document.querySelectorAll('.ris3w-bot').length >= 2")
    page.click(".ris3w-close")
    # Another page of the site, the panel closed: the ongoing conversation still connects, so a reply pushed
    # to the session (the project manager's answer) arrives while the page is open.
    sessions = len(standin.sessions)
    page.goto("/assistant?lang=en")
    deadline = time.monotonic() + 30
    while len(standin.sessions) == sessions and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(standin.sessions) > sessions, "a page of an ongoing conversation did not connect"
    assert page.is_hidden("#ris3w-panel")
    standin.push({"text": "Reply from the project manager: see you on Monday.", "lang": "en"})
    wait_until(page, "document.querySelector('.ris3w-launcher').textContent.includes('1 new')")
    page.click(".ris3w-launcher")
    shown = "[...document.querySelectorAll('.ris3w-bot')].some(b => b.innerText.includes('see you on Monday'))"
    wait_until(page, shown)
    assert "new" not in page.inner_text(".ris3w-launcher")


def test_only_a_pressed_button_sends_a_payload(page: Any, standin: StandInChat) -> None:
    """Issue 25 item 11: the server takes a payload only from a button, so the widget marks a quick reply's
    payload as such, and what the user types (even "/affirm") goes as the words it is."""
    standin.scripted["may I ask"] = [
        ("bot_uttered", {"text": "Shall I?", "lang": "en",
                         "quick_replies": [{"content_type": "text", "title": "Yes", "payload": "/affirm"}]}),
    ]
    open_widget(page, "en")
    before = bots(page)
    send(page, "may I ask")
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length > {before}")
    page.locator(".ris3w-reply", has_text="Yes").click()
    send(page, "/affirm")
    wait_until(page, "document.querySelectorAll('.ris3w-user').length >= 3")
    # The widget may have sent other messages first (its greeting): count from the typed question on.
    def since_question() -> list[dict[str, Any]]:
        messages = [d.get("message") for d in standin.received]
        return standin.received[messages.index("may I ask"):] if "may I ask" in messages else []

    deadline = time.monotonic() + 10
    while len(since_question()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    typed_question, pressed, typed_payload = [
        {k: v for k, v in d.items() if k in ("message", "button")} for d in since_question()[:3]
    ]
    assert typed_question == {"message": "may I ask"}
    assert pressed == {"message": "/affirm", "button": True}
    assert typed_payload == {"message": "/affirm"}  # typed: no button mark
    # What the user saw is the button's title, not its payload.
    assert page.locator(".ris3w-user .ris3w-body").all_inner_texts()[-2:] == ["Yes", "/affirm"]
