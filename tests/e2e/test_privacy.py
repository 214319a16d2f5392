"""End to end over REST against the real Rasa server and action server: privacy questions answered from
privacy.yml (never a strategy fact, never the handoff form), erasure offered when asked in words, and the
erasure itself: afterwards the person's name, contact and question are nowhere in the tracker store, the handoff
database (tickets, threads, outbox, Review) or the servers' logs; the ticket stays, closed, saying why."""

from __future__ import annotations

import json
import random
import re
import sqlite3
import string
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.privacy.notice import PrivacyTexts, load
from bot.runtime import BotProcesses
from tests.conftest import post_message

REFERENCE = re.compile(r"RIS3-[0-9A-Z]{4}")
TOKEN = "rest-token-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def privacy() -> PrivacyTexts:
    return load()


def _text(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def _say(url: str, sender: str, message: str) -> list[dict]:
    return post_message(url, sender, message)


def _forget(url: str, sender: str) -> list[dict]:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/forget", data=json.dumps({"sender": sender}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


# Wordings that are not in data/nlu: the intent must generalise.
@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Will you keep a record of what I type here?", "en"),
        ("Which of your staff can look at my chat messages?", "en"),
        ("miten käsittelette henkilötietojani tässä palvelussa?", "fi"),
        ("Kuinka pitkään tämä keskustelu on tallessa?", "fi"),
    ],
)
def test_privacy_questions_are_answered_from_the_configuration(
    bot_url: str, privacy: PrivacyTexts, question: str, language: str
) -> None:
    replies = _say(bot_url, f"privacy-{uuid.uuid4().hex[:8]}", question)
    text = _text(replies)
    assert privacy.say("kept", language) in text, text
    assert privacy.say("erasure", language) in text
    assert "Source:" not in text and "Lähde:" not in text  # not a strategy fact
    assert "What is your name?" not in text and "Mikä on nimesi?" not in text  # not the handoff form
    assert not privacy.statement_url and not any(r.get("buttons") for r in replies)  # no link until one is set


@pytest.mark.parametrize(("word", "language"), [("tietosuoja", "fi"), ("Tietosuojaseloste?", "fi"), ("GDPR", "en")])
def test_one_privacy_word_is_answered_in_its_language(
    bot_url: str, privacy: PrivacyTexts, word: str, language: str
) -> None:
    """A new conversation's first message, one word the language detector cannot place."""
    text = _text(_say(bot_url, f"privacy-word-{uuid.uuid4().hex[:8]}", word))
    assert privacy.say("kept", language) in text, text


@pytest.mark.parametrize(
    ("request_text", "language", "yes"),
    [("Please delete my personal data", "en", "yes"), ("poistakaa tietoni", "fi", "kyllä")],
)
def test_asking_in_words_offers_the_erasure_with_a_confirmation(
    bot_url: str, privacy: PrivacyTexts, request_text: str, language: str, yes: str
) -> None:
    sender = f"erase-words-{uuid.uuid4().hex[:8]}"
    _say(bot_url, sender, "what are the priorities?" if language == "en" else "mitkä ovat painopisteet?")
    offer = _say(bot_url, sender, request_text)
    assert privacy.say("erase_offer", language) in _text(offer)
    assert "What is your name?" not in _text(offer) and "Mikä on nimesi?" not in _text(offer)
    payloads = [b.get("payload") for r in offer for b in r.get("buttons") or []]
    assert "/erase_conversation" in payloads
    done = _text(_say(bot_url, sender, yes))
    assert privacy.say("erased", language) in done


def test_declining_the_offer_keeps_the_conversation(bot_url: str, privacy: PrivacyTexts) -> None:
    sender = f"keep-{uuid.uuid4().hex[:8]}"
    _say(bot_url, sender, "delete my data please")
    assert privacy.say("kept_after_all", "en") in _text(_say(bot_url, sender, "/deny"))  # the "No, keep it" button


def _database_dump(path: Path) -> str:
    """Every value of every table of a SQLite database, as one text to search."""
    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [repr(row) for table in tables for row in connection.execute(f'SELECT * FROM "{table}"')]
    return "\n".join(rows)


