"""What the widget tests share besides fixtures (a module name of its own: test modules cannot import
from `conftest`, as several test folders have one)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.handoff.config import HandoffSettings
from bot.runtime import free_port
from bot.settings import PROJECT_ROOT
from bot.web.app import create_app
from bot.web.config import WebSettings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ALLOWED_ORIGIN = "https://www.kymenlaakso.fi"
TIMEOUT = 60_000  # ms, Playwright's unit
WIDGET_STATIC = PROJECT_ROOT / "bot" / "web" / "static" / "widget"


class ServedApp:
    """The back office's aiohttp app on 127.0.0.1:<free port>, run by an event loop in a thread."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = WebSettings(
            _env_file=None,  # type: ignore[call-arg]
            secret_key=SecretStr(Fernet.generate_key().decode()),
            secret_key_file=tmp / "web-secret.key",
            insecure_cookies=True,
            allowed_origins=[ALLOWED_ORIGIN],
        )
        self.handoff = HandoffSettings(_env_file=None, database_url=f"sqlite:///{tmp / 'handoff.db'}")  # type: ignore[call-arg]
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.runner: Any = None
        self.answered: list[tuple[str, int]] = []  # (path, status) of every response, as the browser got them

    def _run(self) -> None:
        from aiohttp import web

        async def record(request: web.Request, response: web.StreamResponse) -> None:
            self.answered.append((request.path, response.status))

        async def start() -> None:
            app = create_app(self.settings, self.handoff)
            app.on_response_prepare.append(record)
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
            self.ready.set()

        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def start(self) -> ServedApp:
        self.thread.start()
        assert self.ready.wait(60), "the back office did not start"
        return self

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class StaticSite:
    """Another website (the council's or a stranger's) on a loopback address of its own: one page that embeds
    the widget from the back office with a script tag. A real server, so that Chromium sees a real origin."""

    def __init__(self, host: str, page: str) -> None:
        body = page.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StaticSite:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(page: Any, script: str, timeout: float = TIMEOUT / 1000) -> None:
    """Polls a JS expression (page.wait_for_function would need eval, which the demo page's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {script}")
        time.sleep(0.1)


def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, for a module-scoped `browser` fixture (`yield from` this): the
    sync Playwright keeps an event loop running in its thread until it stops, which would break the asyncio
    tests of other folders run after the module. Skips without Chromium or Playwright."""
    if not CHROMIUM.is_file():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
