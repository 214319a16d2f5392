"""The Review page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright), with the real bot on a
copy of the knowledge: sign in, find the group of a question the bot did not answer, assign it to a fact, wait for
the index rebuild, and the "try it" box shows the bot answering it (over its REST channel, no restart); the page
works under its Content-Security-Policy and axe-core finds no violation. Screenshot: reports/review/review.png."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from review_helpers import ReviewStack

from bot.handoff.config import HandoffSettings
from bot.runtime import free_port
from bot.settings import PROJECT_ROOT
from bot.web.app import create_app
from bot.web.config import WebSettings
from bot.web.passwords import hash_password
from bot.web.review import REVIEW_DESK
from tests.web.web_helpers import PASSWORD, USER
from tests.widget.widget_helpers import CHROMIUM, TIMEOUT, chromium_browser

SHOTS = PROJECT_ROOT / "reports" / "review"
AXE = PROJECT_ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
QUESTION = "what are the pillars of the regional development plan"
FACT = "priorities_all"
FACT_WORDS = "smart and green logistics"
OTHER_QUESTION = "what's the weather like in Kotka today?"


def answered(reply: str) -> bool:
    return FACT_WORDS in reply.lower() and "I'm not sure" not in reply


class ServedReview:
    """The back office on a loopback port (an event loop in a thread), its Review desk on the stack's knowledge."""

    def __init__(self, stack: ReviewStack, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = WebSettings(
            _env_file=None,  # type: ignore[call-arg]
            manager_user=USER,
            manager_password_hash=SecretStr(hash_password(PASSWORD)),
            secret_key=SecretStr(Fernet.generate_key().decode()),
            secret_key_file=tmp / "web-secret.key",
            insecure_cookies=True,
        )
        self.handoff = HandoffSettings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=stack.desk.config.database_url,
            tracker_database_url=stack.desk.config.tracker_url,
            rasa_url=stack.bot.url,
        )
        self.desk = stack.desk
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.runner: Any = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.answered: list[tuple[str, int]] = []

    def _run(self) -> None:
        from aiohttp import web

        async def record(request: web.Request, response: web.StreamResponse) -> None:
            self.answered.append((request.path, response.status))

        async def start() -> None:
            app = create_app(self.settings, self.handoff)
            app[REVIEW_DESK] = self.desk
            app.on_response_prepare.append(record)
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
            self.ready.set()

        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def __enter__(self) -> ServedReview:
        self.thread.start()
        assert self.ready.wait(60), "the back office did not start"
        return self

    def __exit__(self, *_: Any) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


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


def sign_in(page: Any, path: str = "/inbox/review") -> None:
    page.goto(path)
    assert "/inbox/login" in page.url
    page.fill("input[name=user]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"**{path.split('?')[0]}*")


def ask(page: Any, question: str) -> str:
    page.fill("#try-question", question)
    page.click("section.try button[type=submit]")
    page.wait_for_selector("#try-result")
    return str(page.inner_text("#try-result"))


def run_axe(page: Any) -> list[Any]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    print(f"axe {result['testEngine']['version']}: {len(result['violations'])} violations, "
          f"{len(result['passes'])} rules passed")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]


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
