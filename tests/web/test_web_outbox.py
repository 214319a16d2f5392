"""The back office's background work: pending notifications are delivered after (re)start, and personal
data past its retention is erased."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from pydantic import SecretStr
from web_helpers import StartBackoffice

from bot.cli import main as bot_main
from bot.handoff.config import HandoffSettings
from bot.handoff.draft import TicketDraft
from bot.handoff.models import Ticket
from bot.handoff.senders import SIGNATURE_HEADER
from bot.handoff.store import HandoffStore

SECRET = "webhook-secret-of-the-test"


class Receiver:
    """A loopback stand-in for the council's webhook endpoint; checks the signature like a real one."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.received = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get(SIGNATURE_HEADER, "")):
            return web.Response(status=401)
        self.accepted.append(json.loads(body))
        self.received.set()
        return web.Response(status=204)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/handoff", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    hook.url = f"http://{host}:{port}/handoff"
    yield hook
    await runner.cleanup()


def _webhook_settings(database_url: str, url: str) -> HandoffSettings:
    return HandoffSettings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        webhook_url=url,
        webhook_secret=SecretStr(SECRET),
        backoff_base_seconds=0.05,  # a failed attempt is due again at once
        http_timeout_seconds=5.0,
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _job_status(store: HandoffStore, reference: str) -> tuple[str, int]:
    ticket = store.get(reference)
    assert ticket is not None
    (job,) = ticket.jobs
    return job.status, job.attempts


async def _wait_for_attempt(store: HandoffStore, reference: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await _job_status(store, reference))[1] == 0:
        assert asyncio.get_running_loop().time() < deadline, "the outbox made no attempt"
        await asyncio.sleep(0.05)


async def _wait_for_sent(store: HandoffStore, reference: str) -> None:
    for _ in range(100):
        if (await _job_status(store, reference))[0] == "sent":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the job was delivered but not recorded as sent")


@pytest.mark.asyncio
async def test_a_pending_job_is_delivered_after_startup(
    start_backoffice: StartBackoffice,
    database_url: str,
    store: HandoffStore,
    make_ticket: Callable[..., Ticket],
    receiver: Receiver,
) -> None:
    # Left pending by an earlier process: only the database knows about it.
    ticket = make_ticket(channels=("webhook",))
    await start_backoffice(handoff=_webhook_settings(database_url, receiver.url))
    await asyncio.wait_for(receiver.received.wait(), timeout=10)
    assert [payload["reference"] for payload in receiver.accepted] == [ticket.reference]
    await _wait_for_sent(store, ticket.reference)


@pytest.mark.asyncio
async def test_a_restart_resumes_a_delivery_that_failed_before(
    start_backoffice: StartBackoffice,
    database_url: str,
    store: HandoffStore,
    make_ticket: Callable[..., Ticket],
    receiver: Receiver,
) -> None:
    ticket = make_ticket(channels=("webhook",))
    # First run: the receiver's address is wrong, so the attempt fails and the job stays pending.
    first = await start_backoffice(handoff=_webhook_settings(database_url, f"http://127.0.0.1:{_closed_port()}/x"))
    await _wait_for_attempt(store, ticket.reference)
    await first.client.close()  # the server stops, its background work with it
    status, attempts = await _job_status(store, ticket.reference)
    assert status == "pending" and attempts >= 1
    assert receiver.accepted == []

    # Second run, configured right: the same job goes out.
    await start_backoffice(handoff=_webhook_settings(database_url, receiver.url))
    await asyncio.wait_for(receiver.received.wait(), timeout=10)
    assert [payload["reference"] for payload in receiver.accepted] == [ticket.reference]
    await _wait_for_sent(store, ticket.reference)


@pytest.mark.asyncio
async def test_the_purge_erases_old_personal_data_at_startup(
    start_backoffice: StartBackoffice, database_url: str, store: HandoffStore, handoff_settings: HandoffSettings
) -> None:
    long_ago = datetime.now(timezone.utc) - timedelta(days=handoff_settings.retention_days + 1)
    old_store = HandoffStore(database_url, clock=lambda: long_ago)
    draft = TicketDraft(
        name="Vanha Asiakas",
        contact="+358 40 123 4567",
        question="Vanha kysymys?",
        language="fi",
        channel="rest",
        consent=True,
    )
    old = old_store.create_ticket(draft, [])
    old_store.close()
    recent = store.create_ticket(draft, [])

    await start_backoffice()
    for _ in range(100):
        erased = store.get(old.reference)
        if erased is not None and erased.personal_data_erased_at is not None:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the old ticket was not purged")
    assert erased.name is None and erased.contact is None and erased.question is None
    kept = store.get(recent.reference)
    assert kept is not None and kept.name == "Vanha Asiakas"


def test_the_purge_command_prints_how_many_were_erased(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    make_ticket: Callable[..., Ticket],
) -> None:
    make_ticket()
    make_ticket()
    monkeypatch.setenv("RIS3_HANDOFF_DATABASE_URL", database_url)
    assert bot_main(["handoff", "purge"]) == 0  # default: the 90-day retention, nothing that old
    assert "retention 90 days: 0 conversations, personal data of 0 tickets" in capsys.readouterr().out
    assert bot_main(["handoff", "purge", "--days", "0"]) == 0
    assert "retention 0 days: 0 conversations, personal data of 2 tickets" in capsys.readouterr().out
    assert bot_main(["handoff", "purge", "--days", "-1"]) == 2
