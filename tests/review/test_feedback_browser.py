"""Feedback on an answer from the website widget to the back office, in headless Chromium (Debian's
/usr/bin/chromium, driven by Playwright) against the real bot: a visitor asks in the widget, finds "Did this answer
your question?" with Yes and No (a labelled group, reached and pressed by keyboard, axe-core clean), presses No and
gets the offer of the project manager; staff then find the question in Review ("user said not helpful") and the
"no" in Insights' helpfulness table for that fact, language and channel."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from browser_helpers import AXE, ServedReview, run_axe, sign_in
from review_helpers import ReviewStack

from bot.analytics.turns import load_turns
from bot.settings import PROJECT_ROOT
from tests.widget.widget_helpers import CHROMIUM, TIMEOUT, WIDGET_STATIC, chromium_browser, wait_until

SHOTS = PROJECT_ROOT / "reports" / "widget"
# Not a question any other test asks: its group in Review is this test's.
QUESTION = "Which priority areas has the Kymenlaakso strategy picked?"
OFFER = "Would you like me to pass your question to the strategy's project manager?"


@pytest.fixture(scope="module")
def served(review_stack: ReviewStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedReview]:
    if not CHROMIUM.is_file():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium (apt-get install -y chromium)")
    build = subprocess.run([str(PROJECT_ROOT / "scripts" / "build_widget.sh")], capture_output=True, text=True)
    assert build.returncode == 0 and (WIDGET_STATIC / "widget.js").is_file(), build.stderr
    app = ServedReview(review_stack, tmp_path_factory.mktemp("feedback-browser"))
    # The demo page's widget talks to the test bot.
    app.settings = app.settings.model_copy(update={"widget_server": review_stack.bot.url})
    with app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium_browser()


def test_no_in_the_widget_reaches_review_and_insights(
    browser: Any, served: ServedReview, review_stack: ReviewStack
) -> None:
    assert AXE.is_file(), "widget/node_modules/axe-core is missing: run scripts/build_widget.sh"
    # bypass_csp: axe is injected as an inline script, which the page's CSP forbids.
    visitor = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=served.url, bypass_csp=True)
    visitor.set_default_timeout(TIMEOUT)
    problems: list[str] = []
    try:
        page = visitor.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto("/?lang=en")
        page.click(".ris3w-launcher")
        wait_until(page, "localStorage.getItem('ris3-widget:session') !== null")
        page.fill("#ris3w-input", QUESTION)
        page.press("#ris3w-input", "Enter")
        page.wait_for_selector(".ris3w-feedback")
        assert page.locator(".ris3w-source").last.inner_text().startswith("Source:")
        group = page.locator(".ris3w-feedback")
        assert group.count() == 1
        assert group.get_attribute("role") == "group"
        assert group.get_attribute("aria-label") == "Did this answer your question?"
        assert [b.inner_text() for b in group.locator("button").all()] == ["Yes", "No"]
        # The answer's own buttons stay under it, above the question.
        answer_buttons = page.locator(".ris3w-replies:not(.ris3w-feedback) .ris3w-reply").count()
        assert answer_buttons > 0
        # After a reload both are still there, the answer's buttons and the question's.
        page.reload()
        page.wait_for_selector(".ris3w-feedback")
        assert page.locator(".ris3w-replies:not(.ris3w-feedback) .ris3w-reply").count() == answer_buttons
        assert page.locator(".ris3w-feedback").get_attribute("aria-label") == "Did this answer your question?"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "feedback.png"))
        assert run_axe(page) == []
        # By keyboard: from the answer's last button, Tab reaches Yes, then No; Enter presses it.
        page.locator(".ris3w-replies:not(.ris3w-feedback) .ris3w-reply").last.focus()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Yes"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "No"
        page.keyboard.press("Enter")
        wait_until(page, f"document.querySelector('.ris3w-log').innerText.includes({OFFER!r})")
        assert page.locator(".ris3w-feedback").count() == 0  # answered: the question is gone, not asked again
        assert [b.inner_text() for b in page.locator(".ris3w-replies .ris3w-reply").all()] == ["Yes", "No"]
        assert page.evaluate("document.activeElement.id") == "ris3w-input"
        assert problems == []
    finally:
        visitor.close()

    today = datetime.now(timezone.utc).date()
    stored = load_turns(review_stack.desk.config.tracker_url, today - timedelta(days=1), today + timedelta(days=1))
    (answer,) = [t for t in stored if t.text == QUESTION]
    assert answer.channel == "web" and answer.helpful is False and answer.fact

    staff = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=served.url)
    staff.set_default_timeout(TIMEOUT)
    try:
        page = staff.new_page()
        sign_in(page)
        group = page.locator("article.group", has=page.locator(f"input[name=question][value='{QUESTION}']"))
        assert group.count() == 1
        assert "user said not helpful 1" in " ".join(group.locator("dl.meta").inner_text().split())
        page.goto("/inbox/insights")
        row = (
            page.locator("#helpfulness tbody tr", has=page.locator(f"span.id:text-is('{answer.fact}')"))
            .filter(has_text="Website")
            .filter(has_text="English")
        )
        assert row.count() == 1
        cells = [c.inner_text() for c in row.locator("td").all()]
        # Language, channel, answers, yes, no, helpful share.
        assert cells[3:5] == ["0", "1"] and cells[5] == "0.0\u00a0%"
    finally:
        staff.close()

