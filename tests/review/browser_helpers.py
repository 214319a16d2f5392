"""What the back office's browser tests in this folder share: the back office served on a loopback port for the
real bot of a ReviewStack, signing in, axe-core, and Chromium required under CI."""

from __future__ import annotations

import asyncio
import os
import threading
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
from tests.widget.widget_helpers import CHROMIUM

AXE = PROJECT_ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"


def require_chromium() -> None:
    """Debian's Chromium and axe-core (the widget's node_modules): skipped without them, but failed under CI, which
    installs both (.ci/run, `make setup`), so that CI cannot pass by skipping."""
    missing = [str(path) for path in (CHROMIUM, AXE) if not path.is_file()]
    if missing:
        reason = f"missing {', '.join(missing)}: apt-get install -y chromium; npm ci in widget/"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


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



def sign_in(page: Any, path: str = "/inbox/review", user: str = USER, password: str = PASSWORD) -> None:
    page.goto(path)
    assert "/inbox/login" in page.url
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"**{path.split('?')[0]}*")


def run_axe(page: Any) -> list[Any]:
    """axe-core's WCAG 2.2 AA and best-practice rules on the page as it is; the violations (none is clean).
    axe goes in by the DevTools protocol, which the page's Content-Security-Policy does not govern, so the page is
    checked under its real policy."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    print(f"axe {result['testEngine']['version']}: {len(result['violations'])} violations, "
          f"{len(result['passes'])} rules passed")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
