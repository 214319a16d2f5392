"""The two-way handoff in the store, on SQLite and PostgreSQL: the migration of "open", the thread's
messages stored with their delivery jobs in one transaction, the routes, the limit on the manager's
notifications of additions, messages kept for a conversation taken once, and the purge."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.handoff import thread_store
from bot.handoff.database import make_engine
from bot.handoff.draft import TicketDraft
from bot.handoff.models import MessageJob, ThreadMessage, Ticket
from bot.handoff.senders import DeliveryError
from bot.handoff.store import HandoffStore, TicketClosed, _alembic_config, upgrade
from bot.handoff.thread_outbox import Held, deliver_due_messages
from bot.handoff.validation import InvalidInput

Draft = Callable[..., TicketDraft]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed_store(database_url: str, clock: Clock) -> HandoffStore:
    store = HandoffStore(database_url, clock=clock)
    yield store  # type: ignore[misc]
    store.close()


def _routes(message: ThreadMessage) -> dict[str, str]:
    return {job.route: job.status for job in message.jobs}


def test_migration_turns_open_tickets_into_new_ones(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection=connection), "0001")
            connection.execute(
                text(
                    "INSERT INTO tickets (reference, contact_kind, channel, language, status, created_at, updated_at)"
                    " VALUES ('RIS3-OLD1', 'email', 'rest', 'fi', 'open', :t, :t)"
                ),
                {"t": T0.replace(tzinfo=None)},
            )
        upgrade(empty_database_url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT status FROM tickets")).scalar_one() == "new"
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text("UPDATE tickets SET status = 'open'"))
    finally:
        engine.dispose()


def test_a_reply_is_stored_with_one_job_per_route(timed_store: HandoffStore, make_draft: Draft) -> None:
    web = timed_store.create_ticket(make_draft(conversation_id="web:" + "a" * 32), ["email"])
    assert web.status == "new" and web.conversation_id == "web:" + "a" * 32
    reply = timed_store.reply(web.reference, "petri", "  <b>Hello</b>  ", email_available=True)
    assert reply.text == "<b>Hello</b>" and reply.kind == "manager_reply"
    assert _routes(reply) == {"user_web": "pending", "user_email": "pending"}
    assert timed_store.get(web.reference).status == "answered"  # type: ignore[union-attr]

    rest = timed_store.create_ticket(make_draft(conversation_id="rest:me", contact="+358 40 123 4567"), [])
    waiting = timed_store.reply(rest.reference, "petri", "Which company?", email_available=True, waiting=True)
    assert _routes(waiting) == {"user_rest": "held"}  # nothing to push: taken with the next message
    assert timed_store.get(rest.reference).status == "waiting"  # type: ignore[union-attr]

    telegram = timed_store.create_ticket(make_draft(conversation_id="telegram:42"), [])
    assert _routes(timed_store.reply(telegram.reference, "petri", "Hi", email_available=False)) == {
        "user_telegram": "pending"
    }
    group = timed_store.create_ticket(make_draft(conversation_id="telegram:-1001234:42"), [])
    assert _routes(timed_store.reply(group.reference, "petri", "Hi", email_available=True)) == {
        "user_email": "pending"  # never into the group's chat
    }


def test_a_failed_job_takes_its_message_with_it(
    timed_store: HandoffStore, make_draft: Draft, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = timed_store.create_ticket(make_draft(conversation_id="telegram:42"), [])
    monkeypatch.setattr(thread_store, "user_routes", lambda *_: ["user_telegram", "no_such_route"])
    with pytest.raises(IntegrityError):
        timed_store.reply(ticket.reference, "petri", "Hello", email_available=True)
    thread = timed_store.thread(ticket.reference)
    assert thread is not None and thread.messages == [] and thread.status == "new"


def test_bad_text_and_closed_tickets_are_refused(timed_store: HandoffStore, make_draft: Draft) -> None:
    ticket = timed_store.create_ticket(make_draft(conversation_id="rest:me"), [])
    for bad in ("", "   ", "x" * 4001, "a\x00b"):
        with pytest.raises(InvalidInput):
            timed_store.reply(ticket.reference, "petri", bad, email_available=True)
    closed = timed_store.close_ticket(ticket.reference, "petri", email_available=True)
    assert closed.status == "closed"
    with pytest.raises(TicketClosed):
        timed_store.reply(ticket.reference, "petri", "too late", email_available=True)
    with pytest.raises(TicketClosed):
        timed_store.add_user_message(ticket.reference, "and one more thing", ["email"])
    thread = timed_store.thread(ticket.reference)
    assert thread is not None and [m.kind for m in thread.messages] == ["system"]
    assert "closed your request" in (thread.messages[0].text or "") or "sulkenut" in (thread.messages[0].text or "")
    assert _routes(thread.messages[0]) == {"user_rest": "held"}  # the user is told, without an e-mail
    timed_store.close_ticket(ticket.reference, "petri", email_available=True)  # again: nothing new
    assert len(timed_store.thread(ticket.reference).messages) == 1  # type: ignore[union-attr]


def test_additions_notify_the_manager_once_per_quarter_hour(
    timed_store: HandoffStore, make_draft: Draft, clock: Clock
) -> None:
    ticket = timed_store.create_ticket(make_draft(conversation_id="web:" + "b" * 32), ["email", "telegram"])
    timed_store.reply(ticket.reference, "petri", "Tell me more", email_available=False)
    clock.now = T0 + timedelta(minutes=5)
    first = timed_store.add_user_message(ticket.reference, "We are a company of 20 people.", ["email", "telegram"])
    assert _routes(first) == {"manager_email": "pending", "manager_telegram": "pending"}
    # Not before a quarter of an hour after the ticket's own notification.
    assert {job.next_attempt_at for job in first.jobs} == {T0 + timedelta(minutes=15)}
    assert timed_store.get(ticket.reference).status == "new"  # type: ignore[union-attr]
    clock.now = T0 + timedelta(minutes=6)
    second = timed_store.add_user_message(ticket.reference, "And in Kotka.", ["email", "telegram"])
    assert second.jobs == []  # rides along with the waiting notification
    assert [m.text for m in timed_store.additions_since(first)] == [
        "We are a company of 20 people.", "And in Kotka."
    ]
    for job in first.jobs:
        timed_store.mark_message_sent(job.id, now=T0 + timedelta(minutes=15))
    clock.now = T0 + timedelta(minutes=20)
    third = timed_store.add_user_message(ticket.reference, "One more.", ["email"])
    assert {job.next_attempt_at for job in third.jobs} == {T0 + timedelta(minutes=20)}


def test_kept_messages_are_taken_once(timed_store: HandoffStore, make_draft: Draft, clock: Clock) -> None:
    ticket = timed_store.create_ticket(make_draft(conversation_id="rest:me", language="en"), [])
    other = timed_store.create_ticket(make_draft(conversation_id="rest:someone-else"), [])
    timed_store.reply(ticket.reference, "petri", "First <i>reply</i>", email_available=False)
    timed_store.reply(ticket.reference, "petri", "Second", email_available=False)
    timed_store.reply(other.reference, "petri", "Not yours", email_available=False)
    taken = timed_store.take_kept("rest:me", "user_rest")
    assert [t["text"] for t in taken] == [
        f"Reply from the project manager to your request {ticket.reference}:\n\nFirst <i>reply</i>",
        f"Reply from the project manager to your request {ticket.reference}:\n\nSecond",
    ]
    assert timed_store.take_kept("rest:me", "user_rest") == []
    thread = timed_store.thread(ticket.reference)
    assert thread is not None and all(job.status == "sent" for m in thread.messages for job in m.jobs)


def test_a_push_in_flight_is_not_taken_again(timed_store: HandoffStore, make_draft: Draft, clock: Clock) -> None:
    ticket = timed_store.create_ticket(make_draft(conversation_id="web:" + "c" * 32), [])
    reply = timed_store.reply(ticket.reference, "petri", "Hello", email_available=False)
    (job,) = reply.jobs
    assert timed_store.claim_message_job(job.id, T0, T0 + timedelta(minutes=5))
    assert timed_store.take_kept("web:" + "c" * 32, "user_web") == []  # the outbox is pushing it
    timed_store.hold_message_job(job.id)  # no page was open
    assert len(timed_store.take_kept("web:" + "c" * 32, "user_web")) == 1


def test_the_telegram_notice_leads_to_its_ticket(timed_store: HandoffStore, make_draft: Draft) -> None:
    ticket = timed_store.create_ticket(make_draft(conversation_id="web:" + "d" * 32), ["telegram"])
    timed_store.mark_sent(ticket.jobs[0].id, external_id="777")
    found = timed_store.ticket_of_telegram_notice(777)
    assert found is not None and found.reference == ticket.reference
    assert timed_store.ticket_of_telegram_notice(778) is None


def test_purge_erases_the_thread(timed_store: HandoffStore, make_draft: Draft, clock: Clock) -> None:
    ticket = timed_store.create_ticket(make_draft(conversation_id="web:" + "e" * 32), [])
    timed_store.reply(ticket.reference, "petri", "Personal reply to Maija", email_available=True)
    timed_store.add_user_message(ticket.reference, "My phone is 040 123 4567", ["email"])
    assert timed_store.purge(90, now=T0 + timedelta(days=91)) == 1
    thread = timed_store.thread(ticket.reference)
    assert thread is not None and thread.conversation_id is None
    assert [m.text for m in thread.messages] == [None, None]
    assert {job.status for m in thread.messages for job in m.jobs} == {"failed"}
    with pytest.raises(TicketClosed):
        timed_store.reply(ticket.reference, "petri", "after the purge", email_available=True)


class Recorder:
    def __init__(self, route: str, outcome: str = "ok") -> None:
        self.route = route
        self.outcome = outcome
        self.seen: Counter[int] = Counter()

    async def send(self, ticket: Ticket, message: ThreadMessage, additions: Sequence[ThreadMessage]) -> str | None:
        await asyncio.sleep(0.005)
        self.seen[message.id] += 1
        if self.outcome == "held":
            raise Held
        if self.outcome == "down":
            raise DeliveryError("unreachable (ConnectionRefusedError)")
        return "99"


@pytest.mark.asyncio
async def test_the_outbox_delivers_holds_and_retries(timed_store: HandoffStore, make_draft: Draft) -> None:
    ticket = timed_store.create_ticket(make_draft(conversation_id="web:" + "f" * 32), [])
    reply = timed_store.reply(ticket.reference, "petri", "Hello", email_available=True)
    web, mail = Recorder("user_web", "held"), Recorder("user_email", "down")
    report = await deliver_due_messages(timed_store, {"user_web": web, "user_email": mail}, now=T0)
    assert (report.held, report.retrying) == ([reply.jobs[0].id], [reply.jobs[1].id])
    jobs = {job.route: job for job in timed_store.thread(ticket.reference).messages[0].jobs}  # type: ignore[union-attr]
    assert jobs["user_web"].status == "held" and jobs["user_email"].status == "pending"
    assert jobs["user_email"].next_attempt_at == T0 + timedelta(seconds=30)
    mail.outcome = "ok"
    report = await deliver_due_messages(timed_store, {"user_email": mail}, now=T0 + timedelta(seconds=30))
    assert report.sent == [reply.jobs[1].id]
    assert (await deliver_due_messages(timed_store, {"user_email": mail}, now=T0 + timedelta(hours=1))).sent == []
    assert mail.seen[reply.id] == 2  # one failure, one delivery, nothing after


@pytest.mark.asyncio
async def test_two_deliverers_send_each_message_once(database_url: str, make_draft: Draft) -> None:
    barrier = threading.Barrier(2)

    class Snapshot(HandoffStore):
        def due_message_jobs(self, now: datetime, limit: int = 50) -> list[MessageJob]:
            jobs = super().due_message_jobs(now, limit)
            barrier.wait(timeout=10)
            return jobs

    first, second = Snapshot(database_url), Snapshot(database_url)
    sender = Recorder("user_telegram")
    try:
        tickets = [first.create_ticket(make_draft(conversation_id=f"telegram:{n}"), []) for n in range(6)]
        replies = [first.reply(t.reference, "petri", "Hello", email_available=False) for t in tickets]
        await asyncio.gather(
            deliver_due_messages(first, {"user_telegram": sender}),
            deliver_due_messages(second, {"user_telegram": sender}),
        )
    finally:
        first.close()
        second.close()
    assert sender.seen == Counter({reply.id: 1 for reply in replies})
