"""The chat widget in headless Chromium against the real Rasa server and action server (bot_stack)
and the back office's demo page. Screenshots go to reports/widget/."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from widget_helpers import TIMEOUT, ServedApp, StaticSite, wait_until

from bot.runtime import BotProcesses
from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.usefixtures("widget_server")
SHOTS = PROJECT_ROOT / "reports" / "widget"
AXE = PROJECT_ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
AXE_PINNED = json.loads((PROJECT_ROOT / "widget" / "package.json").read_text())["devDependencies"]["axe-core"]


@pytest.fixture(scope="module")
def widget_server(bot_stack: BotProcesses) -> Iterator[str]:
    """The demo page points the widget at the test bot."""
    os.environ["RIS3_WEB_WIDGET_SERVER"] = bot_stack.url
    try:
        yield bot_stack.url
    finally:
        os.environ.pop("RIS3_WEB_WIDGET_SERVER", None)


def bot_messages(page: Any) -> Any:
    return page.locator(".ris3w-bot")


def ask(page: Any, text: str, source: str | None = None) -> Any:
    """Types a question and waits for a new answer of the bot (and, if given, a new source line starting
    with `source`). Returns the locator of the answer's first message."""
    before = bot_messages(page).count()
    sources = page.locator(".ris3w-source").count()
    page.fill("#ris3w-input", text)
    page.press("#ris3w-input", "Enter")
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length > {before}")
    if source:
        wait_until(page, f"document.querySelectorAll('.ris3w-source').length > {sources}")
        assert page.locator(".ris3w-source").last.inner_text().startswith(source)
    return bot_messages(page).nth(before)


def open_widget(page: Any, lang: str = "en") -> None:
    page.goto(f"/?lang={lang}")
    page.click(".ris3w-launcher")
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    wait_until(page, "localStorage.getItem('ris3-widget:session') !== null")


def test_answers_in_english_and_finnish_with_sources_quick_replies_and_history(page: Any) -> None:
    open_widget(page, "en")
    assert page.evaluate("document.activeElement.id") == "ris3w-input"
    assert page.get_attribute(".ris3w-launcher", "aria-expanded") == "true"
    assert page.get_attribute(".ris3w-log", "aria-live") == "polite"

    answer = ask(page, "what is smart specialisation?", source="Source:")
    assert "smart specialisation" in answer.inner_text().lower()

    answer = ask(page, "mitä on älykäs erikoistuminen?", source="Lähde:")
    assert "erikoistuminen" in answer.inner_text().lower()

    # A quick reply: the title is shown as the user's message, the payload is sent.
    reply = page.locator(".ris3w-reply").first
    title = reply.inner_text()
    before = bot_messages(page).count()
    reply.click()
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length > {before}")
    assert page.locator(".ris3w-user").last.inner_text().endswith(title)
    assert "/answer_fact" not in page.locator(".ris3w-log").inner_text()

    # The interface followed the conversation into Finnish; the language button switches it.
    assert page.get_attribute("#ris3w-input", "placeholder") == "Viestisi"
    page.click(".ris3w-lang")
    assert page.get_attribute("#ris3w-input", "placeholder") == "Your message"
    page.click(".ris3w-lang")
    assert page.get_attribute("#ris3w-input", "placeholder") == "Viestisi"

    # Reload: the panel is still open and the history is back.
    shown = page.locator(".ris3w-msg").all_inner_texts()
    page.reload()
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    assert page.locator(".ris3w-msg").all_inner_texts() == shown
    answer = ask(page, "hello")
    assert "RIS3" in answer.inner_text()


