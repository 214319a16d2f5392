"""The signed webhook: a receiver that checks X-RIS3-Signature as the documentation tells it to."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from pydantic import SecretStr

from bot.handoff.config import HandoffSettings
from bot.handoff.draft import TicketDraft
from bot.handoff.outbox import deliver_due
from bot.handoff.senders import SIGNATURE_HEADER, WebhookSender, sign
from bot.handoff.store import HandoffStore

Draft = Callable[..., TicketDraft]
SECRET = "shared-secret-of-the-back-office"


@dataclass
class Receiver:
    """Accepts a POST only when its signature matches the body under the receiver's own secret."""

    secret: str
    url: str = ""
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get(SIGNATURE_HEADER, "")):
            self.rejected += 1
            return web.Response(status=401, text="bad signature")
        self.accepted.append(json.loads(body))
        return web.Response(status=204)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver(SECRET)
    app = web.Application()
    app.router.add_post("/ris3/handoff", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    hook.url = f"http://{host}:{port}/ris3/handoff"
    yield hook
    await runner.cleanup()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _sender(receiver: Receiver, http: aiohttp.ClientSession, secret: str) -> WebhookSender:
    return WebhookSender(HandoffSettings(webhook_url=receiver.url, webhook_secret=SecretStr(secret)), http)


@pytest.mark.asyncio
async def test_signed_ticket_is_accepted(
    store: HandoffStore, make_draft: Draft, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    ticket = store.create_ticket(make_draft(question="<b>Hei</b> & 'terve'"), ["webhook"])
    report = await deliver_due(store, {"webhook": _sender(receiver, http, SECRET)})
    assert report.sent == [ticket.jobs[0].id]
    assert receiver.rejected == 0
    (payload,) = receiver.accepted
    assert payload["reference"] == ticket.reference
    assert payload["name"] == "Maija Meikäläinen"
    assert payload["contact"] == "maija.meikalainen@yritys.fi" and payload["contact_kind"] == "email"
    assert payload["question"] == "<b>Hei</b> & 'terve'"
    assert payload["transcript"][1]["sender"] == "bot"
    assert (payload["language"], payload["channel"], payload["status"]) == ("fi", "rest", "new")


@pytest.mark.asyncio
async def test_a_wrong_secret_is_caught_by_the_receiver(
    store: HandoffStore, make_draft: Draft, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    ticket = store.create_ticket(make_draft(), ["webhook"])
    report = await deliver_due(store, {"webhook": _sender(receiver, http, "not-the-shared-secret")})
    assert receiver.rejected == 1 and receiver.accepted == []
    assert report.retrying == [ticket.jobs[0].id]  # not delivered: it will be tried again
    stored = store.get(ticket.reference)
    assert stored is not None
    assert (stored.jobs[0].status, stored.jobs[0].last_error) == ("pending", "webhook answered 401")


def test_the_signature_covers_every_byte_of_the_body() -> None:
    body = b'{"reference":"RIS3-7K2Q"}'
    signature = sign(body, SECRET)
    assert signature == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(body.replace(b"7K2Q", b"7K2R"), SECRET) != signature
    assert sign(body, SECRET + "x") != signature
