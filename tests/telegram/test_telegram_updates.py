"""Unit tests of the Telegram channel's pure parts: which updates are answered and with what text for
Rasa, duplicate update ids, button payloads, long replies, configuration."""

from __future__ import annotations

import random
import re

import pytest

from bot.channels.telegram_api import DEFAULT_API_BASE, TelegramConfig
from bot.channels.telegram_updates import (
    ASK_HUMAN,
    GREET,
    HELP,
    MAX_MESSAGE,
    BotIdentity,
    CallbackPayloads,
    RecentUpdates,
    callback_query_id,
    chat_id_of,
    chat_of_conversation,
    inline_keyboard,
    keyboard_after_press,
    read_update,
    secret_matches,
    split_text,
    strip_mention,
    utf16_len,
)
from bot.user_text import without_mark
from tests.telegram.telegram_standin import (
    BOT_ID,
    BOT_USERNAME,
    CHANNEL_BOT,
    GROUP_ANONYMOUS_BOT,
    message_update,
    user,
)

ME = BotIdentity(BOT_USERNAME, BOT_ID)
PRIVATE = 123456789
GROUP = -1001987654321


def read(update: dict, me: BotIdentity = ME):  # type: ignore[no-untyped-def]
    return read_update(update, me, CallbackPayloads().decode)


def bot_reply_message(chat_id: int, author_id: int = BOT_ID, username: str = BOT_USERNAME) -> dict:
    return {
        "message_id": 77,
        "from": {"id": author_id, "is_bot": True, "first_name": "RIS3", "username": username},
        "chat": {"id": chat_id, "type": "supergroup", "title": "RIS3 partners"},
        "date": 1732730000,
        "text": "The strategy has three priorities…",
    }


# --- private chats ------------------------------------------------------------------------------
def test_private_message_is_answered_with_its_text() -> None:
    incoming = read(message_update(PRIVATE, "What are the priorities?", language_code="fi"))
    assert incoming is not None
    assert incoming.text == "What are the priorities?"
    assert incoming.sender_id == f"telegram:{PRIVATE}" and incoming.chat_type == "private"
    assert incoming.language_code == "fi" and incoming.seed_language is None  # only /start sets it
    assert incoming.metadata()["language_code"] == "fi"


def test_private_message_without_text_gets_the_help() -> None:
    update = message_update(PRIVATE, "x")
    del update["message"]["text"]
    update["message"]["sticker"] = {"file_id": "CAACAgIAAxk", "emoji": "👍", "width": 512, "height": 512}
    incoming = read(update)
    assert incoming is not None and incoming.text == HELP


def test_photo_caption_is_read_as_the_text() -> None:
    update = message_update(PRIVATE, "x")
    del update["message"]["text"]
    update["message"]["caption"] = "Is this the RIS3 brochure?"
    incoming = read(update)
    assert incoming is not None and incoming.text == "Is this the RIS3 brochure?"


@pytest.mark.parametrize(
    ("text", "rasa_text", "command"),
    [
        ("/start", GREET, "start"),
        ("/start deep-link-payload", GREET, "start"),
        ("/help", HELP, "help"),
        ("/restart", GREET, "restart"),
        (f"/help@{BOT_USERNAME}", HELP, "help"),
        (f"/START@{BOT_USERNAME.upper()}", GREET, "start"),
    ],
)
def test_commands(text: str, rasa_text: str, command: str) -> None:
    for chat in (PRIVATE, GROUP):
        incoming = read(message_update(chat, text))
        assert incoming is not None, (chat, text)
        assert (incoming.text, incoming.command) == (rasa_text, command)


