"""The ticket store on SQLite and PostgreSQL: migrations, atomic creation, hostile text, purge, jobs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect, text

from bot.handoff.draft import ConsentMissing, TicketDraft
from bot.handoff.models import NotificationJob
from bot.handoff.reference import PATTERN
from bot.handoff.store import (
    ERASED_BEFORE_DELIVERY,
    HandoffStore,
    StoreUnavailable,
    TicketNotFound,
    head_revision,
    upgrade,
)
from bot.handoff.validation import InvalidContact, InvalidName
from bot.settings import PROJECT_ROOT
from tests.handoff.schema_models import all_tables

Draft = Callable[..., TicketDraft]
HOSTILE_HTML = '<script>alert("x")</script><img src=x onerror=alert(1)>'
HOSTILE_SQL = "'; DROP TABLE tickets; --"


def _count(store: HandoffStore, table: str) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_migrations_build_the_models_schema_and_can_run_again(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)  # a restart runs it again: nothing to do, no error
    store = HandoffStore(empty_database_url)
    try:
        store.ping()
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert context.get_current_revision() == head_revision() == "0005"
            # The migrations and the models (the tickets' and Review's) describe the same tables and indexes.
            assert compare_metadata(context, all_tables()) == []
        tables = set(inspect(store.engine).get_table_names())
        assert {"tickets", "notification_jobs", "alembic_version"} <= tables
    finally:
        store.close()


def test_ping_names_an_unmigrated_database(empty_database_url: str) -> None:
    store = HandoffStore(empty_database_url)
    try:
        with pytest.raises(StoreUnavailable, match="upgrade"):
            store.ping()
    finally:
        store.close()


def test_ping_reports_a_database_that_is_down(free_port: int) -> None:
    store = HandoffStore(f"postgresql+psycopg://postgres:secret@127.0.0.1:{free_port}/test")
    try:
        with pytest.raises(StoreUnavailable, match="unavailable") as raised:
            store.ping()
        assert "secret" not in str(raised.value)  # the URL is named without its password
    finally:
        store.close()


def test_ticket_and_one_job_per_channel(store: HandoffStore, make_draft: Draft) -> None:
    ticket = store.create_ticket(make_draft(contact="044 747 8512"), ["email", "telegram", "email"])
    assert PATTERN.match(ticket.reference)
    stored = store.get(ticket.reference)
    assert stored is not None
    assert (stored.name, stored.contact, stored.contact_kind) == ("Maija Meikäläinen", "+358447478512", "phone")
    assert stored.status == "new" and stored.language == "fi" and stored.channel == "rest"
    assert stored.transcript_entries[0] == {
        "sender": "user",
        "text": "Haluan puhua ihmisen kanssa",
        "time": "2026-01-01T10:00:00+00:00",
    }
    assert stored.created_at.tzinfo is not None
    assert [(j.kind, j.status, j.attempts) for j in stored.jobs] == [
        ("email", "pending", 0),
        ("telegram", "pending", 0),
    ]
    assert all(j.next_attempt_at == stored.created_at for j in stored.jobs)


def test_no_channel_configured_still_keeps_the_ticket(store: HandoffStore, make_draft: Draft) -> None:
    ticket = store.create_ticket(make_draft(), [])
    stored = store.get(ticket.reference)
    assert stored is not None and stored.jobs == []


@pytest.fixture
def fail_on_job_insert() -> Iterator[None]:
    def explode(*_: object) -> None:
        raise RuntimeError("simulated crash after the ticket insert")

    event.listen(NotificationJob, "before_insert", explode)
    yield
    event.remove(NotificationJob, "before_insert", explode)


@pytest.mark.usefixtures("fail_on_job_insert")
def test_failure_after_the_ticket_insert_stores_nothing(store: HandoffStore, make_draft: Draft) -> None:
    with pytest.raises(RuntimeError, match="simulated"):
        store.create_ticket(make_draft(), ["email"])
    assert _count(store, "tickets") == 0
    assert _count(store, "notification_jobs") == 0


def test_invalid_drafts_store_nothing(store: HandoffStore, make_draft: Draft) -> None:
    with pytest.raises(ConsentMissing):
        store.create_ticket(make_draft(consent=False), ["email"])
    with pytest.raises(InvalidContact) as contact:
        store.create_ticket(make_draft(contact="maija@yritys"), ["email"])
    assert contact.value.key == "invalid_email"
    with pytest.raises(InvalidName):
        store.create_ticket(make_draft(name="123"), ["email"])
    with pytest.raises(ValueError, match="unknown notification channels"):
        store.create_ticket(make_draft(), ["email", "carrier-pigeon"])
    with pytest.raises(ValueError, match="sender"):
        store.create_ticket(make_draft(transcript=[{"sender": "system", "text": "x"}]), [])
    assert _count(store, "tickets") == 0


def test_html_and_sql_are_stored_as_plain_text(store: HandoffStore, make_draft: Draft) -> None:
    draft = make_draft(
        name=HOSTILE_SQL,
        contact="o'hara@example.com",
        question=f"{HOSTILE_HTML}\n{HOSTILE_SQL}",
        transcript=[{"sender": "user", "text": HOSTILE_SQL + HOSTILE_HTML, "time": 0}],
        channel="socketio",
    )
    ticket = store.create_ticket(draft, ["webhook"])
    stored = store.get(ticket.reference)
    assert stored is not None
    assert stored.name == HOSTILE_SQL
    assert stored.contact == "o'hara@example.com"
    assert stored.question == f"{HOSTILE_HTML}\n{HOSTILE_SQL}"
    assert stored.transcript_entries[0]["text"] == HOSTILE_SQL + HOSTILE_HTML
    assert _count(store, "tickets") == 1  # the table is still there


def test_references_are_unique(store: HandoffStore, make_draft: Draft) -> None:
    references = [store.create_ticket(make_draft(), []).reference for _ in range(40)]
    assert len(set(references)) == 40


def test_a_taken_reference_is_drawn_again(database_url: str, make_draft: Draft) -> None:
    drawn = iter(["RIS3-AAAA", "RIS3-AAAA", "RIS3-AAAA", "RIS3-BBBB"])
    store = HandoffStore(database_url, reference_factory=lambda: next(drawn))
    try:
        first = store.create_ticket(make_draft(), ["email"])
        second = store.create_ticket(make_draft(), ["email"])
        assert (first.reference, second.reference) == ("RIS3-AAAA", "RIS3-BBBB")
        assert _count(store, "tickets") == 2 and _count(store, "notification_jobs") == 2
    finally:
        store.close()


def test_status_changes_and_listing(store: HandoffStore, make_draft: Draft) -> None:
    first = store.create_ticket(make_draft(), [])
    second = store.create_ticket(make_draft(), [])
    updated = store.set_status(first.reference, "answered")
    assert updated.status == "answered" and updated.updated_at >= updated.created_at and updated.jobs == []
    assert [t.reference for t in store.list()] == [first.reference, second.reference]
    assert [t.reference for t in store.list(status="new")] == [second.reference]
    assert [t.reference for t in store.list(status="answered")] == [first.reference]
    with pytest.raises(ValueError):
        store.set_status(first.reference, "deleted")
    with pytest.raises(TicketNotFound):
        store.set_status("RIS3-ZZZZ", "closed")
    assert store.get("RIS3-ZZZZ") is None


def test_purge_erases_personal_data_of_old_tickets_only(database_url: str, make_draft: Draft) -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
    moments = iter([now - timedelta(days=100), now - timedelta(days=89), now])
    old_store = HandoffStore(database_url, clock=lambda: next(moments))
    try:
        old = old_store.create_ticket(make_draft(), ["email"])
        recent = old_store.create_ticket(make_draft(), ["email"])
        old_store.set_status(old.reference, "closed")
    finally:
        old_store.close()
    store = HandoffStore(database_url)
    try:
        assert store.purge(90, now=now) == 1
        erased = store.get(old.reference)
        kept = store.get(recent.reference)
        assert erased is not None and kept is not None
        assert (erased.name, erased.contact, erased.question, erased.transcript) == (None, None, None, None)
        assert erased.transcript_entries == []
        # What statistics need stays.
        assert erased.status == "closed" and erased.created_at == now - timedelta(days=100)
        assert erased.personal_data_erased_at == now
        # An undelivered notification for erased data cannot be sent any more: visibly failed.
        assert [(j.status, j.last_error) for j in erased.jobs] == [("failed", ERASED_BEFORE_DELIVERY)]
        assert kept.name == "Maija Meikäläinen" and kept.personal_data_erased_at is None
        assert [j.status for j in kept.jobs] == ["pending"]
        assert store.purge(90, now=now) == 0  # already erased
    finally:
        store.close()


def test_due_jobs_claims_and_outcomes(store: HandoffStore, make_draft: Draft) -> None:
    ticket = store.create_ticket(make_draft(), ["email", "webhook"])
    email_job, webhook_job = ticket.jobs
    now = ticket.created_at
    assert store.due_jobs(now - timedelta(seconds=1), 10) == []
    due = store.due_jobs(now, 10)
    assert [j.id for j in due] == [email_job.id, webhook_job.id]
    assert due[0].ticket.reference == ticket.reference  # loaded with the job
    assert [j.id for j in store.due_jobs(now, 1)] == [email_job.id]

    lease = now + timedelta(minutes=5)
    assert store.claim(email_job.id, now, lease) is True
    assert store.claim(email_job.id, now, lease) is False  # another deliverer finds it taken
    assert [j.id for j in store.due_jobs(now, 10)] == [webhook_job.id]
    assert {j.id for j in store.due_jobs(lease, 10)} == {email_job.id, webhook_job.id}  # a lost lease ends

    store.mark_failed(email_job.id, "SMTP refused mail for maija@yritys.fi", now + timedelta(seconds=30), give_up=False)
    store.mark_sent(webhook_job.id)
    stored = store.get(ticket.reference)
    assert stored is not None
    email_state, webhook_state = stored.jobs
    assert (email_state.status, email_state.attempts) == ("pending", 1)
    assert email_state.last_error == "SMTP refused mail for [redacted]"
    assert (webhook_state.status, webhook_state.attempts, webhook_state.sent_at is not None) == ("sent", 1, True)
    assert [j.id for j in store.due_jobs(now + timedelta(seconds=30), 10)] == [email_job.id]

    store.mark_failed(email_job.id, "still down", now + timedelta(hours=1), give_up=True)
    assert store.due_jobs(now + timedelta(days=1), 10) == []  # failed jobs are not retried
    stored = store.get(ticket.reference)
    assert stored is not None and stored.jobs[0].status == "failed" and stored.jobs[0].attempts == 2
    store.mark_sent(email_job.id)  # a late success report cannot revive a failed job
    stored = store.get(ticket.reference)
    assert stored is not None and stored.jobs[0].status == "failed"


def test_simultaneous_claims_let_exactly_one_deliverer_win(database_url: str, make_draft: Draft) -> None:
    stores = [HandoffStore(database_url) for _ in range(4)]
    try:
        ticket = stores[0].create_ticket(make_draft(), ["email"])
        job_id, now = ticket.jobs[0].id, ticket.created_at
        barrier = threading.Barrier(len(stores))
        wins: list[bool] = []

        def claim(store: HandoffStore) -> None:
            barrier.wait()
            wins.append(store.claim(job_id, now, now + timedelta(minutes=5)))

        threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(wins) == [False, False, False, True]
    finally:
        for store in stores:
            store.close()


def test_processes_starting_together_migrate_once(empty_database_url: str) -> None:
    # Several action server workers start at once, each calling upgrade() on the same empty database.
    code = "import sys; from bot.handoff.store import upgrade; upgrade(sys.argv[1])"
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    processes = [
        subprocess.Popen([sys.executable, "-c", code, empty_database_url], env=environment, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    failures = [p.stderr.read().decode()[-500:] for p in processes if p.wait(timeout=120) != 0 and p.stderr]
    assert failures == []
    store = HandoffStore(empty_database_url)
    try:
        store.ping()
    finally:
        store.close()
