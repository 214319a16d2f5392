"""Privacy over Telegram, end to end through the loopback Bot API stand-in: /start tells what is kept, /privacy
answers from privacy.yml, /forget in a private chat erases the conversation (nothing of it stays in the tracker
store; the erasure is recorded without content), and in a group /forget only points to a private chat."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.privacy.notice import load
from tests.telegram.telegram_standin import message_update, new_group_chat, new_private_chat

if TYPE_CHECKING:
    from tests.telegram.conftest import TelegramStack


def ask(stack: TelegramStack, chat: int, text: str, contains: str, **kwargs: object) -> str:
    after = len(stack.api.replies(chat))
    status, _ = stack.post(message_update(chat, text, **kwargs))  # type: ignore[arg-type]
    assert status == 200
    return stack.api.wait_for_reply(chat, contains, after=after).text


def events_of(stack: TelegramStack, conversation: str) -> list[str]:
    with sqlite3.connect(stack.bot.workdir / "tracker.db") as connection:
        return [row[0] for row in connection.execute("SELECT data FROM events WHERE sender_id = ?", (conversation,))]


def settled(
    stack: TelegramStack, conversation: str, done: Callable[[list[str]], bool], timeout: float = 10.0
) -> list[str]:
    """The conversation's events once `done` holds of them: a turn's replies go out before the turn is saved."""
    deadline = time.monotonic() + timeout
    events = events_of(stack, conversation)
    while not done(events) and time.monotonic() < deadline:
        time.sleep(0.1)
        events = events_of(stack, conversation)
    return events


def test_start_tells_what_is_kept_and_privacy_answers(telegram_stack: TelegramStack) -> None:
    privacy = load()
    chat = new_private_chat()
    notice = ask(telegram_stack, chat, "/start", "/forget", language_code="fi")
    assert privacy.say("notice", "fi") in notice and privacy.say("delete_hint_telegram", "fi") in notice
    answer = ask(telegram_stack, chat, "/privacy", privacy.say("kept", "fi")[:40], language_code="fi")
    assert privacy.say("readers", "fi") in answer and privacy.say("erasure", "fi") in answer


def test_forget_in_a_private_chat_erases_the_conversation(telegram_stack: TelegramStack) -> None:
    privacy = load()
    chat = new_private_chat()
    marker = f"Does the strategy mention the Hamina harbour {uuid.uuid4().hex[:6]}?"
    ask(telegram_stack, chat, marker, "", language_code="en")
    conversation = f"telegram:{chat}"
    assert settled(telegram_stack, conversation, lambda events: any(marker in e for e in events))

    confirmation = ask(telegram_stack, chat, "/forget", privacy.say("erased", "en")[:40], language_code="en")
    assert privacy.say("erased", "en") in confirmation
    # The tracker store deletes the conversation when the turn is saved.
    assert [json.loads(e)["event"] for e in settled(telegram_stack, conversation, lambda events: not events)] == []
    handoff_db = telegram_stack.bot.handoff_database_url.removeprefix("sqlite:///")
    with sqlite3.connect(handoff_db) as connection:
        recorded = connection.execute(
            "SELECT action, requested_by, actor, found_by, counts FROM privacy_actions ORDER BY id DESC LIMIT 1"
        ).fetchone()
        everything = "\n".join(repr(row) for row in connection.execute("SELECT * FROM privacy_actions"))
    assert recorded[:4] == ("erase", "user", "telegram", "conversation id")
    assert json.loads(recorded[4])["conversations"] == 1
    assert marker not in everything and str(chat) not in everything  # counts only


def test_forget_in_a_group_points_to_a_private_chat_and_erases_nothing(telegram_stack: TelegramStack) -> None:
    privacy = load()
    group = new_group_chat()
    member = 4_000_000 + int(time.time() * 1000) % 1_000_000
    ask(telegram_stack, group, "/help", "", user_id=member)
    conversation = f"telegram:{group}:{member}"
    before = settled(telegram_stack, conversation, lambda events: any('"action_help"' in e for e in events))
    assert before
    reply = ask(telegram_stack, group, "/forget", privacy.say("erase_in_private", "en")[:30], user_id=member)
    assert privacy.say("erase_in_private", "en") in reply
    # The /forget turn is saved onto the member's conversation, which stays.
    erasure_ran = '"action_erase_conversation"'
    after = settled(telegram_stack, conversation, lambda events: any(erasure_ran in e for e in events))
    assert after[: len(before)] == before
