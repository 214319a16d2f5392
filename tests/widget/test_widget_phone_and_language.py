"""The widget on a phone and across languages (issue 25, items 6-8), in headless Chromium against the stand-in
of the website chat channel (chat_standin.py), which answers in the language and at the length a test needs.
Screenshots at 1280×800 and 360×740 go to reports/widget/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.request import Request, urlopen

import pytest
from chat_standin import StandInChat
from widget_helpers import ALLOWED_ORIGIN, TIMEOUT, ServedApp, wait_until

from bot.knowledge.store import load_knowledge
from bot.settings import PROJECT_ROOT, get_settings

pytestmark = pytest.mark.usefixtures("widget_server")
SHOTS = PROJECT_ROOT / "reports" / "widget"
AXE = PROJECT_ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"desktop": (1280, 800), "phone": (360, 740)}
# Two animation frames: what the page does on a scroll or a resize has run after this.
FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
BUTTONS = [{"content_type": "text", "title": f"Topic number {n}", "payload": f"/topic_{n}"} for n in range(1, 7)]


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInChat]:
    with StandInChat(max_message_chars=2000) as chat:
        yield chat


@pytest.fixture(scope="module")
def widget_server(standin: StandInChat) -> str:
    return standin.url


@pytest.fixture(autouse=True)
def fresh(standin: StandInChat) -> Iterator[None]:
    standin.scripted.clear()
    yield
    standin.scripted.clear()


@pytest.fixture
def contexts(browser: Any, backoffice_app: ServedApp) -> Iterator[Any]:
    """Opens browser contexts at a size (each its own site storage); all are closed after the test."""
    made: list[Any] = []

    def new(size: str, bypass_csp: bool = False) -> Any:
        """bypass_csp: for axe, which is injected as an inline script that the demo page's CSP forbids."""
        width, height = SIZES[size]
        context = browser.new_context(
            viewport={"width": width, "height": height}, base_url=backoffice_app.url, bypass_csp=bypass_csp
        )
        context.set_default_timeout(TIMEOUT)
        made.append(context)
        return context

    yield new
    for context in made:
        context.close()


def open_widget(page: Any, lang: str) -> None:
    page.goto(f"/?lang={lang}")
    page.click(".ris3w-launcher")
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    wait_until(page, "localStorage.getItem('ris3-widget:session') !== null")


def send(page: Any, text: str) -> None:
    """Sends a message and waits for the stand-in's answer."""
    before = page.locator(".ris3w-bot").count()
    page.fill("#ris3w-input", text)
    page.press("#ris3w-input", "Enter")
    wait_until(page, f"document.querySelectorAll('.ris3w-bot').length > {before}")


def box(page: Any, selector: str) -> dict[str, float]:
    return page.locator(selector).last.bounding_box()


def axe_violations(page: Any) -> list[Any]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]


def labels(page: Any) -> tuple[str, str, str]:
    return (
        page.get_attribute("#ris3w-input", "placeholder"),
        page.inner_text(".ris3w-send"),
        page.inner_text(".ris3w-launcher"),
    )


# Item 6 ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_language_offer_is_made_once_and_never_covers_the_last_button(
    contexts: Any, standin: StandInChat, size: str
) -> None:
    page = contexts(size, bypass_csp=True).new_page()
    offer_buttons = {"text": "Hello! Pick a topic:", "lang": "en", "quick_replies": BUTTONS}
    standin.scripted["hello"] = [("bot_uttered", offer_buttons)]
    # The user picked Finnish (the language button), then writes English: the switch is offered, in English.
    open_widget(page, "en")
    page.click(".ris3w-lang")
    assert page.get_attribute("#ris3w-input", "placeholder") == "Viestisi"
    send(page, "hello")
    page.wait_for_selector(".ris3w-offer:not([hidden])")
    assert page.inner_text(".ris3w-offer-btn") == "Switch the chat to English"
    # The offer sits below the log; the last quick reply is in the log's view, above the offer.
    log, offer, last = box(page, ".ris3w-log"), box(page, ".ris3w-offer"), box(page, ".ris3w-reply")
    assert last["y"] >= log["y"] - 1 and last["y"] + last["height"] <= log["y"] + log["height"] + 1, (log, last)
    assert last["y"] + last["height"] <= offer["y"], (last, offer)
    assert page.evaluate(
        """() => { const r = [...document.querySelectorAll('.ris3w-reply')].pop().getBoundingClientRect();
                   const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                   return hit !== null && hit.closest('.ris3w-reply') !== null; }"""
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"language-offer-{size}.png"))
    assert axe_violations(page) == []
    # Dismissed, it goes, and it is not offered again in this conversation, on this page or after a reload.
    page.click(".ris3w-offer-no")
    assert page.is_hidden(".ris3w-offer")
    assert page.evaluate("document.activeElement.id") == "ris3w-input"
    send(page, "hello")
    assert page.is_hidden(".ris3w-offer")
    page.reload()
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    assert page.is_hidden(".ris3w-offer")
    assert page.get_attribute("#ris3w-input", "placeholder") == "Viestisi"  # the user's choice stands


