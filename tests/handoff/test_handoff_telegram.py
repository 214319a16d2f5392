"""Telegram notifications against a loopback stand-in for the Bot API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from pydantic import SecretStr

from bot.handoff.config import HandoffSettings
from bot.handoff.draft import TicketDraft
from bot.handoff.outbox import deliver_due
from bot.handoff.senders import TELEGRAM_MAX_TEXT, DeliveryError, TelegramSender
from bot.handoff.store import HandoffStore

Draft = Callable[..., TicketDraft]
TOKEN = "123456:ABC-test_token"
CHAT_ID = "-1001234567"


@dataclass
class BotApi:
    """Records sendMessage calls; answers 429 with retry_after to the first `limited` of them."""

    url: str = ""
    calls: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    limited: int = 0
    retry_after: float = 1

    async def send_message(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        body = await request.json()
        self.calls.append((time.perf_counter(), token, body))
        if token != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        if str(body.get("chat_id")) != CHAT_ID:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, status=400
            )
        if self.limited > 0:
            self.limited -= 1
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {self.retry_after}",
                    "parameters": {"retry_after": self.retry_after},
                },
                status=429,
            )
        return web.json_response({"ok": True, "result": {"message_id": len(self.calls), "text": body["text"]}})


@pytest_asyncio.fixture
async def bot_api() -> AsyncIterator[BotApi]:
    api = BotApi()
    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", api.send_message)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    api.url = f"http://{host}:{port}"
    yield api
    await runner.cleanup()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _settings(api: BotApi, token: str = TOKEN) -> HandoffSettings:
    return HandoffSettings(telegram_api_base=api.url, telegram_token=SecretStr(token), manager_chat_id=CHAT_ID)


@pytest.mark.asyncio
async def test_rate_limit_is_waited_out_then_the_message_is_sent(
    store: HandoffStore, make_draft: Draft, bot_api: BotApi, http: aiohttp.ClientSession
) -> None:
    bot_api.limited = 1
    ticket = store.create_ticket(make_draft(contact="+46 8 123 456 78"), ["telegram"])
    report = await deliver_due(store, {"telegram": TelegramSender(_settings(bot_api), http)})

    assert report.sent == [ticket.jobs[0].id]
    assert len(bot_api.calls) == 2
    (first, token, body), (second, _, _) = bot_api.calls
    assert second - first >= 1.0  # retry_after honoured
    assert token == TOKEN and body["chat_id"] == CHAT_ID
    assert f"Reference: {ticket.reference}" in body["text"]
    assert "Contact (phone): +46812345678" in body["text"]
    stored = store.get(ticket.reference)
    assert stored is not None and stored.jobs[0].status == "sent"


@pytest.mark.asyncio
async def test_a_long_rate_limit_becomes_the_retry_time(
    store: HandoffStore, make_draft: Draft, bot_api: BotApi, http: aiohttp.ClientSession
) -> None:
    bot_api.limited, bot_api.retry_after = 1, 600
    ticket = store.create_ticket(make_draft(), ["telegram"])
    now = ticket.created_at
    sender = TelegramSender(_settings(bot_api), http)
    report = await deliver_due(store, {"telegram": sender}, now)
    assert report.retrying == [ticket.jobs[0].id] and len(bot_api.calls) == 1
    stored = store.get(ticket.reference)
    assert stored is not None
    # Telegram's 600 s, not the 30 s first back-off step.
    assert stored.jobs[0].next_attempt_at == now + timedelta(seconds=600)
    assert (await deliver_due(store, {"telegram": sender}, now + timedelta(seconds=599))).sent == []
    assert len((await deliver_due(store, {"telegram": sender}, now + timedelta(seconds=600))).sent) == 1


@pytest.mark.asyncio
async def test_a_wrong_token_fails_without_leaking_it(
    store: HandoffStore, make_draft: Draft, bot_api: BotApi, http: aiohttp.ClientSession
) -> None:
    ticket = store.create_ticket(make_draft(), ["telegram"])
    report = await deliver_due(store, {"telegram": TelegramSender(_settings(bot_api, token="999:wrong"), http)})
    assert report.retrying == [ticket.jobs[0].id]
    assert bot_api.calls[0][1] == "999:wrong"  # the token travels in the path, as in the real API
    stored = store.get(ticket.reference)
    assert stored is not None
    assert stored.jobs[0].last_error == "Telegram API answered 401: Unauthorized"


@pytest.mark.asyncio
async def test_api_down_is_a_delivery_error_without_the_token(
    make_draft: Draft, store: HandoffStore, http: aiohttp.ClientSession, free_port: int
) -> None:
    ticket = store.create_ticket(make_draft(), ["telegram"])
    settings = HandoffSettings(
        telegram_api_base=f"http://127.0.0.1:{free_port}", telegram_token=SecretStr(TOKEN), manager_chat_id=CHAT_ID
    )
    with pytest.raises(DeliveryError) as raised:
        await TelegramSender(settings, http).send(ticket)
    assert "ABC" not in str(raised.value) and "unreachable" in str(raised.value)


@pytest.mark.asyncio
async def test_a_long_conversation_is_shortened_to_telegrams_limit(
    store: HandoffStore, make_draft: Draft, bot_api: BotApi, http: aiohttp.ClientSession
) -> None:
    transcript = [{"sender": "user", "text": f"viesti {i} " + "x" * 200, "time": 0} for i in range(60)]
    ticket = store.create_ticket(make_draft(transcript=transcript), ["telegram"])
    await TelegramSender(_settings(bot_api), http).send(ticket)
    text = bot_api.calls[0][2]["text"]
    assert len(text) <= TELEGRAM_MAX_TEXT
    assert "Voiko yrityksemme osallistua RIS3-hankkeeseen?" in text and "shortened" in text
