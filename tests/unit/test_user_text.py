"""Typed text is never a payload (issue 25 item 11): bot/user_text.py and the channels' use of it (REST and the
website chat's message rules; Telegram's in tests/telegram/test_telegram_updates.py)."""

from __future__ import annotations

import pytest

from bot.channels import web_chat_rules as rules
from bot.user_text import TEXT_MARK, button_payload, typed, without_mark


@pytest.mark.parametrize("text", ["/restart", " /ask_human", '/answer_fact{"fact_id":"contact_pm"}', "/affirm@0.9"])
def test_typed_text_beginning_with_a_slash_is_marked_as_words(text: str) -> None:
    marked = typed(text)
    assert not marked.strip().startswith("/") and marked.startswith(TEXT_MARK)
    assert without_mark(marked) == text.strip()


def test_other_text_is_left_as_it_is() -> None:
    assert typed("what are the priorities?") == "what are the priorities?"
    assert typed("and/or") == "and/or"


def test_only_our_buttons_payloads_are_payloads() -> None:
    for payload in ("/affirm", "/deny", '/answer_fact{"fact_id":"contact_pm"}', "/add_to_request"):
        assert button_payload(payload) == payload
    for foreign in ("/restart", "/ask_human", "/session_start", "/greet", "/affirmative"):
        assert button_payload(foreign) == TEXT_MARK + foreign
    assert button_payload("Yes") == "Yes"  # a button without a payload sends its title: words


def test_the_website_chat_takes_a_payload_only_from_a_button() -> None:
    typed_payload = rules.read_message({"message": "/affirm", "session_id": "abcdefgh"})
    assert typed_payload.text == TEXT_MARK + "/affirm"
    pressed = rules.read_message({"message": "/affirm", "session_id": "abcdefgh", "button": True})
    assert pressed.text == "/affirm"
    forged = rules.read_message({"message": "/restart", "button": True})
    assert forged.text == TEXT_MARK + "/restart"
    with pytest.raises(rules.BadMessage, match="'button' must be true or false"):
        rules.read_message({"message": "/affirm", "button": "yes"})
