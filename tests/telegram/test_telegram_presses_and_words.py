"""Issue 25 over Telegram, end to end (the real Rasa and action servers, Telegram played by the loopback stand-in):
typed text that begins with "/" is words; a first message is answered in the app's language and contact details
switch no language; pressed keyboards go; a group's answer to a press names the presser and quotes the pressed
message; the question asked in a group comes along into the private form; a reply Telegram holds up gets a word."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from bot.language import detect
from tests.telegram.telegram_standin import (
    BOT_USERNAME,
    Call,
    callback_update,
    message_update,
    new_group_chat,
    new_private_chat,
    user,
)

if TYPE_CHECKING:
    from tests.telegram.conftest import TelegramStack

SETTLE = 0.5
APOLOGY = "technical problem"


@pytest.fixture()
def stack(telegram_stack: TelegramStack) -> Iterator[TelegramStack]:
    before = len(telegram_stack.api.snapshot())
    yield telegram_stack
    refused = [(c.method, c.status, c.body) for c in telegram_stack.api.snapshot()[before:]
               if c.status not in (200, 429) and c.status < 500]
    assert refused == []


def say(stack: TelegramStack, chat: int, text: str, contains: str = "", **kwargs: object) -> list[Call]:
    after = len(stack.api.replies(chat))
    assert stack.post(message_update(chat, text, **kwargs))[0] == 200  # type: ignore[arg-type]
    stack.api.wait_for_reply(chat, contains, after=after)
    time.sleep(SETTLE)
    return stack.api.replies(chat)[after:]


def press(stack: TelegramStack, sent: Call, data: str, contains: str = "", **kwargs: object) -> list[Call]:
    chat = sent.chat_id
    after = len(stack.api.replies(chat))
    assert stack.post(callback_update(sent, data, **kwargs))[0] == 200  # type: ignore[arg-type]
    stack.api.wait_for_reply(chat, contains, after=after)
    time.sleep(SETTLE)
    return stack.api.replies(chat)[after:]


def texts(calls: list[Call]) -> str:
    return "\n".join(c.text for c in calls)


# --- item 11 -------------------------------------------------------------------------------------------------
def test_a_forwarded_restart_and_a_mentioned_one_are_words(stack: TelegramStack) -> None:
    chat = new_private_chat()
    say(stack, chat, "What are the priorities?", "logistics")
    forwarded = {"forward_from": user(999), "forward_date": 1732730000}
    reply = texts(say(stack, chat, "/restart", extra=forwarded))
    assert APOLOGY not in reply and "Hello!" not in reply
    # The conversation was not wiped: "the second one" still means the second priority.
    assert "renewable" in texts(say(stack, chat, "the second one", "Source:")).lower()

    group = new_group_chat()
    member = new_private_chat()
    say(stack, group, f"@{BOT_USERNAME} what are the priorities?", "logistics", user_id=member)
    reply = texts(say(stack, group, f"@{BOT_USERNAME} /restart", user_id=member))
    assert APOLOGY not in reply and "Hello!" not in reply


# --- item 14 -------------------------------------------------------------------------------------------------
def test_a_first_short_message_is_answered_in_the_apps_language(stack: TelegramStack) -> None:
    chat = new_private_chat()
    assert "Lähde:" in texts(say(stack, chat, "RIS3?", "Lähde:", language_code="fi"))


def test_a_name_and_a_number_in_a_group_switch_no_language(stack: TelegramStack) -> None:
    group, member = new_group_chat(), new_private_chat()
    say(stack, group, f"@{BOT_USERNAME} what are the priorities?", "Source:", user_id=member, language_code="en")
    reply = texts(say(stack, group, f"@{BOT_USERNAME} Anna Eval, 040 765 4321", user_id=member, language_code="en"))
    assert detect(reply) != "fi", reply
    assert "Source:" in texts(say(stack, group, f"@{BOT_USERNAME} RIS3?", "Source:", user_id=member))


FEEDBACK = ("Did this answer your question?", "Vastasiko tämä kysymykseesi?")  # actions/feedback.py


# --- items 13 and 15: presses -----------------------------------------------------------------------------------
def test_a_pressed_keyboard_goes_in_a_private_chat(stack: TelegramStack) -> None:
    chat = new_private_chat()
    # The answer's keyboard (the feedback question under it has one of its own).
    said = say(stack, chat, "What are the priorities?", "logistics")
    (answer,) = [c for c in said if c.buttons and c.text not in FEEDBACK]
    data = answer.buttons[0]["callback_data"]
    press(stack, answer, data, "Source:")
    edits = stack.api.wait_for(lambda calls: any(
        c.method == "editMessageReplyMarkup" and c.chat_id == chat for c in calls))
    (edit,) = [c for c in edits if c.method == "editMessageReplyMarkup" and c.chat_id == chat]
    assert edit.status == 200 and edit.body["message_id"] == answer.result["message_id"]
    left = [b for row in edit.body["reply_markup"]["inline_keyboard"] for b in row]
    assert all("callback_data" not in b for b in left)  # links may stay, buttons go


def test_a_press_in_a_group_names_the_presser_and_quotes_the_pressed_message(stack: TelegramStack) -> None:
    group, asker, presser = new_group_chat(), new_private_chat(), new_private_chat()
    sent = say(stack, group, f"@{BOT_USERNAME} what are the priorities?", "logistics", user_id=asker)
    (answer,) = [c for c in sent if c.buttons]
    pressed = answer.buttons[1]["callback_data"]
    replies = press(stack, answer, pressed, "Source:", user_id=presser)
    first = replies[0]
    assert first.body["reply_parameters"]["message_id"] == answer.result["message_id"]
    assert first.text.startswith("Aino: ")
    assert first.body["entities"] == [{"type": "text_mention", "offset": 0, "length": 4,
                                       "user": {"id": presser, "is_bot": False, "first_name": "Aino"}}]
    # Only the pressed button goes: the others are the other members' to press.
    edits = stack.api.wait_for(lambda calls: any(
        c.method == "editMessageReplyMarkup" and c.chat_id == group for c in calls))
    (edit,) = [c for c in edits if c.method == "editMessageReplyMarkup" and c.chat_id == group]
    left = [b.get("callback_data") for row in edit.body["reply_markup"]["inline_keyboard"] for b in row]
    assert pressed not in left and len(left) == len(answer.buttons) - 1


def test_the_question_asked_in_the_group_comes_into_the_private_form(stack: TelegramStack) -> None:
    group, member = new_group_chat(), new_private_chat()
    question = "How can my company apply for funding from the strategy?"
    say(stack, group, f"@{BOT_USERNAME} {question}", user_id=member)
    sent = say(stack, group, f"@{BOT_USERNAME} I want to talk to a person", "private chat", user_id=member)
    link = next(b["url"] for c in sent for b in c.buttons if "url" in b)
    assert link.endswith(f"_g{-group}")
    start = link.split("?start=", 1)[1]
    assert "What is your name?" in texts(say(stack, member, f"/start {start}", "name"))
    say(stack, member, "Aino Esimerkki", "reach you")
    offered = texts(say(stack, member, "aino@example.fi", question))
    assert question in offered


# --- item 15: a word while Telegram holds a reply up ---------------------------------------------------------------
def test_a_long_retry_after_gets_a_word_before_the_answer(stack: TelegramStack) -> None:
    chat = new_private_chat()
    stack.api.fail_with_429("sendMessage", chat, retry_after=8)
    assert stack.post(message_update(chat, "What are the priorities?"))[0] == 200
    stack.api.wait_for(lambda _: len(stack.api.replies(chat)) >= 2, timeout=40)
    notice, answer = stack.api.replies(chat)[:2]
    assert notice.text.startswith("Still working on it") and "logistics" in answer.text


def test_an_outage_gets_a_typing_action_when_no_message_can_go(stack: TelegramStack) -> None:
    chat = new_private_chat()
    stack.api.fail_with(500, "sendMessage", chat, times=4)  # the reply's three tries, and the notice
    assert stack.post(message_update(chat, "Kuka on projektipäällikkö?", language_code="fi"))[0] == 200
    stack.api.wait_for(lambda _: any(c.method == "sendChatAction" and c.chat_id == chat
                                     for c in stack.api.snapshot()), timeout=40)
    answer = stack.api.wait_for_reply(chat, "Tolmu", timeout=60)
    # The notice itself never went (only the answer, and the feedback question under it).
    assert [c.text for c in stack.api.replies(chat) if c.text not in FEEDBACK] == [answer.text]