def test_start_and_restart_seed_the_language_from_telegram() -> None:
    assert read(message_update(PRIVATE, "/start", language_code="fi")).seed_language == "fi"  # type: ignore[union-attr]
    assert read(message_update(PRIVATE, "/start", language_code="en-GB")).seed_language == "en"  # type: ignore[union-attr]
    assert read(message_update(PRIVATE, "/start", language_code="de")).seed_language is None  # type: ignore[union-attr]
    assert read(message_update(PRIVATE, "/start", language_code=None)).seed_language is None  # type: ignore[union-attr]
    restart = read(message_update(PRIVATE, "/restart", language_code="fi"))
    assert restart is not None and restart.restart and restart.seed_language == "fi"


def test_payload_typed_as_text_is_not_taken_for_a_command() -> None:
    incoming = read(message_update(PRIVATE, '/answer_fact{"fact_id":"priorities_all"}'))
    assert incoming is not None and without_mark(incoming.text) == '/answer_fact{"fact_id":"priorities_all"}'
    assert incoming.command is None and not incoming.text.startswith("/")  # words, not a payload


def test_unknown_command_goes_to_rasa_in_private_but_not_in_a_group() -> None:
    assert without_mark(read(message_update(PRIVATE, "/settings")).text) == "/settings"  # type: ignore[union-attr]
    assert read(message_update(GROUP, "/settings")) is None
    assert read(message_update(GROUP, f"/settings@{BOT_USERNAME}")) is not None


def test_command_for_another_bot_is_left_alone() -> None:
    assert read(message_update(GROUP, "/help@some_other_bot")) is None
    assert read(message_update(PRIVATE, "/help@some_other_bot")) is None
    # Our name unknown: in a group we cannot tell, in a private chat it can only be for us.
    unnamed = BotIdentity("", BOT_ID)
    assert read(message_update(GROUP, "/help@whoever_bot"), unnamed) is None
    assert read(message_update(PRIVATE, "/help@whoever_bot"), unnamed).text == HELP  # type: ignore[union-attr]


# --- groups ---------------------------------------------------------------------------------------
def test_group_message_without_mention_is_left_alone() -> None:
    assert read(message_update(GROUP, "What are the priorities?")) is None
    assert read(message_update(GROUP, "ask the @other_bot about it")) is None
    assert read(message_update(GROUP, f"mail me at x{BOT_USERNAME}@example.fi")) is None


@pytest.mark.parametrize(
    ("text", "rasa_text"),
    [
        (f"@{BOT_USERNAME} what are the priorities?", "what are the priorities?"),
        (f"@{BOT_USERNAME}, what are the priorities?", "what are the priorities?"),
        (f"What are the priorities, @{BOT_USERNAME}?", "What are the priorities?"),
        (f"Hei @{BOT_USERNAME.upper()}: mitkä ovat painopisteet?", "Hei mitkä ovat painopisteet?"),
        (f"Kiitos @{BOT_USERNAME}!", "Kiitos!"),
        (f"@{BOT_USERNAME}", GREET),
    ],
)
def test_group_message_with_mention_is_answered_without_the_mention(text: str, rasa_text: str) -> None:
    incoming = read(message_update(GROUP, text))
    assert incoming is not None
    assert incoming.text == rasa_text
    # Each member has a conversation of their own (message_update's group member is 424242).
    assert incoming.in_group and incoming.sender_id == f"telegram:{GROUP}:424242"


def test_group_reply_to_the_bot_is_answered() -> None:
    reply = message_update(GROUP, "and the timeline?", reply_to=bot_reply_message(GROUP))
    incoming = read(reply)
    assert incoming is not None and incoming.text == "and the timeline?"
    # Known by the bot id in the token even without the username.
    assert read(reply, BotIdentity("", BOT_ID)) is not None
    # A reply to another bot, or to a person, is left alone.
    assert read(message_update(GROUP, "thanks", reply_to=bot_reply_message(GROUP, 999, "other_bot"))) is None
    person = bot_reply_message(GROUP, 555, "aino")
    person["from"]["is_bot"] = False
    assert read(message_update(GROUP, "thanks", reply_to=person)) is None