def test_writing_on_answers_the_offer_and_accepting_it_switches(contexts: Any, standin: StandInChat) -> None:
    page = contexts("desktop").new_page()
    open_widget(page, "en")
    page.click(".ris3w-lang")
    send(page, "first")
    page.wait_for_selector(".ris3w-offer:not([hidden])")
    send(page, "second")  # the user writes on instead of answering: that is an answer too
    assert page.is_hidden(".ris3w-offer")
    assert page.get_attribute("#ris3w-input", "placeholder") == "Viestisi"

    other = contexts("desktop").new_page()
    open_widget(other, "en")
    other.click(".ris3w-lang")
    send(other, "first")
    other.click(".ris3w-offer-btn")
    assert other.get_attribute("#ris3w-input", "placeholder") == "Your message"
    assert other.is_hidden(".ris3w-offer")


# Item 7 ---------------------------------------------------------------------------------------------------


def test_an_english_writer_on_a_finnish_page_gets_english_labels_and_other_tabs_follow(
    contexts: Any, standin: StandInChat
) -> None:
    context = contexts("desktop")
    page = context.new_page()
    open_widget(page, "fi")
    assert labels(page)[:2] == ("Viestisi", "Lähetä")
    second = context.new_page()  # another tab of the same site, open before anything is said
    second.goto("/assistant")
    assert second.inner_text(".ris3w-launcher") == "Avaa chat"

    send(page, "what are the priorities?")  # the stand-in answers in English, as the bot does an English writer
    assert labels(page)[:2] == ("Your message", "Send")
    send(page, "and the project?")
    assert page.locator(".ris3w-who").first.inner_text().startswith("Assistant")
    page.click(".ris3w-close")
    assert page.inner_text(".ris3w-launcher") == "Open chat"
    # The other tab follows without a reload.
    wait_until(second, "document.querySelector('.ris3w-launcher').textContent === 'Open chat'")

    # The user switches in the second tab: the first follows, and no longer follows the replies' language.
    second.click(".ris3w-launcher")
    second.click(".ris3w-lang")
    assert labels(second)[0] == "Viestisi"
    wait_until(page, "document.querySelector('.ris3w-launcher').textContent === 'Avaa chat'")
    page.click(".ris3w-launcher")
    send(page, "and the timeline?")
    assert labels(page)[:2] == ("Viestisi", "Lähetä")
    # The server was told the user's choice with the next message, and not told back what it said itself.
    told = [m.get("metadata", {}).get("language") for m in standin.received[-2:]]
    assert told == [None, "fi"], told


# Item 8 ---------------------------------------------------------------------------------------------------


