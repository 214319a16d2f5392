"""End to end over REST: handing a user off to the project manager, against the real Rasa server and
action server, with the ticket checked in the handoff database the action server wrote, and the
notification mail delivered by the outbox to a real local SMTP server."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator

import pytest

from bot.handoff.config import HandoffSettings
from bot.handoff.outbox import deliver_due
from bot.handoff.senders import EmailSender
from bot.handoff.store import HandoffStore
from bot.runtime import BotProcesses
from tests.conftest import Mailbox, post_message

REFERENCE = re.compile(r"RIS3-[0-9A-Z]{4}")


def _text(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


class Conversation:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sender = f"handoff-{uuid.uuid4().hex[:8]}"

    def say(self, message: str) -> str:
        return _text(post_message(self.url, self.sender, message))


@pytest.fixture()
def store(bot_stack: BotProcesses) -> Iterator[HandoffStore]:
    store = HandoffStore(bot_stack.handoff_database_url)
    yield store
    store.close()


def _tickets_of(store: HandoffStore, name: str) -> list:
    return [t for t in store.list() if t.name == name]


def test_english_handoff_stores_the_ticket_with_its_transcript(bot_url: str, store: HandoffStore) -> None:
    chat = Conversation(bot_url)
    assert "don't know" in chat.say("How many jobs has the strategy created so far?")
    assert "name" in chat.say("I'd like to talk to a real person").lower()
    assert "reach you" in chat.say("Aino Esimerkki")
    assert "e-mail" in chat.say("aino@example").lower()  # no top-level domain: refused
    prompt = chat.say("aino.esimerkki@example.fi")
    assert "How many jobs has the strategy created so far?" in prompt  # prefilled, editable
    consent = chat.say("/affirm")
    assert "erased after" in consent and "days" in consent
    summary = chat.say("/affirm")
    assert "Aino Esimerkki" in summary and "aino.esimerkki@example.fi" in summary
    done = chat.say("/affirm")
    reference = REFERENCE.search(done)
    assert reference, done
    assert "+358 44 747 8512" in done and "appointment" not in done  # the request, not the meeting rule

    (ticket,) = _tickets_of(store, "Aino Esimerkki")
    assert ticket.reference == reference.group(0)
    assert ticket.contact == "aino.esimerkki@example.fi" and ticket.contact_kind == "email"
    assert ticket.question == "How many jobs has the strategy created so far?"
    assert ticket.language == "en" and ticket.channel == "rest" and ticket.status == "new"
    said = [entry["text"] for entry in ticket.transcript_entries]
    assert "I'd like to talk to a real person" in said
    assert any("don't know" in text for text in said)

    # The bot goes on answering, and knows where the request is.
    assert reference.group(0) in chat.say("what happened to my request?")
    assert "logistics" in chat.say("what are the priorities?")


def test_finnish_handoff_with_a_phone_number_and_a_new_question(bot_url: str, store: HandoffStore) -> None:
    chat = Conversation(bot_url)
    assert "nimesi" in chat.say("haluan puhua ihmisen kanssa")
    assert "tavoittaa" in chat.say("Matti Meikäläinen")
    assert "puhelinnumero" in chat.say("12345").lower()  # too short for a phone number
    assert "kysyä" in chat.say("044 123 4567")
    assert "päivän" in chat.say("Voiko yrityksemme osallistua hankkeeseen?")
    assert "Lähetänkö" in chat.say("kyllä")
    done = chat.say("kyllä")
    assert REFERENCE.search(done) and "Kiitos" in done
    (ticket,) = _tickets_of(store, "Matti Meikäläinen")
    assert ticket.contact == "+358441234567" and ticket.contact_kind == "phone"
    assert ticket.question == "Voiko yrityksemme osallistua hankkeeseen?"
    assert ticket.language == "fi"


def test_cancel_at_any_step_stores_nothing(bot_url: str, store: HandoffStore) -> None:
    chat = Conversation(bot_url)
    assert "name" in chat.say("connect me to someone please")
    assert "reach you" in chat.say("Oona Odottaja")
    assert "nothing was stored" in chat.say("cancel")
    assert not _tickets_of(store, "Oona Odottaja")
    # The conversation goes on.
    assert "Tolmunen" in chat.say("who is the project manager?")


def test_declining_consent_stores_nothing(bot_url: str, store: HandoffStore) -> None:
    chat = Conversation(bot_url)
    chat.say("can I speak with a human?")
    chat.say("Kieltäytyvä Käyttäjä")
    chat.say("kieltaytyva@example.fi")
    chat.say("Is there funding for startups?")
    reply = chat.say("/deny")
    assert "stored nothing" in reply and "+358 44 747 8512" in reply
    assert not _tickets_of(store, "Kieltäytyvä Käyttäjä")


def test_html_and_sql_in_the_form_are_stored_as_text(bot_url: str, store: HandoffStore) -> None:
    chat = Conversation(bot_url)
    name = "<b>Robert'); DROP TABLE tickets;--</b>"
    question = "<script>alert(1)</script> what about '; DELETE FROM tickets; --"
    chat.say("I want to talk to the project manager")
    chat.say(name)
    chat.say("bobby@example.fi")
    chat.say(question)
    chat.say("/affirm")
    assert REFERENCE.search(chat.say("/affirm"))
    (ticket,) = _tickets_of(store, name)
    assert ticket.question == question
    assert len(store.list()) >= 1  # the table is still there


def test_two_failures_in_a_row_offer_the_project_manager(bot_url: str) -> None:
    chat = Conversation(bot_url)
    chat.say("who won the ice hockey final?")
    offer = chat.say("what's the price of a train ticket to Helsinki?")
    assert "pass your question to the project manager" in offer
    assert "What else" in chat.say("/deny")
    assert "logistics" in chat.say("what are the priorities?")


def test_a_press_request_is_offered_a_handoff(bot_url: str) -> None:
    chat = Conversation(bot_url)
    assert "pass your question" in chat.say("I'm a journalist and would like to interview someone about the strategy")
    assert "name" in chat.say("/affirm").lower()


def test_the_outbox_mails_the_ticket_to_the_project_manager_once(
    bot_stack: BotProcesses, store: HandoffStore, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    chat = Conversation(bot_stack.url)
    chat.say("I want to talk to a person")
    chat.say("Posti Testaaja")
    chat.say("posti@example.fi")
    chat.say("When will the strategy be published?")
    chat.say("/affirm")
    match = REFERENCE.search(chat.say("/affirm"))
    assert match
    reference = match.group(0)

    settings = HandoffSettings(
        database_url=bot_stack.handoff_database_url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="ris3-bot@example.fi",
        manager_email="project.manager@example.fi",
    )
    # The action server sends the notification right after the confirmation.
    deadline = time.monotonic() + 30
    while not any(reference in str(m) for m in box.messages) and time.monotonic() < deadline:
        time.sleep(0.1)
    # Outbox rounds afterwards (the back office's work) find nothing left to send.
    senders = {"email": EmailSender(settings)}
    asyncio.run(deliver_due(store, senders))
    asyncio.run(deliver_due(store, senders))
    mails = [m for m in box.messages if reference in str(m)]
    assert len(mails) == 1
    assert "When will the strategy be published?" in str(mails[0])
    assert mails[0]["To"] == "project.manager@example.fi"