def test_messages_from_bots_and_channel_posts_are_left_alone() -> None:
    update = message_update(PRIVATE, "hello")
    update["message"]["from"]["is_bot"] = True
    assert read(update) is None
    channel = message_update(GROUP, f"@{BOT_USERNAME} hello")
    channel["message"]["chat"]["type"] = "channel"
    assert read(channel) is None
    edited = message_update(PRIVATE, "hello")
    assert read({"update_id": edited["update_id"], "edited_message": edited["message"]}) is None


def test_malformed_updates_are_left_alone() -> None:
    for update in ({}, {"update_id": "1"}, {"update_id": 1, "message": "x"}, {"update_id": 1, "message": {}},
                   {"update_id": 1, "message": {"chat": {"id": "x", "type": "private"}, "text": "hi"}},
                   {"update_id": 1, "callback_query": {"id": "1", "data": "/help"}}):
        assert read(update) is None


def test_strip_mention_leaves_other_text_alone() -> None:
    assert strip_mention(f"@{BOT_USERNAME}   tell me   more", BOT_USERNAME) == "tell me more"
    assert strip_mention("no mention here", BOT_USERNAME) == "no mention here"


# --- a group member's own conversation (issue 12, items 1 and 9) -----------------------------------
def test_each_group_member_has_a_conversation_of_their_own() -> None:
    aino = read(message_update(GROUP, f"@{BOT_USERNAME} mitkä ovat painopisteet?", user_id=111, language_code="fi"))
    bob = read(message_update(GROUP, f"@{BOT_USERNAME} what are the priorities?", user_id=222))
    assert aino is not None and bob is not None
    assert (aino.sender_id, bob.sender_id) == (f"telegram:{GROUP}:111", f"telegram:{GROUP}:222")
    # Replies still go to the group, for either form of conversation id.
    assert chat_of_conversation(aino.sender_id) == GROUP and chat_of_conversation(f"telegram:{GROUP}") == GROUP
    assert chat_of_conversation(f"telegram:{PRIVATE}") == PRIVATE
    assert chat_of_conversation("rest:someone") == "rest:someone"
    # A private chat is the user's conversation, as before.
    assert read(message_update(PRIVATE, "hello", user_id=PRIVATE)).sender_id == f"telegram:{PRIVATE}"  # type: ignore[union-attr]


def test_a_button_press_in_a_group_is_the_pressers_in_their_language() -> None:
    press = callback('/answer_fact{"fact_id":"priorities_all"}', GROUP)  # pressed by user 1, a Finnish app
    incoming = read(press)
    assert incoming is not None and incoming.sender_id == f"telegram:{GROUP}:1" and incoming.language == "fi"


def test_the_channel_tells_the_actions_the_chat_type_and_its_username() -> None:
    incoming = read(message_update(GROUP, f"@{BOT_USERNAME} I want to talk to a person"))
    assert incoming is not None
    assert incoming.metadata()["telegram"]["chat_type"] == "supergroup"
    assert incoming.metadata()["telegram"]["bot_username"] == BOT_USERNAME


@pytest.mark.parametrize(
    ("text", "language"),
    [("/start handoff", None), ("/start handoff_fi", "fi"), ("/start HANDOFF_EN", "en"),
     (f"/start@{BOT_USERNAME} handoff", None)],
)
def test_start_handoff_in_a_private_chat_asks_for_a_person(text: str, language: str | None) -> None:
    incoming = read(message_update(PRIVATE, text, language_code="de"))
    assert incoming is not None and incoming.text == ASK_HUMAN and incoming.command == "start"
    assert incoming.seed_language == language  # the link's language, else Telegram's (de: none of ours)
    assert read(message_update(PRIVATE, text, language_code="fi")).seed_language == (language or "fi")  # type: ignore[union-attr]


def test_start_handoff_in_a_group_only_greets() -> None:
    for text in ("/start handoff", f"/start@{BOT_USERNAME} handoff_fi"):
        incoming = read(message_update(GROUP, text))
        assert incoming is not None and incoming.text == GREET, text
    assert read(message_update(PRIVATE, "/start something-else")).text == GREET  # type: ignore[union-attr]


