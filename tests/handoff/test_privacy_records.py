"""The one implementation of finding, exporting, erasing and purging a person's data (bot.privacy.records), on
SQLite and PostgreSQL: the tracker's `events` (Rasa's columns), the tickets with their threads and outbox, and
Review's decisions, all in the test's database; afterwards every table is searched for the person."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, inspect, select

from bot.analytics.review import DecisionStore, review_decisions
from bot.handoff.draft import TicketDraft
from bot.handoff.store import HandoffStore
from bot.privacy import log
from bot.privacy.records import ERASED_BY_STAFF, BadKey, PersonalData

# Rasa's table as Rasa 3.6 creates it (the columns this code and Rasa's store use).
_metadata = MetaData()
events = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

NAME, EMAIL, PHONE = "Kaisa Poistettava", "kaisa.poistettava@yritys.fi", "+358401234567"
QUESTION = "Voiko sahamme Kaisa-osuuskunta liittyä RIS3-hankkeeseen?"
OTHER = "Olli Säilytettävä"


def _say(connection, sender: str, who: str, text: str, at: float) -> None:  # type: ignore[no-untyped-def]
    data = {"event": who, "timestamp": at, "text": text}
    connection.execute(
        events.insert().values(sender_id=sender, type_name=who, timestamp=at, data=json.dumps(data))
    )


@pytest.fixture
def seeded(
    database_url: str, store: HandoffStore, make_draft: Callable[..., TicketDraft]
) -> Iterator[tuple[PersonalData, str, str]]:
    """Kaisa's web conversation and ticket, Olli's Telegram conversation and ticket, and a Review decision that
    lists a question of each; returns (data, Kaisa's reference, Olli's reference)."""
    engine = create_engine(database_url)
    _metadata.create_all(engine)
    now = datetime.now(timezone.utc).timestamp()
    with engine.begin() as connection:
        _say(connection, "web:kaisa", "user", QUESTION, now - 60)
        _say(connection, "web:kaisa", "bot", "Kerro nimesi", now - 59)
        _say(connection, "web:kaisa", "user", NAME, now - 58)
        _say(connection, "web:kaisa", "user", EMAIL, now - 57)
        _say(connection, "telegram:4242", "user", "Mitkä ovat painopisteet?", now - 30)
        _say(connection, "telegram:-100:4242", "user", "entä aikataulu?", now - 20)
    engine.dispose()
    kaisa = store.create_ticket(
        make_draft(name=NAME, contact=EMAIL, question=QUESTION, channel="web", conversation_id="web:kaisa"),
        ["email"],
    )
    olli = store.create_ticket(
        make_draft(name=OTHER, contact=PHONE, question="Missä esite on?", channel="telegram",
                   conversation_id="telegram:4242"),
        ["email"],
    )
    store.add_user_message(kaisa.reference, f"Lisäys: soita numeroon, {NAME}", ["email"])
    decisions = DecisionStore(database_url)
    decisions.ensure_schema()
    with decisions.engine.begin() as connection:
        connection.execute(
            review_decisions.insert().values(
                group_id="g1", decision="out_of_scope", fact_id=None, note="", decided_by="editor",
                decided_at=datetime.now(timezone.utc), changes="{}",
                questions=json.dumps([
                    {"text": QUESTION, "language": "fi", "count": 1},
                    {"text": "Mitkä ovat painopisteet?", "language": "fi", "count": 3},
                ]),
            )
        )
    decisions.close()
    data = PersonalData(database_url, database_url)
    yield data, kaisa.reference, olli.reference
    data.close()


def _everything(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
            meta = MetaData()
            meta.reflect(connection, only=names)
            return "\n".join(repr(row) for name in names for row in connection.execute(select(meta.tables[name])))
    finally:
        engine.dispose()


def test_found_by_each_kind_of_key(seeded: tuple[PersonalData, str, str]) -> None:
    data, kaisa, _ = seeded
    by_reference = data.find("reference", kaisa.lower())
    assert by_reference.conversation_ids == ("web:kaisa",) and len(by_reference.ticket_ids) == 1
    assert data.find("email", EMAIL.upper().replace("@YRITYS.FI", "@yritys.fi")).conversation_ids == ("web:kaisa",)
    by_phone = data.find("phone", "040 123 4567")
    assert by_phone.conversation_ids == ("telegram:4242",) and len(by_phone.ticket_ids) == 1
    # A Telegram user: the private chat and the member's conversation in a group.
    assert data.find("telegram", "4242").conversation_ids == ("telegram:-100:4242", "telegram:4242")
    assert data.find("reference", "RIS3-ZZZZ").empty


@pytest.mark.parametrize(
    ("kind", "value"),
    [("reference", "not a reference"), ("email", "kaisa@"), ("phone", "call me"), ("telegram", "@kaisa"),
     ("reference", ""), ("email", "x" * 300), ("passport", "123")],
)
def test_a_key_that_cannot_be_one_is_refused_with_a_reason(
    seeded: tuple[PersonalData, str, str], kind: str, value: str
) -> None:
    with pytest.raises(BadKey) as refused:
        seeded[0].find(kind, value)
    assert str(refused.value)


def test_export_holds_everything_and_is_recorded_without_it(
    seeded: tuple[PersonalData, str, str], database_url: str
) -> None:
    data, kaisa, _ = seeded
    exported = data.export(data.find("reference", kaisa), "manager", "ticket reference")
    (ticket,) = exported["tickets"]
    assert (ticket["name"], ticket["contact"], ticket["question"]) == (NAME, EMAIL, QUESTION)
    assert any(NAME in (m["text"] or "") for m in ticket["thread"])
    (conversation,) = exported["conversations"]
    assert [m["text"] for m in conversation["messages"]][:1] == [QUESTION]
    assert exported["review_texts"] == [QUESTION]
    (record,) = log.recent(data.handoff)
    assert (record.action, record.requested_by, record.actor, record.found_by) == (
        "export", "staff", "manager", "ticket reference"
    )
    assert NAME not in repr(record) and EMAIL not in repr(record)


def test_erasure_leaves_nothing_of_the_person_and_keeps_the_others(
    seeded: tuple[PersonalData, str, str], database_url: str, store: HandoffStore
) -> None:
    data, kaisa, olli = seeded
    assert NAME in _everything(database_url)
    erased = data.erase(data.find("email", EMAIL), requested_by=log.BY_STAFF, actor="manager", found_by="e-mail")
    assert (erased.conversations, erased.tickets, erased.review_texts) == (1, 1, 1)
    everything = _everything(database_url)
    for secret in (NAME, EMAIL, QUESTION, "Kaisa-osuuskunta", "web:kaisa"):
        assert secret not in everything
    # The ticket stays, closed, saying why; its undelivered notifications are failed, not sent later.
    ticket = store.thread(kaisa)
    assert ticket is not None and ticket.status == "closed" and ticket.personal_data_erased_at is not None
    assert [m.text for m in ticket.messages][-1] == ERASED_BY_STAFF
    assert all(job.status != "pending" for job in ticket.jobs)
    # Olli's conversation, ticket and Review text are untouched.
    assert OTHER in everything and "Mitkä ovat painopisteet?" in everything and PHONE in everything
    other = store.get(olli)
    assert other is not None and other.name == OTHER and other.personal_data_erased_at is None
    (record,) = log.recent(data.handoff)
    assert record.counts["tickets"] == 1 and record.found_by == "e-mail"
    # Erasing again finds nothing more to erase.
    again = data.erase(data.find("reference", kaisa), requested_by=log.BY_STAFF, actor="manager")
    assert (again.tickets, again.events) == (0, 0)


def test_the_retention_purge_goes_through_the_same_parts(
    seeded: tuple[PersonalData, str, str], database_url: str, store: HandoffStore
) -> None:
    data, kaisa, _ = seeded
    assert data.purge(30).tickets == 0  # all of today
    later = datetime.now(timezone.utc) + timedelta(days=31)
    erased = data.purge(30, now=later)
    assert (erased.conversations, erased.tickets, erased.review_texts) == (3, 2, 2)
    everything = _everything(database_url)
    for secret in (NAME, EMAIL, QUESTION, OTHER, PHONE):
        assert secret not in everything
    ticket = store.get(kaisa)
    assert ticket is not None and ticket.status == "new"  # the purge erases, it does not close
    assert log.recent(data.handoff)[0].action == "purge"
    with pytest.raises(ValueError):
        data.purge(-1)