def test_markup_in_a_message_is_shown_as_text_and_no_text_becomes_a_link(page: Any) -> None:
    open_widget(page, "en")
    attack = "<img src=x onerror=alert(1)>"
    ask(page, attack)
    assert page.locator(".ris3w-user").last.inner_text().endswith(attack)
    assert page.locator(".ris3w-log img").count() == 0
    # Links come only from the knowledge, as the bot's link quick replies: a web address in what anyone
    # types stays text, whatever its scheme.
    ask(page, "see https://evil.example/login and javascript:alert(2)")
    mine = page.locator(".ris3w-user").last
    assert "see https://evil.example/login and javascript:alert(2)" in mine.inner_text()
    assert mine.locator("a").count() == 0
    assert page.locator(".ris3w-log a[href*='evil'], .ris3w-log a[href^='javascript']").count() == 0
    time.sleep(1)  # an alert() would have come by now
    assert page.dialogs == []


def test_handoff_form_steps_are_shown(page: Any) -> None:
    open_widget(page, "en")
    ask(page, "I want to talk to a human")
    wait_until(page, "[...document.querySelectorAll('.ris3w-bot')].some(m => /your name/i.test(m.textContent))")
    ask(page, "cancel")
    assert page.is_hidden(".ris3w-typing")


def test_keyboard_only(page: Any) -> None:
    page.goto("/?lang=fi")
    assert page.inner_text(".ris3w-launcher") == "Avaa chat"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('ris3w-launcher')"):
            break
    else:
        pytest.fail("Tab never reached the launcher")
    page.keyboard.press("Enter")
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "ris3w-input"
    before = bot_messages(page).count()
    page.keyboard.type("hei")
    page.keyboard.press("Enter")
    wait_until(
        page,
        f"document.querySelectorAll('.ris3w-reply').length > 0 && "
        f"document.querySelectorAll('.ris3w-bot').length > {before}",
    )
    # Back from the input to the quick replies, and one chosen with the keyboard.
    for _ in range(10):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.classList.contains('ris3w-reply')"):
            break
    else:
        pytest.fail("Shift+Tab never reached a quick reply")
    before = bot_messages(page).count()
    page.keyboard.press("Enter")
    # The pressed button is gone with its group: the focus goes on to the input, not to the page.
    assert page.evaluate("document.activeElement.id") == "ris3w-input"
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length > {before}")
    assert page.evaluate("document.activeElement.id") == "ris3w-input"
    page.keyboard.press("Escape")
    assert page.is_hidden("#ris3w-panel")
    assert page.evaluate("document.activeElement.classList.contains('ris3w-launcher')")
    assert page.get_attribute(".ris3w-launcher", "aria-expanded") == "false"


PHONE_ON_ONE_LINE = """() => {
    // The lines the first "+358 ..." number of the last answer is laid out on.
    const answer = [...document.querySelectorAll('.ris3w-bot')].reverse().find(m => /\\+358/.test(m.textContent));
    const walker = document.createTreeWalker(answer, NodeFilter.SHOW_TEXT);
    let text = '';
    const nodes = [];
    while (walker.nextNode()) { nodes.push([walker.currentNode, text.length]); text += walker.currentNode.data; }
    const match = /\\+358[ \\d]*\\d/.exec(text);
    const at = (offset) => {
        const [node, start] = nodes.filter(([, s]) => s <= offset).pop();
        return [node, offset - start];
    };
    const range = document.createRange();
    range.setStart(...at(match.index));
    range.setEnd(...at(match.index + match[0].length));
    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
    return { number: match[0], lines: tops.size };
}"""