# --- forwarded messages, anonymous admins, channels (issue 12, items 6 and 9) ------------------------
@pytest.mark.parametrize(
    "forward",
    [{"forward_origin": {"type": "user", "date": 1732730000, "sender_user": user(999)}, "forward_date": 1732730000},
     {"forward_from": user(999), "forward_date": 1732730000},
     {"forward_sender_name": "Hidden Person", "forward_date": 1732730000}],
)
def test_a_forwarded_command_is_text(forward: dict) -> None:
    incoming = read(message_update(PRIVATE, "/start", extra=forward))
    assert incoming is not None and incoming.command is None
    # Text for the NLU, not Rasa's "/intent" (issue 25 item 11): the same words, marked as typed.
    assert not incoming.text.startswith("/") and without_mark(incoming.text) == "/start"
    assert incoming.seed_language is None
    # In a group it is neither a command nor addressed to the bot.
    assert read(message_update(GROUP, "/start", extra=forward)) is None
    assert read(message_update(GROUP, f"/help@{BOT_USERNAME}", extra=forward)) is None


def test_anonymous_admin_is_answered_as_the_group_it_speaks_as() -> None:
    group_chat = {"id": GROUP, "title": "RIS3 partners", "type": "supergroup"}
    update = message_update(GROUP, f"@{BOT_USERNAME} what are the priorities?", sender=GROUP_ANONYMOUS_BOT,
                            sender_chat=group_chat)
    incoming = read(update)
    assert incoming is not None and incoming.text == "what are the priorities?"
    assert incoming.user_id == GROUP and incoming.sender_id == f"telegram:{GROUP}:{GROUP}"
    command = read(message_update(GROUP, f"/help@{BOT_USERNAME}", sender=GROUP_ANONYMOUS_BOT, sender_chat=group_chat))
    assert command is not None and command.text == HELP
    # Not addressed to the bot: left alone like anyone's.
    assert read(message_update(GROUP, "what are the priorities?", sender=GROUP_ANONYMOUS_BOT,
                               sender_chat=group_chat)) is None


def test_member_posting_as_a_channel_is_answered_as_that_channel() -> None:
    channel = {"id": -1002222333444, "title": "Kymenlaakso news", "type": "channel"}
    incoming = read(message_update(GROUP, f"@{BOT_USERNAME} when was the strategy published?", sender=CHANNEL_BOT,
                                   sender_chat=channel))
    assert incoming is not None and incoming.sender_id == f"telegram:{GROUP}:{channel['id']}"
    # The channel's own posts copied into its discussion group are nobody asking the bot.
    automatic = message_update(GROUP, f"@{BOT_USERNAME} news", sender=CHANNEL_BOT, sender_chat=channel,
                               extra={"is_automatic_forward": True})
    assert read(automatic) is None
    # Any other bot is still left alone.
    other = {"id": 5550001, "is_bot": True, "first_name": "Other", "username": "other_bot"}
    assert read(message_update(GROUP, f"@{BOT_USERNAME} hello", sender=other)) is None


# --- forum topics (issue 12, item 5) ---------------------------------------------------------------
def test_forum_topic_of_a_message_and_of_a_button_press() -> None:
    in_topic = read(message_update(GROUP, f"@{BOT_USERNAME} what are the priorities?", thread_id=77))
    assert in_topic is not None and in_topic.thread_id == 77
    assert read(message_update(GROUP, f"@{BOT_USERNAME} what are the priorities?")).thread_id is None  # type: ignore[union-attr]
    # In a group without topics message_thread_id names a thread of replies, which sendMessage refuses.
    reply_thread = message_update(GROUP, f"@{BOT_USERNAME} and the timeline?", extra={"message_thread_id": 12})
    assert read(reply_thread).thread_id is None  # type: ignore[union-attr]
    press = callback("/help", GROUP)
    press["callback_query"]["message"].update(message_thread_id=77, is_topic_message=True)
    assert read(press).thread_id == 77  # type: ignore[union-attr]


