"""The outbox: retries with back-off, giving up visibly, no double sending, no personal data in logs."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from bot.handoff.config import HandoffSettings
from bot.handoff.draft import TicketDraft
from bot.handoff.models import NotificationJob, Ticket
from bot.handoff.outbox import RetryPolicy, deliver_due, run_outbox
from bot.handoff.senders import DeliveryError, Sender
from bot.handoff.store import HandoffStore

Draft = Callable[..., TicketDraft]


class RecordingSender:
    """Counts deliveries per reference; fails while `down`, the way a real sender would."""

    def __init__(self, kind: str = "email", delay: float = 0.0) -> None:
        self.kind = kind
        self.delay = delay
        self.down = False
        self.delivered: Counter[str] = Counter()

    async def send(self, ticket: Ticket) -> None:
        await asyncio.sleep(self.delay)  # a network round trip: lets another deliverer run meanwhile
        if self.down:
            raise DeliveryError("mail server unreachable (ConnectionRefusedError)")
        self.delivered[ticket.reference] += 1


class LeakySender:
    """A sender with a bug whose exception message holds the user's details."""

    kind = "email"

    async def send(self, ticket: Ticket) -> None:
        raise KeyError(f"{ticket.name} <{ticket.contact}>")


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=8, backoff_base_seconds=30, backoff_max_seconds=3600)
    assert [policy.delay(n).total_seconds() for n in range(9)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert policy.delay(10_000).total_seconds() == 3600
    settings = HandoffSettings(max_attempts=3, backoff_base_seconds=5, backoff_max_seconds=20)
    assert RetryPolicy.from_settings(settings) == RetryPolicy(3, 5, 20)


class SnapshotStore(HandoffStore):
    """A store whose due_jobs returns only when the other deliverer has read too: both then hold the
    same list of due jobs, the worst case for double sending."""

    def __init__(self, database_url: str, barrier: threading.Barrier) -> None:
        super().__init__(database_url)
        self._barrier = barrier

    def due_jobs(self, now: datetime, limit: int = 50) -> list[NotificationJob]:
        jobs = super().due_jobs(now, limit)
        self._barrier.wait(timeout=10)
        return jobs


@pytest.mark.asyncio
async def test_two_deliverers_at_once_send_each_job_once(database_url: str, make_draft: Draft) -> None:
    # Two stores with their own connection pools stand for two processes (action server, back office).
    barrier = threading.Barrier(2)
    first, second = SnapshotStore(database_url, barrier), SnapshotStore(database_url, barrier)
    sender = RecordingSender(delay=0.005)
    try:
        tickets = [first.create_ticket(make_draft(), ["email"]) for _ in range(12)]
        reports = await asyncio.gather(deliver_due(first, {"email": sender}), deliver_due(second, {"email": sender}))
    finally:
        first.close()
        second.close()
    assert sender.delivered == Counter({t.reference: 1 for t in tickets})
    # Each deliverer saw all 12 jobs; what one sent, the other found taken.
    assert sorted(reports[0].sent + reports[1].sent) == sorted(reports[0].taken + reports[1].taken)
    assert len(reports[0].sent + reports[1].sent) == 12


@pytest.mark.asyncio
async def test_retries_back_off_then_fail_visibly(store: HandoffStore, make_draft: Draft) -> None:
    policy = RetryPolicy(max_attempts=3, backoff_base_seconds=30, backoff_max_seconds=3600)
    sender = RecordingSender()
    sender.down = True
    ticket = store.create_ticket(make_draft(), ["email"])
    job_id, now = ticket.jobs[0].id, ticket.created_at

    first = await deliver_due(store, {"email": sender}, now, policy=policy)
    assert first.retrying == [job_id]
    second = await deliver_due(store, {"email": sender}, now + timedelta(seconds=30), policy=policy)
    assert second.retrying == [job_id]
    early = await deliver_due(store, {"email": sender}, now + timedelta(seconds=89), policy=policy)
    assert early.retrying == early.sent == []  # 30 s + 60 s: not yet
    third = await deliver_due(store, {"email": sender}, now + timedelta(seconds=90), policy=policy)
    assert third.failed == [job_id]

    stored = store.get(ticket.reference)
    assert stored is not None
    job = stored.jobs[0]
    assert (job.status, job.attempts, job.last_error) == (
        "failed",
        3,
        "mail server unreachable (ConnectionRefusedError)",
    )
    assert job.sent_at is None
    sender.down = False
    later = await deliver_due(store, {"email": sender}, now + timedelta(days=30), policy=policy)
    assert later.sent == [] and sender.delivered == Counter()  # failed stays failed, for a person to see


@pytest.mark.asyncio
async def test_a_channel_without_a_sender_keeps_its_jobs(store: HandoffStore, make_draft: Draft) -> None:
    ticket = store.create_ticket(make_draft(), ["email", "telegram"])
    email_job, telegram_job = ticket.jobs
    sender = RecordingSender()
    report = await deliver_due(store, {"email": sender})
    assert (report.sent, report.no_sender) == ([email_job.id], [telegram_job.id])
    later = await deliver_due(store, {"email": sender, "telegram": RecordingSender("telegram")})
    assert later.sent == [telegram_job.id]


@pytest.mark.asyncio
async def test_personal_data_stays_out_of_logs_and_errors(
    store: HandoffStore, make_draft: Draft, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    draft = make_draft(name="Salainen Henkilö", contact="salainen@example.org")
    ticket = store.create_ticket(draft, ["email", "webhook"])
    working, down = RecordingSender(), RecordingSender("webhook")
    down.down = True
    await deliver_due(store, {"email": working, "webhook": down})
    # and a sender bug whose message holds the details
    other = store.create_ticket(make_draft(name="Toinen Henkilö", contact="044 123 4567"), ["email"])
    report = await deliver_due(store, {"email": LeakySender()})
    assert report.retrying == [other.jobs[0].id]

    stored = store.get(other.reference)
    assert stored is not None and stored.jobs[0].last_error == "unexpected KeyError in the email sender"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert ticket.reference in logged and other.reference in logged
    for secret in ("Salainen", "salainen@example.org", "Toinen", "0441234567", "+358441234567", "044 123 4567"):
        assert secret not in logged


@pytest.mark.asyncio
async def test_run_outbox_delivers_until_stopped(store: HandoffStore, make_draft: Draft) -> None:
    sender = RecordingSender()
    senders: dict[str, Sender] = {"email": sender}
    stop = asyncio.Event()
    loop = asyncio.create_task(run_outbox(store, senders, interval=0.05, stop_event=stop))
    ticket = await asyncio.to_thread(store.create_ticket, make_draft(), ["email"])
    for _ in range(100):
        if sender.delivered:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(loop, timeout=2)
    assert sender.delivered == Counter({ticket.reference: 1})


@pytest.mark.asyncio
async def test_run_outbox_survives_a_database_outage(free_port: int, caplog: pytest.LogCaptureFixture) -> None:
    down = HandoffStore(f"postgresql+psycopg://postgres@127.0.0.1:{free_port}/none")
    stop = asyncio.Event()
    try:
        loop = asyncio.create_task(run_outbox(down, {}, interval=0.05, stop_event=stop))
        await asyncio.sleep(0.3)
        assert not loop.done()  # still trying
        stop.set()
        await asyncio.wait_for(loop, timeout=10)
    finally:
        down.close()
    assert any("unavailable" in r.getMessage() for r in caplog.records)