@pytest.mark.parametrize("width,height", [(1280, 800), (360, 740)])
def test_accessibility_axe_at_desktop_and_phone_width(
    browser: Any, backoffice_app: ServedApp, width: int, height: int
) -> None:
    # bypass_csp: axe is injected as an inline script, which the demo page's CSP forbids.
    context = browser.new_context(
        viewport={"width": width, "height": height},
        base_url=backoffice_app.url,
        bypass_csp=True,
        reduced_motion="reduce",
    )
    context.set_default_timeout(TIMEOUT)
    try:
        page = context.new_page()
        open_widget(page, "fi")
        ask(page, "mitä on älykäs erikoistuminen?", source="Lähde:")
        ask(page, "kuka on projektipäällikkö?", source="Lähde:")
        # The phone number is laid out on one line, not "+358 44 747 / 8512".
        phone = page.evaluate(PHONE_ON_ONE_LINE)
        assert phone["lines"] == 1, phone
        # Close to the length limit, the counter shows (and is checked by axe with the rest).
        page.fill("#ris3w-input", ("Kerro lisää strategian painopisteistä ja rahoituksesta. " * 40)[:1880])
        page.wait_for_selector(".ris3w-count:not([hidden])")
        assert page.inner_text(".ris3w-count") == "120 merkkiä jäljellä"
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
        box = page.locator("#ris3w-panel").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / ("phone-360.png" if width == 360 else f"desktop-{width}.png")))
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
        )
        found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
        print(
            f"axe {result['testEngine']['version']} at {width}x{height}: {len(result['violations'])} violations, "
            f"{len(result['passes'])} rules passed; to review by hand: "
            f"{[(v['id'], [n['target'] for n in v['nodes']]) for v in result['incomplete']]}; "
            f"violations: {found}"
        )
        assert result["testEngine"]["version"] == AXE_PINNED  # the current release, as pinned
        assert found == []
    finally:
        context.close()


def wait_for_bot(page: Any, pattern: str) -> None:
    """Waits until a message of the bot matches the JS regular expression `pattern` (case-insensitive)."""
    wait_until(page, f"[...document.querySelectorAll('.ris3w-bot')].some(m => /{pattern}/i.test(m.textContent))")


def test_a_reload_and_another_page_continue_the_conversation(page: Any) -> None:
    open_widget(page, "en")
    ask(page, "I want to talk to a human")
    wait_for_bot(page, "your name")
    session = page.evaluate("localStorage.getItem('ris3-widget:session')")

    # Reload: the same Rasa conversation, so the handoff form goes on with the next question.
    page.reload()
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    ask(page, "Aino Esimerkki")
    wait_for_bot(page, "reach you")

    # Another page of the site: the panel stays open, the history is there, and the form still goes on.
    page.click("nav a[href^='/assistant']")
    page.wait_for_url("**/assistant*")
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    assert "Aino Esimerkki" in page.locator(".ris3w-log").inner_text()
    ask(page, "aino@example")  # no top-level domain: the form asks again, so it is still the same form
    wait_for_bot(page, "e-mail")
    ask(page, "cancel")
    wait_for_bot(page, "cancel")
    assert page.evaluate("localStorage.getItem('ris3-widget:session')") == session


def test_the_browser_forgets_a_conversation_idle_for_longer_than_the_keep_time(page: Any) -> None:
    open_widget(page, "en")
    ask(page, "who is the project manager?", source="Source:")
    session = page.evaluate("localStorage.getItem('ris3-widget:session')")
    # An hour idle: still there after a reload.
    page.evaluate("localStorage.setItem('ris3-widget:active', JSON.stringify(Date.now() - 3600 * 1000))")
    page.reload()
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    assert "Tolmunen" in page.locator(".ris3w-log").inner_text()
    # 25 hours idle (the default keep time is 24): history and session are gone, a new conversation starts.
    page.evaluate("localStorage.setItem('ris3-widget:active', JSON.stringify(Date.now() - 25 * 3600 * 1000))")
    page.reload()
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    wait_until(page, "localStorage.getItem('ris3-widget:session') !== null")
    assert "Tolmunen" not in page.locator(".ris3w-log").inner_text()
    assert page.evaluate("localStorage.getItem('ris3-widget:session')") != session


def test_works_with_storage_blocked(page: Any) -> None:
    # Some privacy settings make even reading window.localStorage throw.
    page.add_init_script(
        """for (const name of ['localStorage', 'sessionStorage']) {
             Object.defineProperty(window, name, { get() { throw new DOMException('blocked', 'SecurityError'); } });
           }"""
    )
    page.goto("/?lang=en")
    page.click(".ris3w-launcher")
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    ask(page, "who is the project manager?", source="Source:")