# --- button presses -------------------------------------------------------------------------------
def callback(data: str, chat_id: int = PRIVATE, markup: dict | None = None) -> dict:
    message = {"message_id": 5, "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
               "date": 1, "text": "…", "from": {"id": BOT_ID, "is_bot": True, "first_name": "RIS3"}}
    if markup:
        message["reply_markup"] = markup
    return {"update_id": 42, "callback_query": {"id": "987654321", "from": {"id": 1, "is_bot": False,
            "first_name": "A", "language_code": "fi"}, "message": message, "chat_instance": "-1", "data": data}}


def test_button_press_sends_its_payload() -> None:
    payload = '/answer_fact{"fact_id":"priorities_all"}'
    for chat in (PRIVATE, GROUP):  # in a group too: the press is addressed to the bot
        incoming = read(callback(payload, chat))
        assert incoming is not None and incoming.callback
        assert incoming.text == payload and incoming.chat_id == chat and incoming.language_code == "fi"
    assert callback_query_id(callback(payload)) == "987654321"
    assert chat_id_of(callback(payload)) == PRIVATE


def test_long_payloads_travel_as_short_keys() -> None:
    payloads = CallbackPayloads()
    short = '/answer_fact{"fact_id":"timeline_implementation"}'
    assert payloads.encode(short) == short
    long = '/answer_fact{"fact_id":"' + "x" * 80 + '"}'
    key = payloads.encode(long)
    assert len(key.encode()) <= 64 and key != long
    assert payloads.decode(key) == long
    assert payloads.encode(long) == key  # the same payload, the same key
    # After a restart the map is empty: the pressed button's title is sent instead.
    markup = {"inline_keyboard": [[{"text": "The timeline", "callback_data": key}]]}
    fresh = CallbackPayloads()
    assert fresh.decode(key, markup) == "The timeline"
    assert fresh.decode(key, None) is None
    assert read_update(callback(key, markup=markup), ME, fresh.decode).text == "The timeline"  # type: ignore[union-attr]
    assert read_update(callback(key), ME, fresh.decode) is None


def test_inline_keyboard_one_button_a_row() -> None:
    payloads = CallbackPayloads()
    buttons = [
        {"title": "What is smart specialisation?", "payload": '/answer_fact{"fact_id":"about_what"}'},
        {"title": "Yes", "payload": "/affirm"},
        {"title": "Brochure", "url": "https://www.kymenlaakso.fi/", "type": "web_url"},
        {"title": "", "payload": "/deny"},
    ]
    keyboard = inline_keyboard(buttons, payloads)
    assert keyboard == {"inline_keyboard": [
        [{"text": "What is smart specialisation?", "callback_data": '/answer_fact{"fact_id":"about_what"}'}],
        [{"text": "Yes", "callback_data": "/affirm"}],
        [{"text": "Brochure", "url": "https://www.kymenlaakso.fi/"}],
    ]}
    assert inline_keyboard([], payloads) is None


# --- duplicates, secret ---------------------------------------------------------------------------
def test_recent_updates_remember_a_bounded_number() -> None:
    recent = RecentUpdates(size=3)
    assert recent.first_time(1) and recent.first_time(2) and recent.first_time(3)
    assert not recent.first_time(1)  # and 1 is now the most recent
    assert recent.first_time(4)  # pushes out 2
    assert not recent.first_time(1) and not recent.first_time(3) and recent.first_time(2)


def test_secret_matches() -> None:
    assert secret_matches("s3cret", "s3cret")
    assert not secret_matches("s3cret", "S3CRET")
    assert not secret_matches("s3cret", None)
    assert not secret_matches("s3cret", "")
    assert not secret_matches("", "")  # no secret configured: nothing matches


