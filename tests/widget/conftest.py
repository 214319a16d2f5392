"""Fixtures for the widget tests: the built widget assets, the back office served on a free port in a
thread of its own, and headless Chromium from Debian (/usr/bin/chromium) driven by Playwright.

The demo pages point the widget at the back office's configured widget server, so each test module gets
its own back office, configured with that module's `widget_server` (a module may override the fixture,
as the browser tests do with the running test bot)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from widget_helpers import TIMEOUT, WIDGET_STATIC, ServedApp, chromium_browser

from bot.settings import PROJECT_ROOT


def pytest_configure(config: pytest.Config) -> None:
    # aiohttp-session 2.12 still keys the request with strings; aiohttp warns about it on every request.
    config.addinivalue_line("filterwarnings", "ignore:It is recommended to use web.RequestKey")


@pytest.fixture(scope="session")
def widget_assets() -> Path:
    """Builds static/widget/ from widget/ (npm ci when node_modules is missing)."""
    build = subprocess.run([str(PROJECT_ROOT / "scripts" / "build_widget.sh")], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"scripts/build_widget.sh failed (needs node and npm):\n{build.stdout}\n{build.stderr}")
    return WIDGET_STATIC


@pytest.fixture(scope="module")
def widget_server() -> str:
    """The Rasa server the demo pages name; nothing needs to listen there for the route tests."""
    return "http://127.0.0.1:5999"


@pytest.fixture(scope="module")
def backoffice_app(
    tmp_path_factory: pytest.TempPathFactory, widget_assets: Path, widget_server: str
) -> Iterator[ServedApp]:
    app = ServedApp(tmp_path_factory.mktemp("widget-web"))
    app.settings = app.settings.model_copy(update={"widget_server": widget_server})
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium_browser()


@pytest.fixture
def page(browser: Any, backoffice_app: ServedApp) -> Iterator[Any]:
    """A tab at 1280×800 on the back office's demo site; `page.dialogs` collects any alert()."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=backoffice_app.url)
    context.set_default_timeout(TIMEOUT)
    tab = context.new_page()
    tab.dialogs = []  # type: ignore[attr-defined]
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))  # type: ignore[attr-defined]
    try:
        yield tab
    finally:
        context.close()
