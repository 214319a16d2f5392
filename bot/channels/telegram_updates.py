"""Reading Telegram updates and shaping replies, without I/O: which updates the bot answers and with
what text for Rasa, which update ids it has already seen, button payloads as callback data, and long
replies cut to Telegram's message size. Python 3.10, standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.user_text import button_payload, typed

MAX_MESSAGE = 4096  # Bot API limit for one message's text, in UTF-16 code units
MAX_CALLBACK_DATA = 64  # bytes
GROUP_CHATS = frozenset({"group", "supergroup"})
PRIVATE_CHAT = "private"
LANGUAGES = frozenset({"en", "fi"})
CONVERSATION_PREFIX = "telegram:"  # bot/channels/conversation_ids.py
# Telegram's stand-ins for a group's anonymous admins and for members posting as a channel: every such
# message carries sender_chat, the chat that speaks (the group itself, or the channel).
ANONYMOUS_SENDERS = frozenset({1087968824, 136817688})  # GroupAnonymousBot, Channel_Bot
# Keys of a forwarded message (forward_origin since Bot API 7.0, the others before).
_FORWARD_KEYS = ("forward_origin", "forward_from", "forward_from_chat", "forward_sender_name", "forward_date")
_CONVERSATION = re.compile(r"(-?\d+)(?::-?\d+)?")  # <chat id>, or <chat id>:<member> in a group


def chat_of_conversation(sender_id: str) -> int | str:
    """The chat to send to for a conversation id: "telegram:42" -> 42, and a group member's
    "telegram:-100123:42" -> -100123; an id without the prefix as it is."""
    local = sender_id[len(CONVERSATION_PREFIX):] if sender_id.startswith(CONVERSATION_PREFIX) else sender_id
    match = _CONVERSATION.fullmatch(local)
    return int(match.group(1)) if match else local


# Telegram commands and the Rasa message each one becomes.
GREET, HELP, RESTART = "/greet", "/help", "/restart"
# /privacy and /forget: what is kept, and erasing this conversation (actions/privacy.py; in a group /forget
# only points to a private chat).
PRIVACY, FORGET = "/ask_privacy", "/erase_conversation"
COMMANDS = {"start": GREET, "help": HELP, "restart": GREET, "privacy": PRIVACY, "forget": FORGET}
# "/start handoff" (the deep link t.me/<bot>?start=handoff, optionally handoff_en / handoff_fi for the
# language the member spoke in the group) opens the handoff form in a private chat.
ASK_HUMAN = "/ask_human"  # domain.yml: the intent of a request for a person
HANDOFF_START = "handoff"
# "_g<group>": the group the member asked in (its id without the sign), to carry their question over.
_HANDOFF_PAYLOAD = re.compile(rf"{HANDOFF_START}(?:_(en|fi))?(?:_g(\d{{1,20}}))?", re.IGNORECASE)

_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?=\s|$)")


def secret_matches(expected: str, received: str | None) -> bool:
    """Telegram's X-Telegram-Bot-Api-Secret-Token against ours, in constant time."""
    return bool(expected) and received is not None and hmac.compare_digest(received.encode(), expected.encode())


@dataclass(frozen=True)
class BotIdentity:
    username: str = ""  # without the @; empty when unknown
    bot_id: int | None = None


