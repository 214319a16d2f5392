"""End to end over Telegram: updates as Telegram sends them are POSTed to the real Rasa server's
/webhooks/telegram/webhook; what the channel sends arrives at the loopback Bot API stand-in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.conftest import post_message
from tests.telegram.telegram_standin import (
    BOT_USERNAME,
    SECRET,
    Call,
    bot_message,
    callback_update,
    message_update,
    new_group_chat,
    new_private_chat,
)

if TYPE_CHECKING:
    from tests.telegram.conftest import TelegramStack

# A moment to be sure nothing more comes (the chat's updates are processed in order, so a later
# update's reply having arrived already says the earlier one is done).
SETTLE = 0.3


@pytest.fixture()
def stack(telegram_stack: TelegramStack) -> Iterator[TelegramStack]:
    before = len(telegram_stack.api.snapshot())
    yield telegram_stack
    # Telegram would have refused nothing the channel sent (429s are asked for by some tests).
    refused = [(c.method, c.status, c.body) for c in telegram_stack.api.snapshot()[before:]
               if c.status not in (200, 429)]
    assert refused == []


def ask(stack: TelegramStack, chat: int, text: str, contains: str, **kwargs: object) -> Call:
    after = len(stack.api.replies(chat))
    status, _ = stack.post(message_update(chat, text, **kwargs))  # type: ignore[arg-type]
    assert status == 200
    return stack.api.wait_for_reply(chat, contains, after=after)


def test_no_call_to_telegram_at_start_up(telegram_stack: TelegramStack) -> None:
    assert telegram_stack.calls_at_start == 0


def test_english_question_gets_the_answer_with_an_inline_keyboard(stack: TelegramStack) -> None:
    chat = new_private_chat()
    reply = ask(stack, chat, "What are the priorities?", "logistics")
    assert "Source:" in reply.text
    assert reply.buttons and all(b["callback_data"].startswith("/answer_fact") for b in reply.buttons)
    assert all(len(b["callback_data"].encode()) <= 64 for b in reply.buttons)
    assert "parse_mode" not in reply.body and "reply_parameters" not in reply.body  # private: no quoting
    assert reply.chat_id == chat  # the conversation is the chat


def test_finnish_question_gets_a_finnish_answer(stack: TelegramStack) -> None:
    chat = new_private_chat()
    reply = ask(stack, chat, "Mitkä ovat painopisteet?", "Lähde:", language_code="fi")
    assert "Source:" not in reply.text


def test_button_press_is_acknowledged_and_answered(stack: TelegramStack) -> None:
    chat = new_private_chat()
    menu = ask(stack, chat, "What are the priorities?", "logistics")
    button = menu.buttons[0]
    after = len(stack.api.replies(chat))
    press = callback_update(menu, button["callback_data"])
    assert stack.post(press)[0] == 200
    reply = stack.api.wait_for_reply(chat, "Source:", after=after)
    answered = stack.api.calls_for("answerCallbackQuery")
    assert any(c.body.get("callback_query_id") == press["callback_query"]["id"] for c in answered)
    assert reply.text != menu.text or reply.buttons != menu.buttons


def test_start_greets_in_the_users_telegram_language_with_topic_buttons(stack: TelegramStack) -> None:
    finnish = new_private_chat()
    greeting = ask(stack, finnish, "/start", "Hei!", language_code="fi")
    titles = [b["text"] for b in greeting.buttons]
    assert len(titles) >= 4 and "Mitä on älykäs erikoistuminen?" in titles
    # The conversation stays Finnish for a message whose language cannot be told.
    assert "Lähde:" in ask(stack, finnish, "RIS3?", "Lähde:").text

    english = new_private_chat()
    greeting = ask(stack, english, "/start", "Hello!", language_code="en")
    assert "What is smart specialisation?" in [b["text"] for b in greeting.buttons]


def test_help_and_restart_commands(stack: TelegramStack) -> None:
    chat = new_private_chat()
    # A first message that does not tell its language (a command) is answered in the Telegram app's language.
    assert ask(stack, chat, "/help", "Vastaan kysymyksiin", language_code="fi").buttons
    # /restart starts the conversation anew, in the user's Telegram language, and greets.
    assert ask(stack, chat, "/restart", "Hei!", language_code="fi").buttons
    assert ask(stack, chat, f"/help@{BOT_USERNAME}", "Vastaan kysymyksiin").buttons


def test_sticker_in_a_private_chat_gets_the_help(stack: TelegramStack) -> None:
    chat = new_private_chat()
    update = message_update(chat, "x")
    del update["message"]["text"]
    update["message"]["sticker"] = {"file_id": "CAACAgIAAxkBAAIB", "file_unique_id": "AgAD", "type": "regular",
                                    "width": 512, "height": 512, "is_animated": False, "is_video": False}
    assert stack.post(update)[0] == 200
    assert stack.api.wait_for_reply(chat, "I answer questions").buttons


def test_group_answers_only_what_is_addressed_to_the_bot(stack: TelegramStack) -> None:
    group = new_group_chat()
    assert stack.post(message_update(group, "What are the priorities?", user_id=111))[0] == 200
    assert stack.post(message_update(group, "/help@some_other_bot", user_id=111))[0] == 200
    mention = message_update(group, f"@{BOT_USERNAME} what are the priorities?", user_id=222)
    assert stack.post(mention)[0] == 200
    reply = stack.api.wait_for_reply(group, "logistics")
    # The reply quotes the message that mentioned the bot.
    assert reply.body["reply_parameters"]["message_id"] == mention["message"]["message_id"]
    time.sleep(SETTLE)
    assert len(stack.api.replies(group)) == 1

    # A reply to one of the bot's messages is addressed to it too, and so is /help@<the bot>.
    follow_up = message_update(group, "and the timeline?", user_id=111, reply_to=bot_message(reply))
    assert stack.post(follow_up)[0] == 200
    stack.api.wait_for(lambda _: len(stack.api.replies(group)) >= 2)
    ask(stack, group, f"/help@{BOT_USERNAME}", "I answer questions")


def test_wrong_or_missing_secret_is_refused_and_nothing_processed(stack: TelegramStack) -> None:
    chat = new_private_chat()
    assert stack.post(message_update(chat, "What are the priorities?"), secret="not-the-secret")[0] == 403
    assert stack.post(message_update(chat, "What are the priorities?"), secret=None)[0] == 403
    assert stack.post(message_update(chat, "What are the priorities?"), secret=SECRET.upper())[0] == 403
    ask(stack, chat, "/help", "I answer questions")
    time.sleep(SETTLE)
    assert not any("logistics" in c.text for c in stack.api.replies(chat))


def test_body_that_is_not_an_update_is_refused(stack: TelegramStack) -> None:
    assert stack.post(None, body=b"not json")[0] == 400
    assert stack.post({"message": {"text": "no update id"}})[0] == 400


def test_same_update_id_is_processed_once(stack: TelegramStack) -> None:
    chat = new_private_chat()
    update = message_update(chat, "What are the priorities?")
    for _ in range(3):  # Telegram resending an update it thinks the bot did not get
        assert stack.post(update)[0] == 200
    stack.api.wait_for_reply(chat, "logistics")
    ask(stack, chat, "/help", "I answer questions")  # processed after the first, in order
    time.sleep(SETTLE)
    assert sum("logistics" in c.text for c in stack.api.replies(chat)) == 1


def test_rate_limit_is_waited_out_and_the_reply_arrives(stack: TelegramStack) -> None:
    chat = new_private_chat()
    stack.api.fail_with_429("sendMessage", chat, retry_after=1)
    reply = ask(stack, chat, "What are the priorities?", "logistics")
    limited = [c for c in stack.api.calls_for("sendMessage", chat) if c.status == 429]
    assert len(limited) == 1
    assert reply.at - limited[0].at >= 0.95  # retried after retry_after, not at once
    assert limited[0].body == reply.body  # the same message again


def test_webhook_answers_at_once_and_reply_latency(stack: TelegramStack, record_property) -> None:  # type: ignore[no-untyped-def]
    questions = [
        ("What are the priorities?", "Source:"),
        ("When was the strategy published?", "Source:"),
        ("Who is the project manager?", "Source:"),
        ("Mitkä ovat painopisteet?", "Lähde:"),
        ("What is smart specialisation?", "Source:"),
    ] * 2
    webhook_seconds = []
    for number, (text, contains) in enumerate(questions):
        chat = new_private_chat()
        posted = time.monotonic()
        status, took = stack.post(message_update(chat, text))
        assert status == 200
        webhook_seconds.append(took)
        reply = stack.api.wait_for_reply(chat, contains)
        stack.latencies.append(stack.api.replies(chat)[0].at - posted)
        assert reply.at > posted
        started = time.monotonic()  # the same question over REST, for comparison
        assert contains in post_message(stack.bot.url, f"rest-latency-{number}", text)[0]["text"]
        stack.rest_latencies.append(time.monotonic() - started)
    assert max(webhook_seconds) < 0.5, webhook_seconds  # answered before the reply is made
    record_property("telegram_latencies_s", [round(s, 3) for s in stack.latencies])
    record_property("rest_latencies_s", [round(s, 3) for s in stack.rest_latencies])


def test_no_getme_when_the_username_is_configured(stack: TelegramStack) -> None:
    assert stack.api.calls_for("getMe") == []


def test_with_the_action_server_down_the_chat_is_told_so(stack: TelegramStack) -> None:
    # Last in this module: it stops and restarts the stack's action server.
    args = stack.bot.stop_one("actions", grace=5)
    try:
        reply = ask(stack, new_private_chat(), "Who is the project manager?", "technical problem")
        assert "Tolmunen" in reply.text and "Source:" in reply.text
    finally:
        stack.bot.restart("actions", args)
    # The restarted action server loads its embedding model at the first question (the stack's first answer
    # is warmed up for 120 s too): more than the usual 30 s on a busy machine.
    chat = new_private_chat()
    assert stack.post(message_update(chat, "Who is the project manager?"))[0] == 200
    back = stack.api.wait_for_reply(chat, "Tolmunen", timeout=120)
    assert "technical problem" not in back.text
