"""Shared fixtures: the real bot (Rasa server + action server) for end-to-end tests."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest

from bot.runtime import BotProcesses


def post_message(url: str, sender: str, text: str, timeout: float = 60.0) -> list[dict]:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


@pytest.fixture(scope="session")
def bot_url() -> Iterator[str]:
    """One running bot for the whole session; the first answer waits for the model to load."""
    bot = BotProcesses().start()
    try:
        deadline = time.monotonic() + 120
        while True:
            replies = post_message(bot.url, "warm-up", "what is smart specialisation?")
            if any("Source:" in (r.get("text") or "") for r in replies) or time.monotonic() > deadline:
                break
            time.sleep(1)
        yield bot.url
    finally:
        bot.stop()
