"""End to end over REST: the handoff database fails at the confirmation, and the user, asking for a person
again (or saying "try again"), confirms the answers kept instead of typing them again.

The real Rasa server and action server run with their tickets in a PostgreSQL database of this module,
which the test makes fail at the right moment: read-only (as a standby after a failover) or refusing
connections (as a database being restarted). Changing file permissions would not do: the tests may run
as root, which SQLite's files cannot keep out. When PostgreSQL cannot be reached these tests fail under
CI (CI set) and skip elsewhere, like the handoff store's PostgreSQL tests.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql

from bot.handoff.store import HandoffStore, upgrade
from bot.runtime import BotProcesses
from tests.conftest import post_message
from tests.postgres import scratch_database, url_of

REFERENCE = re.compile(r"RIS3-[0-9A-Z]{4}")


class HandoffDatabase:
    """A PostgreSQL database of its own for the bot's tickets, which the test can make fail."""

    def __init__(self, admin: psycopg.Connection, name: str) -> None:
        self.admin = admin
        self.name = name
        self.url = url_of(name)

    def _end_sessions(self) -> None:
        # Sessions keep the settings they started with: the bot's pool must reconnect to feel a change.
        self.admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.name,),
        )

    @contextmanager
    def failing(self, how: str) -> Iterator[None]:
        """Within the block, every write of a ticket fails: the database is read-only, or refuses connections."""
        database = sql.Identifier(self.name)
        if how == "read-only":
            self.admin.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(database))
        else:
            self.admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(database))
        self._end_sessions()
        try:
            yield
        finally:
            self.admin.execute(sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(database))
            self.admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(database))
            self._end_sessions()

    def tickets_of(self, name: str) -> list:
        store = HandoffStore(self.url)
        try:
            return [t for t in store.list() if t.name == name]
        finally:
            store.close()


@pytest.fixture(scope="module")
def handoff_database() -> Iterator[HandoffDatabase]:
    with scratch_database("ris3_resume") as (admin, name):
        database = HandoffDatabase(admin, name)
        upgrade(database.url)
        yield database


@pytest.fixture(scope="module")
def bot(handoff_database: HandoffDatabase) -> Iterator[BotProcesses]:
    """The bot with its tickets in the module's database; the first answer waits for the model to load."""
    processes = BotProcesses(env={"RIS3_HANDOFF_DATABASE_URL": handoff_database.url}).start()
    try:
        deadline = time.monotonic() + 120
        while True:
            replies = post_message(processes.url, "warm-up", "what is smart specialisation?")
            if any("Source:" in (r.get("text") or "") for r in replies) or time.monotonic() > deadline:
                break
            time.sleep(1)
        yield processes
    finally:
        processes.stop()


class Conversation:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sender = f"resume-{uuid.uuid4().hex[:8]}"

    def say(self, message: str) -> str:
        return "\n".join(r.get("text") or "" for r in post_message(self.url, self.sender, message))


def _fill_the_form_en(chat: Conversation, name: str) -> None:
    assert "name" in chat.say("I'd like to talk to a real person").lower()
    assert "reach you" in chat.say(name)
    assert "ask the project manager" in chat.say("resume.test@example.fi")
    assert "erased after" in chat.say("Can our company join a logistics project?")
    summary = chat.say("/affirm")
    assert name in summary and "Shall I send" in summary


def _fill_the_form_fi(chat: Conversation, name: str) -> None:
    assert "nimesi" in chat.say("haluan puhua ihmisen kanssa")
    assert "tavoittaa" in chat.say(name)
    assert "kysyä" in chat.say("044 765 4321")
    assert "päivän" in chat.say("Voiko yrityksemme osallistua logistiikkahankkeeseen?")
    summary = chat.say("kyllä")
    assert name in summary and "Lähetänkö" in summary


def _check_one_ticket(database: HandoffDatabase, name: str, contact: str, question: str, language: str) -> str:
    (ticket,) = database.tickets_of(name)
    assert (ticket.contact, ticket.question, ticket.language) == (contact, question, language)
    return ticket.reference


