"""Screenshots of the Knowledge page for docs/staff.md: docs/images/knowledge-*.png.

    .venv-actions/bin/python scripts/knowledge_screenshots.py [--out docs/images]

Starts the back office in this process on a copy of knowledge/ (a temporary folder: the repository's files are
never touched), with an editor account in a temporary database, and walks through what an editor does in
Debian's Chromium (Playwright): the sources, a new version of the page with the project manager's phone number
changed compared with the current one, the withheld facts after publishing, and the fact editor with the new
number selected in the source and added as a quote. No Rasa server is needed: the pages shown do not ask the bot.
The index is rebuilt after publishing with the configured embedding model, as in the back office.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from bot.analytics.review import ReviewConfig  # noqa: E402
from bot.handoff.config import HandoffSettings  # noqa: E402
from bot.handoff.store import upgrade  # noqa: E402
from bot.knowledge.store import load_knowledge  # noqa: E402
from bot.runtime import free_port  # noqa: E402
from bot.settings import get_settings  # noqa: E402
from bot.web.account_store import AccountStore  # noqa: E402
from bot.web.app import create_app  # noqa: E402
from bot.web.config import WebSettings  # noqa: E402
from bot.web.passwords import hash_password  # noqa: E402
from bot.web.review import REVIEW_CONFIG  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
EDITOR = "editor"
OLD, NEW = "+358 44 747 8512", "+358 40 123 4567"
FACT = "contact_project_manager"
# Narrow enough that the PNGs stay small (text on white compresses well), wide enough for the tables.
VIEWPORT = {"width": 1100, "height": 760}
# Each image stays below this, so that the documentation stays light in git.
MAX_PNG_BYTES = 150 * 1024


@contextmanager
def back_office(work: Path, password: str) -> Iterator[str]:
    """The back office on a loopback port, on the copies in `work`; its address."""
    from aiohttp import web

    knowledge = work / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge, ignore=shutil.ignore_patterns("drafts", ".*"))
    cases = work / "cases"
    shutil.copytree(ROOT / "tests" / "faq" / "cases", cases)
    database = f"sqlite:///{work / 'handoff.db'}"
    upgrade(database)
    accounts = AccountStore.open(database)
    try:
        accounts.add(EDITOR, hash_password(password), ["editor"], by="screenshots")
    finally:
        accounts.close()
    settings = WebSettings(
        _env_file=None,  # type: ignore[call-arg]
        secret_key=SecretStr(Fernet.generate_key().decode()),
        secret_key_file=work / "web-secret.key",
        insecure_cookies=True,
        login_delay_seconds=0,
    )
    handoff = HandoffSettings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database,
        tracker_database_url=f"sqlite:///{work / 'tracker.db'}",
        rasa_url="http://127.0.0.1:9",
    )
    config = ReviewConfig(
        knowledge_dir=knowledge, index_dir=knowledge / "index", embedding_model=get_settings().embedding_model,
        database_url=database, tracker_url=handoff.tracker_database_url, cases_dir=cases,
        nlu_dir=ROOT / "data" / "nlu",
    )
    port, loop, ready = free_port(), asyncio.new_event_loop(), threading.Event()
    runner: list[Any] = []

    async def start() -> None:
        app = create_app(settings, handoff)
        app[REVIEW_CONFIG] = config
        runner.append(web.AppRunner(app))
        await runner[0].setup()
        await web.TCPSite(runner[0], "127.0.0.1", port).start()
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(60):
        raise SystemExit("the back office did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner[0].cleanup(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def select_words(page: Any, source: str, words: str) -> None:
    """Drags the mouse over `words` in the source's text, as an editor does."""
    where = page.evaluate(
        """([source, words]) => {
            const pre = document.querySelector(`pre.source-text[data-source="${source}"]`);
            const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const at = node.data.indexOf(words);
                if (at < 0) continue;
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + 1);
                window.scrollBy({top: range.getBoundingClientRect().top - innerHeight * 0.6, behavior: "instant"});
                const first = range.getBoundingClientRect();
                range.setStart(node, at + words.length - 1);
                range.setEnd(node, at + words.length);
                const last = range.getBoundingClientRect();
                return {x0: first.left + 1, y0: (first.top + first.bottom) / 2,
                        x1: last.right - 1, y1: (last.top + last.bottom) / 2};
            }
            return null;
        }""",
        [source, words],
    )
    if not where:
        raise SystemExit(f"{words!r} is not in the source text")
    page.mouse.move(where["x0"], where["y0"])
    page.mouse.down()
    page.mouse.move(where["x1"], where["y1"], steps=8)
    page.mouse.up()