@dataclass(frozen=True)
class Incoming:
    """An update the bot answers. sender_id, the Rasa conversation, is "telegram:<chat id>" in a private chat
    and "telegram:<chat id>:<member>" in a group (the prefix keeps REST and website clients out of it): in a
    group each member has a conversation of their own, with their own language and state, while the
    replies go to the group."""

    update_id: int
    chat_id: int
    chat_type: str
    text: str  # the user's message for Rasa
    language_code: str | None = None  # the user's Telegram app language, as Telegram gives it
    message_id: int | None = None  # the user's message (a reply in a group quotes it)
    command: str | None = None  # start, help or restart
    callback: bool = False  # a button press
    # Who wrote or pressed: the user, or for an anonymous admin or a member posting as a channel the chat
    # they speak as (sender_chat). A group member's conversation, and the per-user rate limit.
    user_id: int | None = None
    thread_id: int | None = None  # the forum topic the message is in; every reply goes there
    bot_username: str = ""  # for the handoff's link to a private chat (actions/group_chat.py)
    start_language: str | None = None  # the language named in a "/start handoff_fi" link
    from_group: int | None = None  # the group a "/start handoff_fi_g<id>" link came from
    first_name: str = ""  # of who pressed a button: a group's answer to a press names them
    pressed_message_id: int | None = None  # the message whose button was pressed

    @property
    def sender_id(self) -> str:
        if self.in_group and self.user_id is not None:
            return f"{CONVERSATION_PREFIX}{self.chat_id}:{self.user_id}"
        return f"{CONVERSATION_PREFIX}{self.chat_id}"

    @property
    def in_group(self) -> bool:
        return self.chat_type in GROUP_CHATS

    @property
    def restart(self) -> bool:
        return self.command == "restart"

    @property
    def language(self) -> str | None:
        """en or fi from the Telegram language code ("fi", "en-GB"), else None."""
        primary = (self.language_code or "").split("-")[0].lower()
        return primary if primary in LANGUAGES else None

    @property
    def seed_language(self) -> str | None:
        """The conversation's language to set before a (re)start's greeting."""
        if self.command not in ("start", "restart"):
            return None
        return self.start_language or self.language

    def metadata(self) -> dict[str, Any]:
        return {
            "language_code": self.language_code,
            "telegram": {
                "chat_type": self.chat_type,
                "update_id": self.update_id,
                "message_id": self.message_id,
                "bot_username": self.bot_username,
            },
        }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def chat_id_of(update: Mapping[str, Any]) -> int | None:
    """The chat an update belongs to (also for updates the bot will not answer)."""
    message = update.get("message")
    if not isinstance(message, dict):
        query = update.get("callback_query")
        message = query.get("message") if isinstance(query, dict) else None
    chat = message.get("chat") if isinstance(message, dict) else None
    return _int(chat.get("id")) if isinstance(chat, dict) else None


def _thread_of(message: Mapping[str, Any]) -> int | None:
    """The forum topic of a message; None in the General topic and outside forums (a non-forum group's
    message_thread_id names a thread of replies, which sendMessage does not take)."""
    return _int(message.get("message_thread_id")) if message.get("is_topic_message") is True else None


def _speaker(message: Mapping[str, Any]) -> int | None:
    """Who speaks in a message: the chat an anonymous admin or a channel speaks as, else the user; None
    for a message the bot must not answer (another bot)."""
    sender_chat = message.get("sender_chat")
    if isinstance(sender_chat, dict) and _int(sender_chat.get("id")) is not None:
        return _int(sender_chat.get("id"))
    author = message.get("from") if isinstance(message.get("from"), dict) else {}
    if author.get("is_bot") is True and _int(author.get("id")) not in ANONYMOUS_SENDERS:
        return None  # other bots in a group; never answer a bot
    return _int(author.get("id"))


def _forwarded(message: Mapping[str, Any]) -> bool:
    return any(message.get(key) is not None for key in _FORWARD_KEYS)


def in_group(update: Mapping[str, Any]) -> bool:
    """Whether a message update comes from a group or supergroup."""
    message = update.get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    return isinstance(chat, dict) and chat.get("type") in GROUP_CHATS


def callback_query_id(update: Mapping[str, Any]) -> str | None:
    query = update.get("callback_query")
    value = query.get("id") if isinstance(query, dict) else None
    return value if isinstance(value, str) and value else None


def _mention_pattern(username: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w@])@{re.escape(username)}(?!\w)[,:]?", re.IGNORECASE)


def mentions(text: str, username: str) -> bool:
    return bool(username) and bool(_mention_pattern(username).search(text))


def strip_mention(text: str, username: str) -> str:
    """The message without the bot's @username ("@ris3_bot, what are…" → "what are…")."""
    if not username:
        return text.strip()
    mention = re.compile(rf"(?:,[ \t]*)?(?<![\w@])@{re.escape(username)}(?!\w)[,:]?", re.IGNORECASE)
    stripped = re.sub(r"[ \t]{2,}", " ", mention.sub(" ", text))
    stripped = re.sub(r"[ \t]+(?=[?!.])", "", stripped)  # "priorities @bot?" -> "priorities?"
    return stripped.strip().lstrip(",:;").strip()


def _replies_to_bot(message: Mapping[str, Any], me: BotIdentity) -> bool:
    original = message.get("reply_to_message")
    author = original.get("from") if isinstance(original, dict) else None
    if not isinstance(author, dict):
        return False
    if me.bot_id is not None and _int(author.get("id")) == me.bot_id:
        return True
    username = author.get("username")
    return bool(me.username) and author.get("is_bot") is True and isinstance(username, str) and (
        username.lower() == me.username.lower()
    )


