"""The Review page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright), with the real bot on a
copy of the knowledge: sign in, find the group of a question the bot did not answer, assign it to a fact, wait for
the index rebuild, and the "try it" box shows the bot answering it (over its REST channel, no restart); the page
works under its Content-Security-Policy and axe-core finds no violation. Screenshot: reports/review/review.png."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from browser_helpers import ServedReview, run_axe, sign_in
from review_helpers import ReviewStack

from bot.settings import PROJECT_ROOT
from tests.widget.widget_helpers import CHROMIUM, TIMEOUT, chromium_browser

SHOTS = PROJECT_ROOT / "reports" / "review"
QUESTION = "what are the pillars of the regional development plan"
FACT = "priorities_all"
FACT_WORDS = "smart and green logistics"
OTHER_QUESTION = "what's the weather like in Kotka today?"


def answered(reply: str) -> bool:
    return FACT_WORDS in reply.lower() and "I'm not sure" not in reply


@pytest.fixture(scope="module")
def served(review_stack: ReviewStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedReview]:
    if not CHROMIUM.is_file():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium (apt-get install -y chromium)")
    before = [review_stack.ask(f"review-browser-{n}-{uuid.uuid4().hex[:6]}", QUESTION) for n in range(2)]
    if any(answered(reply) for reply in before):
        pytest.skip(f"the bot already answers {QUESTION!r} with {FACT}: {before}")
    # Another question, left in the queue for the accessibility check of a group's form.
    review_stack.ask(f"review-browser-{uuid.uuid4().hex[:6]}", OTHER_QUESTION)
    with ServedReview(review_stack, tmp_path_factory.mktemp("review-browser")) as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium_browser()


def ask(page: Any, question: str) -> str:
    page.fill("#try-question", question)
    page.click("section.try button[type=submit]")
    page.wait_for_selector("#try-result")
    return str(page.inner_text("#try-result"))


def test_assign_a_group_to_a_fact_and_the_bot_answers_it(browser: Any, served: ServedReview) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=served.url)
    context.set_default_timeout(TIMEOUT)
    problems: list[str] = []
    try:
        page = context.new_page()
        # A CSP refusal, a script error or a failed file shows up here.
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        sign_in(page)
        assert page.inner_text("h1") == "Review"
        assert page.get_attribute("header a[href='/inbox/review']", "href") == "/inbox/review"
        group = page.locator("article.group", has=page.locator(f"input[name=question][value='{QUESTION}']"))
        assert group.count() == 1
        assert "2 times" in group.locator("dl.meta").inner_text()
        # The facts are searchable (review.js, allowed by the CSP) and shown with their text.
        page.click("text=All facts with their text")
        page.fill("#fact-search", "green logistics")
        assert page.locator("#fact-list li:not([hidden])").count() < page.locator("#fact-list li").count()
        assert FACT_WORDS in page.locator("#fact-list li:not([hidden])").first.inner_text().lower()
        # Nothing is chosen beforehand (the bot's guess is only a hint); choosing a fact chooses "answered by a fact".
        assert group.locator("select[name=fact]").input_value() == ""
        group.locator("select[name=fact]").select_option(FACT)
        assert group.locator("input[name=decision][value=fact]").is_checked()
        group.locator("button[type=submit]").click()
        page.wait_for_url("**/inbox/review?*decided=*")
        assert "Decided: Should have been answered by a fact" in page.inner_text("#notice")
        assert QUESTION in page.inner_text("#notice")
        deadline = time.monotonic() + 300
        while "Knowledge index rebuilt" not in page.inner_text("#index-status"):
            assert "failed" not in page.inner_text("#index-status"), page.inner_text("#index-status")
            assert time.monotonic() < deadline, "the index was not rebuilt in time"
            time.sleep(2)
            page.reload()
        # The running bot takes the new index up within seconds; the "try it" box asks it as a user would.
        deadline, reply = time.monotonic() + 60, ""
        while not answered(reply) and time.monotonic() < deadline:
            reply = ask(page, QUESTION)
        assert answered(reply), reply
        assert page.locator(f"article.group input[name=question][value='{QUESTION}']").count() == 0
        assert problems == []
        assert ("/static/review.js", 200) in served.answered and ("/static/review.css", 200) in served.answered
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "review.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 360])
def test_accessibility_axe(browser: Any, served: ServedReview, width: int) -> None:
    # bypass_csp: axe is injected as an inline script, which the page's CSP forbids.
    context = browser.new_context(viewport={"width": width, "height": 800}, base_url=served.url, bypass_csp=True)
    context.set_default_timeout(TIMEOUT)
    try:
        page = context.new_page()
        sign_in(page)
        ask(page, "what is smart specialisation?")  # the page with a reply shown
        page.click("text=All facts with their text")  # the list inside is checked too
        assert page.locator("article.group", has_text=OTHER_QUESTION).count() == 1
        assert run_axe(page) == []
        if width == 360:  # the page scrolls only inside its wide table, not sideways as a whole
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth)"
                ".filter(e => !e.closest('.scroll')).map(e => e.tagName + '.' + e.className).slice(0, 8)"
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= width, wide
    finally:
        context.close()