def test_the_language_switch_also_switches_the_bots_answers(page: Any) -> None:
    open_widget(page, "fi")
    ask(page, "RIS3?", source="Lähde:")  # a message that does not tell its language: the interface's decides
    page.click(".ris3w-lang")
    assert page.get_attribute("#ris3w-input", "placeholder") == "Your message"
    ask(page, "RIS3?", source="Source:")


def test_the_typing_indicator_shows_while_the_bot_answers(page: Any) -> None:
    open_widget(page, "en")
    before = bot_messages(page).count()
    # Sent and read in one script run, so the indicator is seen before any answer could come.
    shown = page.evaluate(
        """() => {
            document.querySelector('#ris3w-input').value = 'who is the project manager?';
            document.querySelector('.ris3w-form').requestSubmit();
            return !document.querySelector('.ris3w-typing').hidden;
        }"""
    )
    assert shown
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length > {before}")
    assert page.is_hidden(".ris3w-typing")


SITE_PAGE = """<!doctype html><html lang="fi"><head><meta charset="utf-8"><title>Kunta</title></head>
<body><h1>Kunnan sivu</h1>
<script src="{assets}/static/widget/widget.js" data-server="{server}" data-lang="en" data-open="true"
        data-title="Ask about RIS3" data-color="#8a1538"></script></body></html>"""


def site_page(browser: Any, site: StaticSite) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    # "localhost" rather than 127.0.0.1: another origin than the back office's, on the same loopback server.
    page.goto(site.url.replace("127.0.0.1", "localhost") + "/palvelut/elinkeinot.html")
    return context, page


def test_embedded_on_another_site_with_its_options(browser: Any, backoffice_app: ServedApp, widget_server: str) -> None:
    # http://localhost:* is an allowed origin of the test bot (tests/conftest.py); the assets come from
    # the back office at http://127.0.0.1:<port>, so everything crosses origins as on the council's site.
    with StaticSite("127.0.0.1", SITE_PAGE.format(assets=backoffice_app.url, server=widget_server)) as site:
        context, page = site_page(browser, site)
        try:
            page.wait_for_selector("#ris3w-panel:not([hidden])")  # data-open="true"
            assert page.inner_text(".ris3w-title") == "Ask about RIS3"
            assert page.inner_text(".ris3w-launcher") == "Close chat"  # data-lang="en" wins over the page's fi
            accent = page.evaluate("getComputedStyle(document.querySelector('.ris3w-launcher')).backgroundColor")
            assert accent == "rgb(138, 21, 56)"
            wait_until(page, "localStorage.getItem('ris3-widget:session') !== null")
            ask(page, "who is the project manager?", source="Source:")
        finally:
            context.close()


def test_a_site_that_is_not_allowed_cannot_connect(browser: Any, backoffice_app: ServedApp, widget_server: str) -> None:
    # 127.0.0.2 is loopback too, but not among the test bot's allowed origins.
    with StaticSite("127.0.0.2", SITE_PAGE.format(assets=backoffice_app.url, server=widget_server)) as site:
        context, page = site_page(browser, site)
        try:
            page.wait_for_selector(".ris3w-status:not([hidden])")
            assert "Cannot reach" in page.inner_text(".ris3w-status")
            assert page.evaluate("localStorage.getItem('ris3-widget:session')") is None
        finally:
            context.close()


def test_recovers_when_the_rasa_server_restarts(page: Any, bot_stack: BotProcesses) -> None:
    open_widget(page, "en")
    ask(page, "what is smart specialisation?", source="Source:")
    args = bot_stack.stop_one("rasa")
    page.wait_for_selector(".ris3w-status:not([hidden])")
    assert "Reconnecting" in page.inner_text(".ris3w-status")
    bot_stack.restart("rasa", args)
    page.wait_for_selector(".ris3w-status", state="hidden", timeout=TIMEOUT)
    ask(page, "what is smart specialisation?", source="Source:")