def read_update(
    update: Mapping[str, Any],
    me: BotIdentity,
    decode_callback: Callable[[str, Any], str | None] | None = None,
) -> Incoming | None:
    """What the bot answers to, and with which text for Rasa; None for what it leaves alone.

    Private chats: every message (one without text, e.g. a sticker, gets the help). Groups and
    supergroups: only a message that mentions @username, replies to one of the bot's messages, or is a
    command (/start, /help, /restart, also as /cmd@username; a command for another bot is left alone);
    also from anonymous admins and members posting as a channel. A forwarded message is never a command.
    A button press (callback_query) sends its button's payload.
    """
    update_id = _int(update.get("update_id"))
    if update_id is None:
        return None
    if isinstance(update.get("callback_query"), dict):
        return _read_callback(update_id, update["callback_query"], decode_callback, me.username)
    message = update.get("message")
    if not isinstance(message, dict):
        return None  # edited messages, channel posts, …: not subscribed to, not answered
    chat = message.get("chat")
    chat_id = _int(chat.get("id")) if isinstance(chat, dict) else None
    chat_type = chat.get("type") if isinstance(chat, dict) else None
    if chat_id is None or chat_type not in GROUP_CHATS | {PRIVATE_CHAT}:
        return None
    if message.get("is_automatic_forward") is True:
        return None  # a channel's post copied into its discussion group: nobody asked the bot anything
    speaker = _speaker(message)
    author = message.get("from") if isinstance(message.get("from"), dict) else {}
    if speaker is None and author:
        return None
    language_code = author.get("language_code") if isinstance(author.get("language_code"), str) else None
    raw = message.get("text") if isinstance(message.get("text"), str) else message.get("caption")
    text = raw.strip() if isinstance(raw, str) else ""

    def incoming(rasa_text: str, command: str | None = None, start_language: str | None = None) -> Incoming:
        return Incoming(
            update_id, chat_id, str(chat_type), rasa_text, language_code, _int(message.get("message_id")), command,
            user_id=speaker, thread_id=_thread_of(message), bot_username=me.username, start_language=start_language,
        )

    in_group = chat_type in GROUP_CHATS
    command = None if _forwarded(message) else _COMMAND.match(text)
    if command:
        name, target = command.group(1).lower(), command.group(2)
        ours = bool(target) and bool(me.username) and target.lower() == me.username.lower()
        # /cmd@other_bot is for another bot; with our name unknown, only a private chat is surely ours.
        if target and not ours and (in_group or me.username):
            return None
        handoff = _HANDOFF_PAYLOAD.fullmatch(text[command.end():].strip())
        if name == "start" and handoff and not in_group:
            # Never in a group: the form asks for a name and contact details.
            language = handoff.group(1).lower() if handoff.group(1) else None
            found = incoming(ASK_HUMAN, name, language)
            if handoff.group(2):
                return replace(found, from_group=-int(handoff.group(2)))
            return found
        if name in COMMANDS:
            return incoming(COMMANDS[name], name)
        if in_group and not target:
            return None  # a bare unknown command in a group may well be for another bot
        return incoming(typed(text))
    # What the user typed (or forwarded) is words for the NLU, even when it begins with "/" (bot/user_text.py).
    if not in_group:
        return incoming(typed(text) if text else HELP)
    if not text:
        return None
    if mentions(text, me.username):
        return incoming(typed(strip_mention(text, me.username)) or GREET)
    if _replies_to_bot(message, me):
        return incoming(typed(text))
    return None


def _read_callback(
    update_id: int, query: Mapping[str, Any], decode: Callable[[str, Any], str | None] | None, username: str = ""
) -> Incoming | None:
    message = query.get("message") if isinstance(query.get("message"), dict) else {}
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    chat_id = _int(chat.get("id"))
    data = query.get("data")
    if chat_id is None or not isinstance(data, str) or not data:
        return None  # a button under an inline-mode message has no chat: nothing to answer in
    text = decode(data, message.get("reply_markup")) if decode else data
    if not text:
        return None
    text = button_payload(text)  # anyone can send any callback data: a payload only when a button of ours sends it
    author = query.get("from") if isinstance(query.get("from"), dict) else {}
    language_code = author.get("language_code") if isinstance(author.get("language_code"), str) else None
    # The presser's conversation: in a group the answer is theirs, in their language.
    first_name = author.get("first_name") if isinstance(author.get("first_name"), str) else ""
    return Incoming(
        update_id, chat_id, str(chat.get("type") or PRIVATE_CHAT), text, language_code, None, None, callback=True,
        user_id=_int(author.get("id")), thread_id=_thread_of(message), bot_username=username,
        first_name=first_name[:64], pressed_message_id=_int(message.get("message_id")),
    )


