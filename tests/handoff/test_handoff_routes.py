"""Which notification routes an install has, and whether they work (issue 25 item 1): `bin/bot doctor` against
a real local SMTP server, Telegram's Bot API stand-in and a port nobody listens on; the inbox's own word on them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from bot.runtime import free_port
from bot.settings import PROJECT_ROOT
from tests.telegram.telegram_standin import TOKEN, FakeBotApi


@pytest.fixture(scope="module")
def smtp_port() -> Iterator[int]:
    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture(scope="module")
def bot_api() -> Iterator[FakeBotApi]:
    api = FakeBotApi().start()
    yield api
    api.stop()


def doctor(**env: str) -> subprocess.CompletedProcess[str]:
    # Only these settings: none from the developer's environment or .env (the command runs in a scratch folder).
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RIS3_HANDOFF_")}
    clean["PYTHONPATH"] = str(PROJECT_ROOT)
    return subprocess.run([sys.executable, "-m", "bot", "doctor", "--timeout", "5"], capture_output=True, text=True,
                          env={**clean, **env}, cwd=PROJECT_ROOT / "tests", timeout=60, check=False)


MAIL = {"RIS3_HANDOFF_SMTP_FROM": "bot@example.fi", "RIS3_HANDOFF_MANAGER_EMAIL": "pm@example.fi"}


def test_no_route_configured_says_tickets_wait_in_the_inbox() -> None:
    done = doctor()
    assert done.returncode == 3, done.stderr
    assert "E-mail to the project manager: not configured" in done.stdout
    assert "No notification route is configured: a new ticket waits in the back office's inbox" in done.stdout


def test_working_routes_are_said_to_work(smtp_port: int, bot_api: FakeBotApi) -> None:
    done = doctor(RIS3_HANDOFF_SMTP_HOST="127.0.0.1", RIS3_HANDOFF_SMTP_PORT=str(smtp_port), **MAIL,
                  RIS3_HANDOFF_TELEGRAM_TOKEN=TOKEN, RIS3_HANDOFF_MANAGER_CHAT_ID="4242",
                  RIS3_HANDOFF_TELEGRAM_API_BASE=bot_api.base_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"E-mail to the project manager: works (to pm@example.fi via 127.0.0.1:{smtp_port})" in done.stdout
    assert "Telegram message to the project manager: works (to chat 4242)" in done.stdout
    assert "E-mail copy of a reply to the user: works" in done.stdout
    assert "No notification route" not in done.stdout
    assert TOKEN not in done.stdout  # no secret printed


def test_a_route_that_fails_says_why(bot_api: FakeBotApi) -> None:
    done = doctor(RIS3_HANDOFF_SMTP_HOST="127.0.0.1", RIS3_HANDOFF_SMTP_PORT=str(free_port()), **MAIL,
                  RIS3_HANDOFF_TELEGRAM_TOKEN="1:wrong", RIS3_HANDOFF_MANAGER_CHAT_ID="4242",
                  RIS3_HANDOFF_TELEGRAM_API_BASE=bot_api.base_url)
    assert done.returncode == 1
    assert "E-mail to the project manager: fails: SMTPConnectError" in done.stdout
    assert "Telegram message to the project manager: fails: getMe answered 401" in done.stdout


def test_a_half_configured_route_names_what_is_missing() -> None:
    done = doctor(RIS3_HANDOFF_SMTP_HOST="127.0.0.1")
    assert done.returncode == 3
    assert "missing RIS3_HANDOFF_SMTP_FROM, RIS3_HANDOFF_MANAGER_EMAIL" in done.stdout