# --- long replies ---------------------------------------------------------------------------------
def _assert_pieces_of(text: str, parts: list[str], limit: int) -> None:
    """Every part within the limit, and the parts, in order, are the text with only whitespace at the
    cuts left out."""
    assert all(0 < utf16_len(part) <= limit for part in parts)
    position = 0
    for part in parts:
        found = text.index(part, position)
        assert text[position:found].strip() == "", "something other than whitespace was dropped at a cut"
        position = found + len(part)
    assert text[position:].strip() == ""


def test_split_10000_characters_on_paragraphs() -> None:
    rng = random.Random(7)
    words = "strategy priorities logistics renewable energy digital Kymenlaakso region project".split()
    paragraphs = []
    while sum(len(p) + 2 for p in paragraphs) < 10_000:
        sentence_count = rng.randint(1, 12)
        paragraphs.append(" ".join(
            " ".join(rng.choice(words) for _ in range(rng.randint(4, 20))).capitalize() + "."
            for _ in range(sentence_count)
        ))
    text = "\n\n".join(paragraphs)[:10_000].rstrip() + "."
    assert len(text) >= 9_990
    parts = split_text(text)
    assert len(parts) >= 3
    _assert_pieces_of(text, parts, MAX_MESSAGE)
    assert "\n\n".join(parts) == text  # every cut fell between paragraphs
    assert split_text("short reply\n\nSource: X") == ["short reply\n\nSource: X"]


def test_split_without_paragraphs_falls_back_to_lines_sentences_words_and_characters() -> None:
    lines = "\n".join(f"Line {i} of the list." for i in range(700))  # ~15 000 characters, no blank line
    parts = split_text(lines)
    _assert_pieces_of(lines, parts, MAX_MESSAGE)
    assert "\n".join(parts) == lines
    sentences = " ".join(f"Sentence number {i} ends here." for i in range(500))
    parts = split_text(sentences)
    _assert_pieces_of(sentences, parts, MAX_MESSAGE)
    assert all(part.endswith(".") for part in parts)
    one_word = "x" * 10_000
    parts = split_text(one_word)
    assert [len(p) for p in parts] == [4096, 4096, 1808] and "".join(parts) == one_word


def test_split_counts_utf16_units_as_telegram_does() -> None:
    text = "🙂" * 3000  # 6000 UTF-16 units
    parts = split_text(text)
    assert [utf16_len(p) for p in parts] == [4096, 1904]
    assert "".join(parts) == text


def test_split_handles_paragraph_ending_exactly_at_the_limit() -> None:
    first = "a" * 4096
    text = first + "\n\n" + "b" * 10
    assert split_text(text) == [first, "b" * 10]


# --- configuration --------------------------------------------------------------------------------
def test_config_reads_credentials_then_environment() -> None:
    env = {"RIS3_TELEGRAM_TOKEN": "1:env", "RIS3_TELEGRAM_SECRET": "env_secret",
           "RIS3_TELEGRAM_API_BASE": "http://127.0.0.1:9/", "RIS3_TELEGRAM_BOT_USERNAME": "@env_bot"}
    config = TelegramConfig.resolve({"token": "", "secret": None, "api_base": "", "bot_username": ""}, env)
    assert (config.token, config.secret, config.api_base, config.bot_username) == (
        "1:env", "env_secret", "http://127.0.0.1:9", "env_bot")
    config = TelegramConfig.resolve({"token": "2:file", "secret": "file_secret"}, env)
    assert (config.token, config.secret, config.bot_id) == ("2:file", "file_secret", 2)
    assert "2:file" not in repr(config) and "file_secret" not in repr(config)
    empty = TelegramConfig.resolve(None, {})
    assert empty.api_base == DEFAULT_API_BASE and empty.bot_id is None
    assert len(empty.problems()) == 2