@pytest.mark.parametrize("how", ["read-only", "refusing connections"])
def test_english_asking_for_a_person_again_confirms_the_kept_answers(
    bot: BotProcesses, handoff_database: HandoffDatabase, how: str
) -> None:
    chat = Conversation(bot.url)
    name = f"Resume Tester {how}"
    _fill_the_form_en(chat, name)
    with handoff_database.failing(how):
        failed = chat.say("/affirm")
    assert "couldn't save your request" in failed and "try again" in failed
    assert "+358 44 747 8512" in failed
    assert not handoff_database.tickets_of(name)

    resumed = chat.say("I want to talk to a person")
    assert "still have your answers" in resumed
    # Only the confirmation is asked, with everything the user gave before.
    assert "What is your name?" not in resumed
    assert name in resumed and "resume.test@example.fi" in resumed
    assert "Can our company join a logistics project?" in resumed
    done = chat.say("/affirm")
    reference = REFERENCE.search(done)
    assert reference, done
    ticket = _check_one_ticket(
        handoff_database, name, "resume.test@example.fi", "Can our company join a logistics project?", "en"
    )
    assert ticket == reference.group(0)


@pytest.mark.parametrize("how", ["read-only", "refusing connections"])
def test_finnish_asking_for_a_person_again_confirms_the_kept_answers(
    bot: BotProcesses, handoff_database: HandoffDatabase, how: str
) -> None:
    chat = Conversation(bot.url)
    name = f"Jatko Testaaja {how}"
    _fill_the_form_fi(chat, name)
    with handoff_database.failing(how):
        failed = chat.say("kyllä")
    assert "en pystynyt juuri nyt tallentamaan" in failed and "yritä uudelleen" in failed
    assert not handoff_database.tickets_of(name)

    resumed = chat.say("haluan puhua ihmisen kanssa")
    assert "Muistan vielä vastauksesi" in resumed
    assert "Mikä on nimesi?" not in resumed
    assert name in resumed and "+358447654321" in resumed
    assert "Voiko yrityksemme osallistua logistiikkahankkeeseen?" in resumed
    done = chat.say("kyllä")
    reference = REFERENCE.search(done)
    assert reference and "Kiitos" in done, done
    ticket = _check_one_ticket(
        handoff_database, name, "+358447654321", "Voiko yrityksemme osallistua logistiikkahankkeeseen?", "fi"
    )
    assert ticket == reference.group(0)


@pytest.mark.parametrize(
    ("language", "fill", "try_again", "resumed_text", "yes"),
    [
        ("en", _fill_the_form_en, "try again", "still have your answers", "yes"),
        ("fi", _fill_the_form_fi, "yritä uudelleen", "Muistan vielä vastauksesi", "kyllä"),
    ],
)
def test_saying_try_again_confirms_the_kept_answers(
    bot: BotProcesses,
    handoff_database: HandoffDatabase,
    language: str,
    fill: Callable[[Conversation, str], None],
    try_again: str,
    resumed_text: str,
    yes: str,
) -> None:
    chat = Conversation(bot.url)
    name = {"en": "Rachel Retrying", "fi": "Riikka Uudelleen"}[language]
    fill(chat, name)
    with handoff_database.failing("read-only"):
        chat.say(yes)
    resumed = chat.say(try_again)
    assert resumed_text in resumed and name in resumed
    assert REFERENCE.search(chat.say(yes))
    (ticket,) = handoff_database.tickets_of(name)
    assert ticket.language == language


def test_cancel_after_the_failure_drops_the_answers(bot: BotProcesses, handoff_database: HandoffDatabase) -> None:
    chat = Conversation(bot.url)
    name = "Cecilia Hart"
    _fill_the_form_en(chat, name)
    with handoff_database.failing("read-only"):
        chat.say("/affirm")
    assert "nothing was stored" in chat.say("cancel")
    # A new handoff starts from the beginning, and nothing was stored.
    assert "What is your name?" in chat.say("I want to talk to a person")
    assert not handoff_database.tickets_of(name)