class RecentUpdates:
    """The update_ids seen lately, so that an update Telegram sends again (it retries a webhook that is
    slow to answer) is processed once. In memory, per Rasa process: enough for one server; a restart
    forgets them, and several Rasa replicas would need a shared store."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._seen: OrderedDict[int, None] = OrderedDict()

    def first_time(self, update_id: int) -> bool:
        if update_id in self._seen:
            self._seen.move_to_end(update_id)
            return False
        self._seen[update_id] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


class CallbackPayloads:
    """Button payloads as callback_data. A payload of up to 64 bytes is sent as it is (the bot's
    `/answer_fact{"fact_id":"…"}` payloads are); a longer one as a short key mapped back here. The map is
    in memory; a key it no longer knows (after a restart) sends the pressed button's title instead, as
    if the user had typed it."""

    PREFIX = "#p:"

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._long: OrderedDict[str, str] = OrderedDict()

    def encode(self, payload: str) -> str:
        if len(payload.encode()) <= MAX_CALLBACK_DATA and not payload.startswith(self.PREFIX):
            return payload
        key = self.PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:24]
        self._long[key] = payload
        self._long.move_to_end(key)
        if len(self._long) > self._size:
            self._long.popitem(last=False)
        return key

    def decode(self, data: str, reply_markup: Any = None) -> str | None:
        if not data.startswith(self.PREFIX):
            return data
        if data in self._long:
            return self._long[data]
        keyboard = reply_markup.get("inline_keyboard") if isinstance(reply_markup, dict) else None
        for row in keyboard if isinstance(keyboard, list) else []:
            for button in row if isinstance(row, list) else []:
                if isinstance(button, dict) and button.get("callback_data") == data:
                    title = button.get("text")
                    return title if isinstance(title, str) and title else None
        return None


def keyboard_after_press(markup: Any, data: str, in_group: bool) -> dict[str, Any] | None:
    """The pressed message's inline keyboard once a button is pressed, or None when nothing changes. In a
    private chat the buttons go (an old "Yes" pressed again answers nothing new); links stay. In a group only
    the pressed button goes: the others are there for the other members."""
    rows = markup.get("inline_keyboard") if isinstance(markup, Mapping) else None
    if not isinstance(rows, list):
        return None
    kept = []
    for row in rows:
        if not isinstance(row, list):
            continue
        if in_group:
            left = [b for b in row if not (isinstance(b, Mapping) and b.get("callback_data") == data)]
        else:
            left = [b for b in row if isinstance(b, Mapping) and "callback_data" not in b]
        if left:
            kept.append(left)
    if kept == [r for r in rows if isinstance(r, list) and r]:
        return None
    return {"inline_keyboard": kept}


def inline_keyboard(buttons: list[Mapping[str, Any]], payloads: CallbackPayloads) -> dict[str, Any] | None:
    """Rasa buttons as an inline keyboard, one button a row (the titles are long); a button with a url
    opens it."""
    rows = []
    for button in buttons:
        title = str(button.get("title") or "").strip()
        if not title:
            continue
        url = button.get("url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            rows.append([{"text": title, "url": url}])
            continue
        if url:  # tel:, mailto:, …: Telegram refuses them as buttons, and the title is no message to send
            continue
        payload = str(button.get("payload") or title)
        rows.append([{"text": title, "callback_data": payloads.encode(payload)}])
    return {"inline_keyboard": rows} if rows else None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix_within(text: str, limit: int) -> int:
    """The longest prefix of text (in code points) of at most limit UTF-16 code units."""
    if utf16_len(text) <= limit:
        return len(text)
    low, high = 0, min(len(text), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if utf16_len(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


# Where to cut a text that is too long, best first: between paragraphs, lines, sentences, words.
_SEPARATORS = (re.compile(r"\n[ \t]*\n\s*"), re.compile(r"\n\s*"), re.compile(r"(?<=[.!?…])\s+"), re.compile(r"\s+"))


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """A reply as messages of at most limit UTF-16 code units (Telegram's measure), cut between
    paragraphs where possible, else between lines, sentences or words, and only as a last resort inside a
    word. The whitespace at each cut is dropped; nothing else is."""
    parts: list[str] = []
    rest = text.strip()
    while rest:
        end = _prefix_within(rest, limit)
        if end == len(rest):
            parts.append(rest)
            break
        window = rest[: end + 1]  # a separator may start right at the limit
        cut = None
        for separator in _SEPARATORS:
            matches = [m for m in separator.finditer(window) if m.start() > 0]
            if matches:
                cut = matches[-1]
                break
        if cut is None:
            parts.append(rest[:end])
            rest = rest[end:]
        else:
            parts.append(rest[: cut.start()].rstrip())
            rest = rest[cut.end() :].lstrip()
    return [part for part in parts if part]
