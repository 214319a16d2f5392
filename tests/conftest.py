"""Shared fixtures: the real bot (Rasa server + action server) for end-to-end tests."""

from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.request
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from bot.runtime import BotProcesses, free_port

# The back office and `bot handoff purge` erase old conversations from the tracker store: in tests, never
# from the developer's var/tracker.db (a test that wants one passes its own).
os.environ["RIS3_TRACKER_DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='ris3-tracker-')}/tracker.db"


class Mailbox(Message):
    """A local SMTP server's inbox: the project manager's mail in tests."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:  # type: ignore[no-untyped-def, override]
        self.messages.append(message)


def post_message(url: str, sender: str, text: str, timeout: float = 60.0) -> list[dict]:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


@pytest.fixture(scope="session")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def bot_stack(mailbox: tuple[Mailbox, int]) -> Iterator[BotProcesses]:
    """One running bot for the whole session; the first answer waits for the model to load.
    Its handoff notifications go by e-mail to the local SMTP server of `mailbox`."""
    _, smtp_port = mailbox
    bot = BotProcesses(
        env={
            "RIS3_HANDOFF_SMTP_HOST": "127.0.0.1",
            "RIS3_HANDOFF_SMTP_PORT": str(smtp_port),
            "RIS3_HANDOFF_SMTP_FROM": "ris3-bot@example.fi",
            "RIS3_HANDOFF_MANAGER_EMAIL": "project.manager@example.fi",
            # The website chat accepts pages on loopback only: the back office's demo page and the stand-in
            # "council site" of the widget tests; tests/e2e/test_web_chat.py checks that others are refused.
            "RIS3_WIDGET_ALLOWED_ORIGINS": "http://127.0.0.1:*, http://localhost:*",
            # Tests type faster than people: a conversation may send 30 messages at once here. The defaults
            # are tested on an instance of their own (tests/e2e/test_limits.py).
            "RIS3_RATE_CONVERSATION_BURST": "30",
        }
    ).start()
    try:
        deadline = time.monotonic() + 120
        while True:
            replies = post_message(bot.url, "warm-up", "what is smart specialisation?")
            if any("Source:" in (r.get("text") or "") for r in replies) or time.monotonic() > deadline:
                break
            time.sleep(1)
        yield bot
    finally:
        bot.stop()


@pytest.fixture(scope="session")
def bot_url(bot_stack: BotProcesses) -> str:
    return bot_stack.url
