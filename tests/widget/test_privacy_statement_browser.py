"""Once staff set the privacy statement's address in privacy.yml, the widget's notice links it and the answer to
a privacy question carries it as a link button: a bot started with such a file (RIS3_PRIVACY_FILE), in Chromium."""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from widget_helpers import TIMEOUT, ServedApp, wait_until

from bot.runtime import BotProcesses
from bot.settings import PROJECT_ROOT

STATEMENT = "https://www.kymenlaakso.fi/tietosuojaseloste-ris3"


@pytest.fixture(scope="module")
def configured_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcesses]:
    data = yaml.safe_load((PROJECT_ROOT / "privacy.yml").read_text(encoding="utf-8"))
    data["statement_url"] = STATEMENT
    path = Path(tmp_path_factory.mktemp("privacy")) / "privacy.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    bot = BotProcesses(
        env={"RIS3_PRIVACY_FILE": str(path), "RIS3_WIDGET_ALLOWED_ORIGINS": "http://127.0.0.1:*, http://localhost:*"}
    ).start()
    try:
        yield bot
    finally:
        bot.stop()


@pytest.fixture(scope="module")
def widget_server(configured_bot: BotProcesses) -> Iterator[str]:
    os.environ["RIS3_WEB_WIDGET_SERVER"] = configured_bot.url
    try:
        yield configured_bot.url
    finally:
        os.environ.pop("RIS3_WEB_WIDGET_SERVER", None)


def test_the_notice_links_the_statement(browser: Any, backoffice_app: ServedApp) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=backoffice_app.url)
    context.set_default_timeout(TIMEOUT)
    try:
        page = context.new_page()
        page.goto("/?lang=fi")
        page.click(".ris3w-launcher")
        wait_until(page, "localStorage.getItem('ris3-widget:session') !== null")
        link = page.wait_for_selector(".ris3w-notice a[href]")
        assert link.get_attribute("href") == STATEMENT
        assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
        assert link.inner_text() == "Tietosuojaseloste"
    finally:
        context.close()


def test_the_privacy_answer_carries_the_statement(configured_bot: BotProcesses) -> None:
    request = urllib.request.Request(
        f"{configured_bot.url}/webhooks/rest/webhook",
        data=json.dumps({"sender": f"statement-{uuid.uuid4().hex[:8]}", "message": "privacy policy"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        replies = json.loads(response.read())
    assert STATEMENT in "\n".join(r.get("text") or "" for r in replies)
    assert [b.get("url") for r in replies for b in r.get("buttons") or []] == [STATEMENT]