def test_on_a_phone_the_chat_fills_the_screen_without_the_keyboard_and_long_answers_open_at_their_start(
    contexts: Any, standin: StandInChat
) -> None:
    long_answer = "\n".join(f"Line {n} of a long answer about the strategy." for n in range(1, 61))
    standin.scripted["tell me everything"] = [("bot_uttered", {"text": long_answer, "lang": "en"})]
    page = contexts("phone").new_page()
    open_widget(page, "en")
    # No focus in the input (the on-screen keyboard would cover the answer); the focus is in the dialog.
    assert page.evaluate("document.activeElement.id") != "ris3w-input"
    assert page.evaluate("document.querySelector('#ris3w-panel').contains(document.activeElement)")
    # The panel is the whole screen (once its opening animation ended): nothing of the page shows around it.
    wait_until(page, "document.getAnimations().every(a => a.playState === 'finished')", timeout=5)
    panel = {k: round(v) for k, v in box(page, "#ris3w-panel").items()}
    assert panel == {"x": 0, "y": 0, "width": 360, "height": 740}, panel
    corners = page.evaluate(
        """() => [[1, 1], [358, 1], [1, 738], [358, 738], [180, 370]].map(([x, y]) =>
                 !!(document.elementFromPoint(x, y) || document.body).closest('.ris3w'))"""
    )
    assert corners == [True] * 5, corners
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "phone-360-open.png"))

    page.fill("#ris3w-input", "tell me everything")
    page.press("#ris3w-input", "Enter")
    wait_until(page, "[...document.querySelectorAll('.ris3w-bot')].some(b => b.innerText.includes('Line 60'))")
    at_start = """() => { const log = document.querySelector('.ris3w-log').getBoundingClientRect();
                          const answer = [...document.querySelectorAll('.ris3w-bot')].pop().getBoundingClientRect();
                          return answer.top >= log.top - 1 && answer.top <= log.top + 24; }"""
    wait_until(page, f"({at_start})()", timeout=5)
    page.screenshot(path=str(SHOTS / "phone-360-long-answer.png"))
    # Closed and opened again, and after a reload: still at the start of that answer.
    page.click(".ris3w-close")
    page.click(".ris3w-launcher")
    assert page.evaluate(at_start)
    page.reload()
    page.wait_for_selector("#ris3w-panel:not([hidden])")
    wait_until(page, f"({at_start})()", timeout=5)
    # The user scrolls to the end: the log stays there.
    page.evaluate("const l = document.querySelector('.ris3w-log'); l.scrollTop = l.scrollHeight")
    page.evaluate(FRAMES)  # the scroll event comes with the next frame
    page.set_viewport_size({"width": 360, "height": 700})
    page.evaluate(FRAMES)  # and the resize's
    at_end = "(l => l.scrollTop + l.clientHeight >= l.scrollHeight - 8)(document.querySelector('.ris3w-log'))"
    assert page.evaluate(at_end)


def test_on_a_desktop_opening_the_chat_focuses_the_input_and_the_page_shows_around_it(contexts: Any) -> None:
    page = contexts("desktop").new_page()
    open_widget(page, "en")
    assert page.evaluate("document.activeElement.id") == "ris3w-input"
    assert box(page, "#ris3w-panel")["width"] < 500


def menu_titles(lang: str) -> list[str]:
    knowledge = load_knowledge(get_settings().knowledge_dir)
    return [knowledge.facts[f].title.get(lang) or knowledge.facts[f].title["en"] for f in knowledge.menu]


@pytest.mark.parametrize("size", SIZES)
def test_suggested_questions_before_the_first_message(contexts: Any, standin: StandInChat, size: str) -> None:
    page = contexts(size, bypass_csp=True).new_page()
    open_widget(page, "fi")
    wait_until(page, "document.querySelectorAll('.ris3w-reply').length > 0")
    assert page.locator(".ris3w-reply").all_inner_texts() == menu_titles("fi")
    assert page.get_attribute(".ris3w-replies", "lang") == "fi"
    page.screenshot(path=str(SHOTS / f"suggested-questions-{size}.png"))
    assert axe_violations(page) == []
    # Before the first message, switching the language brings the greeting and the topics in that language.
    page.click(".ris3w-lang")
    wait_until(page, "(document.querySelector('.ris3w-replies') || {}).lang === 'en'")
    assert page.locator(".ris3w-reply").all_inner_texts() == menu_titles("en")
    assert page.locator(".ris3w-bot").count() == 1
    # A topic sends the bot's own payload for that fact; the user sees its title.
    received = len(standin.received)
    first = page.locator(".ris3w-reply").first
    title = first.inner_text()
    first.click()
    wait_until(page, "document.querySelectorAll('.ris3w-bot').length > 1")
    knowledge = load_knowledge(get_settings().knowledge_dir)
    payload = "/answer_fact" + json.dumps({"fact_id": knowledge.menu[0]}, separators=(",", ":"))
    assert standin.messages()[received] == payload
    assert page.locator(".ris3w-user").last.inner_text().endswith(title)


def test_the_topics_endpoint_refuses_an_unknown_language(backoffice_app: ServedApp) -> None:
    # The council's pages fetch it from another origin: an allowed one gets the CORS header, as for the widget.
    asked = Request(f"{backoffice_app.url}/static/widget/topics.json?lang=en", headers={"Origin": ALLOWED_ORIGIN})
    with urlopen(asked) as response:
        body = json.load(response)
        assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert [b["title"] for b in body["buttons"]] == menu_titles("en")
    with urlopen(Request(asked.full_url, headers={"Origin": "https://stranger.example"})) as response:
        assert response.headers["Access-Control-Allow-Origin"] is None
    with pytest.raises(Exception) as refused:
        urlopen(f"{backoffice_app.url}/static/widget/topics.json?lang=sv")
    assert getattr(refused.value, "code", None) == 400