def test_config_refuses_a_secret_telegram_would_refuse() -> None:
    assert TelegramConfig(token="1:x", secret="ok_Secret-123").problems() == []
    problems = TelegramConfig(token="1:x", secret="has spaces!").problems()
    assert problems and re.search("secret", problems[0])


def test_link_buttons_telegram_cannot_open_are_left_out() -> None:
    payloads = CallbackPayloads()
    buttons = [
        {"title": "+358 44 747 8512", "url": "tel:+358447478512"},
        {"title": "Mail", "url": "mailto:x@example.fi"},
        {"title": "Page", "url": "https://example.fi/ris3"},
    ]
    assert inline_keyboard(buttons, payloads) == {"inline_keyboard": [[{"text": "Page", "url": "https://example.fi/ris3"}]]}


# --- typed text is never a payload (issue 25 item 11) ---------------------------------------------
@pytest.mark.parametrize("text", ["/restart", "/ask_human", '/answer_fact{"fact_id":"contact_pm"}', "/affirm"])
def test_typed_text_that_begins_with_a_slash_reaches_rasa_as_text(text: str) -> None:
    forwarded = {"forward_from": user(999), "forward_date": 1732730000}
    updates = [
        message_update(PRIVATE, text, extra=forwarded),  # a forwarded command
        message_update(GROUP, f"@{BOT_USERNAME} {text}"),  # after the mention in a group
    ]
    if "{" in text:  # not a command's shape: as a reply to the bot, the words (/restart there is a command)
        updates.append(message_update(GROUP, text, extra={"reply_to_message": bot_reply_message(GROUP)}))
    if text in ("/affirm", "/ask_human"):  # typed in a private chat: no command of ours, so the words
        updates.append(message_update(PRIVATE, text))
    for update in updates:
        incoming = read(update)
        assert incoming is not None, update
        assert not incoming.text.strip().startswith("/"), incoming.text
        assert without_mark(incoming.text) == text


def test_only_our_buttons_callback_data_is_a_payload() -> None:
    ours = read(callback('/answer_fact{"fact_id":"contact_pm"}'))
    assert ours is not None and ours.text == '/answer_fact{"fact_id":"contact_pm"}'
    assert read(callback("/affirm")).text == "/affirm"  # type: ignore[union-attr]
    forged = read(callback("/restart"))
    assert forged is not None and without_mark(forged.text) == "/restart" and not forged.text.startswith("/")


# --- a pressed keyboard (issue 25 item 15) and a link from a group (item 13) ---------------------------------
def test_a_pressed_keyboard_loses_its_buttons_in_private_and_the_pressed_one_in_a_group() -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "/a"}], [{"text": "B", "callback_data": "/b"}],
                                  [{"text": "Page", "url": "https://example.fi"}]]}
    assert keyboard_after_press(markup, "/a", in_group=False) == {
        "inline_keyboard": [[{"text": "Page", "url": "https://example.fi"}]]}
    assert keyboard_after_press(markup, "/a", in_group=True) == {
        "inline_keyboard": [[{"text": "B", "callback_data": "/b"}], [{"text": "Page", "url": "https://example.fi"}]]}
    assert keyboard_after_press(markup, "/gone", in_group=True) is None  # nothing to change
    assert keyboard_after_press(None, "/a", in_group=False) is None


def test_a_link_from_a_group_names_the_group_and_its_language() -> None:
    incoming = read(message_update(PRIVATE, "/start handoff_fi_g1001987654321", language_code="en"))
    assert incoming is not None and incoming.text == ASK_HUMAN and incoming.start_language == "fi"
    assert incoming.from_group == -1001987654321
    plain = read(message_update(PRIVATE, "/start handoff_en"))
    assert plain is not None and plain.from_group is None


def test_a_press_carries_who_pressed_and_the_pressed_message() -> None:
    press = callback("/affirm", GROUP)
    incoming = read(press)
    assert incoming is not None and incoming.first_name == "A" and incoming.pressed_message_id == 5
