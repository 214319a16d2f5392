"""Feedback on answers over Telegram, end to end: updates POSTed to the real Rasa server's webhook, what the
channel sends caught by the loopback Bot API stand-in. In a private chat each answer is followed by "Did this
answer your question?" with Yes and No as inline buttons (callback data); a press is acknowledged, kept with the
answer, and a No offers the project manager. In a group no such question is asked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from bot.analytics.turns import load_turns
from tests.telegram.telegram_standin import (
    BOT_USERNAME,
    Call,
    callback_update,
    message_update,
    new_group_chat,
    new_private_chat,
)

if TYPE_CHECKING:
    from tests.telegram.conftest import TelegramStack

QUESTION = {"en": "Did this answer your question?", "fi": "Vastasiko tämä kysymykseesi?"}
SETTLE = 1.0  # seconds to be sure nothing more comes


@pytest.fixture()
def stack(telegram_stack: TelegramStack) -> Iterator[TelegramStack]:
    before = len(telegram_stack.api.snapshot())
    yield telegram_stack
    refused = [(c.method, c.status, c.body) for c in telegram_stack.api.snapshot()[before:] if c.status != 200]
    assert refused == []


def ask(stack: TelegramStack, chat: int, text: str, contains: str, **kwargs: object) -> Call:
    after = len(stack.api.replies(chat))
    assert stack.post(message_update(chat, text, **kwargs))[0] == 200  # type: ignore[arg-type]
    return stack.api.wait_for_reply(chat, contains, after=after)


def press(stack: TelegramStack, chat: int, sent: Call, title: str, contains: str, language: str = "en") -> Call:
    data = next(b["callback_data"] for b in sent.buttons if b["text"] == title)
    after = len(stack.api.replies(chat))
    update = callback_update(sent, data, language_code=language)
    assert stack.post(update)[0] == 200
    reply = stack.api.wait_for_reply(chat, contains, after=after)
    acknowledged = stack.api.calls_for("answerCallbackQuery")
    assert any(c.body.get("callback_query_id") == update["callback_query"]["id"] for c in acknowledged)
    return reply


def answers_of(stack: TelegramStack, chat: int) -> list:  # type: ignore[type-arg]
    today = datetime.now(timezone.utc).date()
    stored = load_turns(
        f"sqlite:///{stack.bot.workdir / 'tracker.db'}", today - timedelta(days=1), today + timedelta(days=1)
    )
    return [t for t in stored if t.conversation_id == f"telegram:{chat}" and t.decision and t.decision.get("answered")]


def test_private_chat_no_offers_the_project_manager(stack: TelegramStack) -> None:
    chat = new_private_chat()
    question = ask(stack, chat, "What are the priorities?", QUESTION["en"])
    assert [b["text"] for b in question.buttons] == ["Yes", "No"]
    assert all(b["callback_data"].startswith("/answer_feedback{") for b in question.buttons)
    assert all(len(b["callback_data"].encode()) <= 64 for b in question.buttons)  # Telegram's limit, sent as is
    # The answer came first, with its own buttons.
    answer = stack.api.replies(chat)[-2]
    assert "Source:" in answer.text and all(b["callback_data"].startswith("/answer_fact") for b in answer.buttons)

    offer = press(stack, chat, question, "No", "project manager")
    assert [b["text"] for b in offer.buttons] == ["Yes", "No"]
    assert [b["callback_data"] for b in offer.buttons] == ["/affirm", "/deny"]
    form = press(stack, chat, offer, "Yes", "What is your name?")
    assert form.chat_id == chat
    (judged,) = answers_of(stack, chat)
    assert judged.helpful is False and judged.channel == "telegram"


def test_private_chat_yes_in_finnish(stack: TelegramStack) -> None:
    chat = new_private_chat()
    question = ask(stack, chat, "Mitkä ovat painopisteet?", QUESTION["fi"], language_code="fi")
    assert [b["text"] for b in question.buttons] == ["Kyllä", "Ei"]
    press(stack, chat, question, "Kyllä", "Kiitos palautteesta", language="fi")
    # The same message's other button later: thanked, and the first verdict stands.
    press(stack, chat, question, "Ei", "Kiitos palautteesta", language="fi")
    (judged,) = answers_of(stack, chat)
    assert judged.helpful is True and judged.language == "fi"


def test_no_feedback_question_in_a_group(stack: TelegramStack) -> None:
    group = new_group_chat()
    ask(stack, group, f"@{BOT_USERNAME} what are the priorities?", "Source:", user_id=333)
    time.sleep(SETTLE)
    replies = stack.api.replies(group)
    assert len(replies) == 1 and all(QUESTION["en"] not in r.text for r in replies)