def test_an_erasure_leaves_nothing_of_the_person(bot_stack: BotProcesses, privacy: PrivacyTexts) -> None:
    url, sender = bot_stack.url, f"erase-{uuid.uuid4().hex[:8]}"
    unique = "".join(random.choice(string.ascii_lowercase) for _ in range(6))  # a name has no digits
    name, contact = f"Ilmari Poistettava{unique}", f"ilmari.{uuid.uuid4().hex[:6]}@example.fi"
    question = f"Could my sawmill cooperative number {uuid.uuid4().hex[:5]} join a RIS3 project?"
    _say(url, sender, question)
    assert "name" in _text(_say(url, sender, "I'd like to talk to a real person")).lower()
    _say(url, sender, name)
    assert question in _text(_say(url, sender, contact))  # prefilled with what was asked
    _say(url, sender, "/affirm")  # that question
    _say(url, sender, "/affirm")  # consent
    reference = REFERENCE.search(_text(_say(url, sender, "/affirm")))
    assert reference, "the handoff did not complete"
    tracker_db, handoff_db = bot_stack.workdir / "tracker.db", bot_stack.workdir / "handoff.db"
    before = _database_dump(tracker_db) + _database_dump(handoff_db)
    assert name in before and contact in before  # the search below can find them

    confirmation = _text(_forget(url, sender))
    assert privacy.say("erased", "en") in confirmation

    after = _database_dump(tracker_db) + _database_dump(handoff_db)
    logs = "\n".join(p.read_text(errors="replace") for p in bot_stack.workdir.glob("*.log"))
    for secret in (name, contact, question):
        assert secret not in after, f"{secret!r} is still in a database"
        assert secret not in logs, f"{secret!r} is in a log"
    assert f"rest:{sender}" not in after  # no event of the conversation, no ticket pointing to it
    with sqlite3.connect(handoff_db) as connection:
        status, erased_at = connection.execute(
            "SELECT status, personal_data_erased_at FROM tickets WHERE reference = ?", (reference.group(0),)
        ).fetchone()
        notes = [row[0] for row in connection.execute(
            "SELECT m.text FROM thread_messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.reference = ?",
            (reference.group(0),),
        )]
        recorded = connection.execute(
            "SELECT action, requested_by, actor, counts FROM privacy_actions ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert status == "closed" and erased_at is not None
    assert "Personal data erased at the user's request." in notes
    assert recorded[:3] == ("erase", "user", "rest") and json.loads(recorded[3])["tickets"] == 1

    # The next message starts a new conversation that knows nothing of the erased one.
    status_reply = _text(_say(url, sender, "what happened to my request?"))
    assert reference.group(0) not in status_reply


def _post_forget(url: str, body: bytes, token: str | None = None) -> tuple[int, object]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}/webhooks/rest/forget", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"sender": ""}', b'{"sender": 42}'])
def test_the_rest_erasure_refuses_a_bad_request_with_a_reason(bot_url: str, body: bytes) -> None:
    status, answer = _post_forget(bot_url, body)
    assert status == 400 and isinstance(answer, dict) and answer["error"]


@pytest.fixture(scope="module")
def guarded() -> Iterator[BotProcesses]:
    bot = BotProcesses(env={"RIS3_REST_TOKEN": TOKEN}).start()
    try:
        yield bot
    finally:
        bot.stop()


def test_the_rest_erasure_needs_the_token_when_one_is_configured(guarded: BotProcesses, privacy: PrivacyTexts) -> None:
    sender = f"guarded-{uuid.uuid4().hex[:8]}"
    marker = f"Is the Kotka harbour {uuid.uuid4().hex[:6]} in the strategy?"
    request = urllib.request.Request(
        f"{guarded.url}/webhooks/rest/webhook", data=json.dumps({"sender": sender, "message": marker}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=60):
        pass
    body = json.dumps({"sender": sender}).encode()
    for token in (None, "wrong", TOKEN + "x"):
        status, _ = _post_forget(guarded.url, body, token)
        assert status == 401
    assert marker in _database_dump(guarded.workdir / "tracker.db")  # nothing erased without the token
    status, answer = _post_forget(guarded.url, body, TOKEN)
    assert status == 200 and privacy.say("erased", "en") in _text(answer)  # type: ignore[arg-type]
    assert marker not in _database_dump(guarded.workdir / "tracker.db")