AT_LATEST = """() => {
    const log = document.querySelector('.ris3w-log');
    return { top: log.scrollTop, height: log.scrollHeight, shown: log.clientHeight,
             atEnd: log.scrollTop + log.clientHeight >= log.scrollHeight - 2 };
}"""
LAID_OUT = """async () => {
    // The widget's stylesheet applied (it gives the log its height) and two frames drawn since.
    const log = document.querySelector('.ris3w-log');
    if (getComputedStyle(log).overflowY !== 'auto') return false;
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    return true;
}"""


def test_the_panel_opens_at_the_latest_message_after_a_reload_and_on_another_page(page: Any) -> None:
    open_widget(page, "en")
    for question in ("what is smart specialisation?", "what are the priorities?", "who is the project manager?"):
        ask(page, question, source="Source:")
    assert page.evaluate(AT_LATEST)["height"] > page.evaluate(AT_LATEST)["shown"]  # more than the panel holds

    page.reload()
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    wait_until(page, LAID_OUT)
    position = page.evaluate(AT_LATEST)
    assert position["atEnd"], position

    page.click("nav a[href^='/assistant']")
    page.wait_for_url("**/assistant*")
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    wait_until(page, LAID_OUT)
    position = page.evaluate(AT_LATEST)
    assert position["atEnd"], position
    assert page.locator(".ris3w-bot").last.is_visible()


def test_messages_carry_their_language_and_the_interface_follows_the_conversation(page: Any) -> None:
    open_widget(page, "fi")
    # The widget's own greeting is in the interface language.
    assert page.get_attribute(".ris3w-bot .ris3w-body", "lang") == "fi"
    # The server tells the widget its length limit (2000 by default; the widget's own default was 1000).
    wait_until(page, "document.querySelector('#ris3w-input').maxLength === 2000")

    answer = ask(page, "who is the project manager?", source="Source:")
    body = answer.locator(".ris3w-body")
    assert body.get_attribute("lang") == "en" and body.get_attribute("dir") == "auto"
    mine = page.locator(".ris3w-user .ris3w-body").last
    assert mine.get_attribute("dir") == "auto" and mine.get_attribute("lang") is None  # the user's words: unlabelled

    # English answers on a Finnish page: the interface follows the conversation into English (no offer: the
    # user has not picked a language), and the hidden speaker labels with it.
    assert page.get_attribute("#ris3w-input", "placeholder") == "Your message"
    assert page.is_hidden(".ris3w-offer")
    labels = page.locator(".ris3w-who").all_inner_texts()
    assert {label.strip() for label in labels} == {"Assistant:", "You:"}

    answer = ask(page, "mitkä ovat painopisteet?", source="Lähde:")
    assert answer.locator(".ris3w-body").get_attribute("lang") == "fi"
    assert page.get_attribute("#ris3w-input", "placeholder") == "Viestisi"
    # After a reload every message still has its language.
    page.reload()
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    # The greeting, then each answer and the feedback question under it, in the answer's language.
    assert page.locator(".ris3w-bot .ris3w-body").evaluate_all("els => els.map(e => e.lang)") == [
        "fi", "en", "en", "fi", "fi"]


def test_a_page_load_asks_the_back_office_for_nothing_that_is_missing(page: Any, backoffice_app: ServedApp) -> None:
    # The browser's own request for /favicon.ico does not show among the page's responses: the back office
    # records what it answered.
    seen = len(backoffice_app.answered)
    open_widget(page, "fi")
    ask(page, "hei")
    answered = backoffice_app.answered[seen:]
    assert [a for a in answered if a[1] >= 400] == []
    assert ("/favicon.ico", 200) in answered
