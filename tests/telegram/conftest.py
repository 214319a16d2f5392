"""Fixtures of the Telegram tests: a loopback stand-in for the Bot API, and one real bot (Rasa server +
action server, started with bot.runtime.BotProcesses) whose Telegram channel talks to the stand-in."""

from __future__ import annotations

import json
import statistics
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.channels.telegram_api import SECRET_HEADER
from bot.runtime import BotProcesses
from tests.conftest import post_message
from tests.telegram.telegram_standin import BOT_USERNAME, SECRET, TOKEN, FakeBotApi

# Seconds from the webhook POST to the reply reaching the stand-in, per question, and for comparison the
# same questions' REST round trips (printed at the end of the run).
LATENCIES: list[float] = []
REST_LATENCIES: list[float] = []


@pytest.fixture(scope="session")
def telegram_api() -> Iterator[FakeBotApi]:
    api = FakeBotApi().start()
    try:
        yield api
    finally:
        api.stop()


@dataclass
class TelegramStack:
    bot: BotProcesses
    api: FakeBotApi
    calls_at_start: int  # calls the stand-in received while both servers started
    latencies: list[float] = field(default_factory=lambda: LATENCIES)
    rest_latencies: list[float] = field(default_factory=lambda: REST_LATENCIES)

    @property
    def webhook_url(self) -> str:
        return f"{self.bot.url}/webhooks/telegram/webhook"

    def post(self, update: Any, secret: str | None = SECRET, body: bytes | None = None) -> tuple[int, float]:
        """POSTs an update as Telegram does; (HTTP status, seconds the webhook took to answer)."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        data = body if body is not None else json.dumps(update).encode()
        request = urllib.request.Request(self.webhook_url, data=data, headers=headers, method="POST")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, time.monotonic() - started


@pytest.fixture(scope="session")
def telegram_stack(telegram_api: FakeBotApi) -> Iterator[TelegramStack]:
    """Its own bot for the Telegram tests (the e2e bot has no Telegram settings); about 30 s to start."""
    calls_before = len(telegram_api.snapshot())  # the stand-in is shared with the client's own tests
    bot = BotProcesses(
        env={
            "RIS3_TELEGRAM_TOKEN": TOKEN,
            "RIS3_TELEGRAM_SECRET": SECRET,
            "RIS3_TELEGRAM_API_BASE": telegram_api.base_url,
            "RIS3_TELEGRAM_BOT_USERNAME": BOT_USERNAME,
            "RIS3_RATE_CONVERSATION_BURST": "30",  # tests type faster than people (defaults: tests/e2e/test_limits.py)
            # A 429 asking for more than 2 s queues the reply (60 s in production: tests would wait a minute).
            "RIS3_TELEGRAM_MAX_RETRY_WAIT": "2",
        }
    ).start()
    try:
        calls_at_start = len(telegram_api.snapshot()) - calls_before
        # The first answer waits for the action server's embedding model; warm up over REST.
        deadline = time.monotonic() + 120
        while True:
            replies = post_message(bot.url, "telegram-warm-up", "what is smart specialisation?")
            if any("Source:" in (r.get("text") or "") for r in replies) or time.monotonic() > deadline:
                break
            time.sleep(1)
        yield TelegramStack(bot, telegram_api, calls_at_start)
    finally:
        bot.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for label, seconds in (("webhook POST -> reply at the Bot API stand-in", LATENCIES),
                           ("the same questions over REST", REST_LATENCIES)):
        if seconds:
            ms = [round(s * 1000) for s in seconds]
            terminalreporter.write_line(
                f"telegram: {label}: median {statistics.median(ms):.0f} ms over {len(ms)} questions ({ms} ms)"
            )
