"""A Telegram user's conversation is theirs: no REST client reaches it, and a message too long or too fast is
refused with a reply. The real Rasa server and action server, Telegram's side played by the stand-in.

Before: the Rasa conversation was the bare chat id, which in a private chat is the user's public Telegram id;
a REST client sending {"sender": "<that id>", "message": "/affirm"} got that user's handoff summary (name,
e-mail, question) and a second "/affirm" sent the ticket without their consent."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.handoff.store import HandoffStore, upgrade
from tests.conftest import post_message
from tests.telegram.telegram_standin import message_update, new_private_chat

if TYPE_CHECKING:
    from tests.telegram.conftest import TelegramStack

NAME, EMAIL = "Teemu Telegram", "teemu.telegram@example.fi"


def say(stack: TelegramStack, chat: int, text: str, contains: str) -> str:
    after = len(stack.api.replies(chat))
    status, _ = stack.post(message_update(chat, text, user_id=chat))
    assert status == 200
    stack.api.wait_for_reply(chat, contains, after=after)
    time.sleep(0.3)  # the rest of the turn
    return "\n".join(c.text for c in stack.api.replies(chat)[after:])


def test_a_rest_client_cannot_reach_a_telegram_conversation(telegram_stack: TelegramStack) -> None:
    chat = new_private_chat()
    say(telegram_stack, chat, "I want to talk to a real person", "name")
    say(telegram_stack, chat, NAME, "reach you")
    say(telegram_stack, chat, EMAIL, "ask")
    summary = say(telegram_stack, chat, "When is the next funding call?", "erased after")
    assert "erased after" in summary
    summary = say(telegram_stack, chat, "yes", NAME)  # typed: "/affirm" would be words (issue 25 item 11)
    assert EMAIL in summary

    for sender in (str(chat), f"telegram:{chat}", "default"):
        for _ in range(2):
            reply = "\n".join(r.get("text") or "" for r in post_message(telegram_stack.bot.url, sender, "/affirm"))
            assert NAME not in reply and EMAIL not in reply, sender
    upgrade(telegram_stack.bot.handoff_database_url)  # the schema, if no ticket was ever written
    store = HandoffStore(telegram_stack.bot.handoff_database_url)
    try:
        assert [t for t in store.list() if t.name == NAME] == []
    finally:
        store.close()


def test_a_message_over_the_length_limit_gets_a_reply_saying_so(telegram_stack: TelegramStack) -> None:
    chat = new_private_chat()
    reply = say(telegram_stack, chat, "What are the priorities? " * 200, "at most 2000 characters")
    assert "logistics" not in reply
    assert "logistics" in say(telegram_stack, chat, "What are the priorities?", "logistics")


def test_a_flood_from_one_chat_is_told_to_slow_down_once(telegram_stack: TelegramStack) -> None:
    chat = new_private_chat()
    after = len(telegram_stack.api.replies(chat))
    for _ in range(60):  # the test instance allows bursts of 30 in a conversation
        assert telegram_stack.post(message_update(chat, "hello", user_id=chat))[0] == 200
    telegram_stack.api.wait_for_reply(chat, "faster than I can answer", after=after, timeout=60)
    time.sleep(2)
    texts = [c.text for c in telegram_stack.api.replies(chat)[after:]]
    assert sum("faster than I can answer" in t for t in texts) == 1
    # The burst's answers (and the few the rate earns while they are answered) and one notice, not sixty.
    assert 30 <= len(texts) <= 45, len(texts)