def shoot(page: Any, out: Path, name: str, selector: str | None = None, *, between: tuple[str, str] | None = None,
          height: int | None = None) -> Path:
    """The element `selector`, or the part of the page from the top of `between[0]` to the bottom of `between[1]`,
    or the top `height` pixels of the window, or the window."""
    path = out / f"knowledge-{name}.png"
    if selector:
        page.locator(selector).first.screenshot(path=str(path))
    elif between:
        first, last = (page.locator(s).first.bounding_box() for s in between)
        scrolled = page.evaluate("window.scrollY")
        top = max(0, first["y"] + scrolled - 12)
        bottom = last["y"] + scrolled + last["height"] + 12
        clip = {"x": 0, "y": top, "width": VIEWPORT["width"], "height": bottom - top}
        page.screenshot(path=str(path), full_page=True, clip=clip)
    elif height:
        page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height})
    else:
        page.screenshot(path=str(path))
    size = path.stat().st_size
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {size // 1024} kB")
    if size > MAX_PNG_BYTES:
        print(f"  larger than {MAX_PNG_BYTES // 1024} kB: show less of the page", file=sys.stderr)
    return path


def walk(url: str, password: str, out: Path, knowledge: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport=VIEWPORT, base_url=url, device_scale_factor=1)
        page.set_default_timeout(120_000)
        page.goto("/inbox/knowledge")
        page.fill("input[name=user]", EDITOR)
        page.fill("input[name=password]", password)
        page.click("form.login button[type=submit]")
        page.wait_for_url("**/inbox/knowledge")

        # 1. The source, its versions and the form for a new one.
        text = load_knowledge(knowledge).sources["ris3-page"].text.replace(OLD, NEW)
        page.select_option("#format-ris3-page", "text")
        page.fill("#text-ris3-page", text)
        page.locator("#text-ris3-page").evaluate("box => { box.scrollTop = box.scrollHeight; }")
        shoot(page, out, "upload", "article.source")

        # 2. The comparison: the facts it leaves stale, the publish form, the changed lines.
        page.click("form.upload button[type=submit]")
        page.wait_for_url("**/uploads/*")
        page.locator("#diff .diff-removed").first.scroll_into_view_if_needed()
        page.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
        shoot(page, out, "compare")

        # 3. Published: the facts withheld, each with "Fix the fact".
        page.click("form[action$='/publish'] button[type=submit]")
        page.wait_for_url("**/inbox/knowledge?done=*")
        shoot(page, out, "withheld", between=("h1", f"#withheld-{FACT}"))

        # 4. The fact editor: the stale quote removed, the new number selected in the source and added.
        page.click(f"#withheld-{FACT} a")
        page.wait_for_url(f"**/facts/{FACT}")
        shoot(page, out, "fact-editor", between=("h1", "fieldset"))
        quotes = [line for line in page.input_value("#quotes").splitlines() if line.strip() and OLD not in line]
        page.fill("#quotes", "\n".join(quotes))
        for box in ("#text_en", "#text_fi"):
            page.fill(box, page.input_value(box).replace(OLD, NEW))
        select_words(page, "ris3-page", f"GSM {NEW}")
        page.click("#add-quote")
        select_words(page, "ris3-page", f"GSM {NEW}")  # shown selected, as the editor sees it
        shoot(page, out, "select-quote", between=("#add-quote", "pre.source-text"))
        shoot(page, out, "quote-added", between=("label[for=quotes]", "button[name=action][value=publish]"))
        page.click("button[name=action][value=check]")
        page.wait_for_selector("#notice")

        # 5. Published: the fact is stated again once the index is rebuilt (seconds); shown when it is, which also
        # lets the rebuild finish before the back office stops.
        page.click("button[name=action][value=publish]")
        page.wait_for_url("**/inbox/knowledge?done=*")
        deadline = time.monotonic() + 300
        while "not yet up to date" in page.inner_text("#index-state") and time.monotonic() < deadline:
            time.sleep(1)
            page.reload()
        shoot(page, out, "published", between=("h1", "#index-state"))
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        print("no /usr/bin/chromium: apt-get install -y chromium", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="ris3-knowledge-shots-") as folder:
        work = Path(folder)
        with back_office(work, password) as url:
            walk(url, password, args.out.resolve(), work / "knowledge")
    return 0


if __name__ == "__main__":
    sys.exit(main())
