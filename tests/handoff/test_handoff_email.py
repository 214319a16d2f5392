"""E-mail to the project manager through a real SMTP server (aiosmtpd on a free loopback port)."""

from __future__ import annotations

import asyncio
import email
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from bot.handoff.config import HandoffSettings
from bot.handoff.draft import TicketDraft
from bot.handoff.outbox import deliver_due
from bot.handoff.senders import DeliveryError, EmailSender
from bot.handoff.store import HandoffStore

Draft = Callable[..., TicketDraft]


@dataclass
class Mailbox:
    """aiosmtpd handler that keeps every message it accepts, with the moment it arrived."""

    messages: list[tuple[float, Message]] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    # aiosmtpd finds its hooks by these names.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append((time.perf_counter(), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def per_reference(self) -> Counter[str]:
        return Counter(str(message["X-RIS3-Reference"]) for _, message in self.messages)


def _settings(port: int) -> HandoffSettings:
    return HandoffSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="ris3-bot@kymenlaakso.fi",
        manager_email="projektipaallikko@kymenlaakso.fi",
        smtp_timeout_seconds=5,
    )


@pytest.fixture
def smtp_server(free_port: int) -> Iterator[tuple[Mailbox, Controller]]:
    """A mailbox and its SMTP server on free_port, not started: the test decides when it is up."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port)
    yield mailbox, controller
    if controller._thread is not None:
        controller.stop()


@pytest.mark.asyncio
async def test_confirmation_reaches_the_manager_by_mail(
    store: HandoffStore, make_draft: Draft, smtp_server: tuple[Mailbox, Controller], free_port: int
) -> None:
    mailbox, controller = smtp_server
    controller.start()
    senders = {"email": EmailSender(_settings(free_port))}

    confirmed = time.perf_counter()
    ticket = await asyncio.to_thread(store.create_ticket, make_draft(contact="maija@yritys.fi"), ["email"])
    stored_at = time.perf_counter()
    report = await deliver_due(store, senders)
    assert report.sent == [ticket.jobs[0].id]

    received, message = mailbox.messages[0]
    print(
        f"\nconfirmation→ticket stored {1000 * (stored_at - confirmed):.1f} ms, "
        f"confirmation→mail at the SMTP server {1000 * (received - confirmed):.1f} ms"
    )
    assert received - confirmed < 5.0
    assert mailbox.envelopes == [("ris3-bot@kymenlaakso.fi", ["projektipaallikko@kymenlaakso.fi"])]
    assert message["Subject"] == f"RIS3 assistant: contact request {ticket.reference}"
    assert message["Reply-To"] == "maija@yritys.fi"
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    text = body.decode(message.get_content_charset() or "utf-8")
    for expected in (
        f"Reference: {ticket.reference}",
        "Name: Maija Meikäläinen",
        "Contact (email): maija@yritys.fi",
        "Voiko yrityksemme osallistua RIS3-hankkeeseen?",
        "Language: fi",
        "Channel: rest",
        "user: Haluan puhua ihmisen kanssa",
        "bot: Kerro nimesi, niin välitän viestin.",
    ):
        assert expected in text
    stored = store.get(ticket.reference)
    assert stored is not None and stored.jobs[0].status == "sent" and stored.jobs[0].sent_at is not None


@pytest.mark.asyncio
async def test_mail_server_down_delays_but_loses_nothing_and_sends_once(
    store: HandoffStore, make_draft: Draft, smtp_server: tuple[Mailbox, Controller], free_port: int
) -> None:
    mailbox, controller = smtp_server
    senders = {"email": EmailSender(_settings(free_port))}
    tickets = [await asyncio.to_thread(store.create_ticket, make_draft(), ["email"]) for _ in range(5)]
    references = {t.reference for t in tickets}
    now = max(t.created_at for t in tickets)

    # Nothing listens on the port yet.
    down = await deliver_due(store, senders, now)
    assert len(down.retrying) == 5 and down.sent == [] and mailbox.messages == []
    for ticket in tickets:
        stored = store.get(ticket.reference)
        assert stored is not None
        job = stored.jobs[0]
        assert (job.status, job.attempts) == ("pending", 1)
        assert job.last_error is not None and "unreachable" in job.last_error
        assert "maija" not in job.last_error.lower()
        assert job.next_attempt_at == now + timedelta(seconds=30)  # the first back-off step
    assert (await deliver_due(store, senders, now + timedelta(seconds=10))).sent == []  # not due yet

    controller.start()
    # A new process after a restart: a fresh store on the same database resumes the jobs.
    resumed = HandoffStore(store.engine.url.render_as_string(hide_password=False))
    try:
        up = await deliver_due(resumed, senders, now + timedelta(minutes=1))
        assert len(up.sent) == 5
        again = await deliver_due(resumed, senders, now + timedelta(days=1))
        assert again.sent == again.retrying == []
    finally:
        resumed.close()
    assert mailbox.per_reference() == Counter(dict.fromkeys(references, 1))
    for ticket in tickets:
        stored = store.get(ticket.reference)
        assert stored is not None
        job = stored.jobs[0]
        assert (job.status, job.attempts, job.last_error) == ("sent", 2, None)


@pytest.mark.asyncio
async def test_refused_mail_is_a_delivery_error_without_the_reply_text(
    store: HandoffStore, make_draft: Draft, free_port: int
) -> None:
    class Refusing:
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
            return f"550 no such user {address}"

    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port)
    controller.start()
    try:
        ticket = store.create_ticket(make_draft(), ["email"])
        with pytest.raises(DeliveryError) as raised:
            await EmailSender(_settings(free_port)).send(ticket)
        assert "kymenlaakso.fi" not in str(raised.value)
    finally:
        controller.stop()
