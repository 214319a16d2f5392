"""The handoff in a Telegram group: never there.

The form asks for a name, a phone number or an e-mail address and the question; in a group the other
members read all of it, and their messages would be taken for the answers. So in a group the bot points
the member to a private chat instead: a deep link, t.me/<bot>?start=handoff_<language>, which opens the
form there (bot/channels/telegram_updates.py reads "/start handoff…" as a request for a person).

The Telegram channel puts what it knows on every message's metadata ({"telegram": {"chat_type": …,
"bot_username": …}}); other channels put none, so for them nothing here applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

GROUP_CHAT_TYPES = frozenset({"group", "supergroup"})
HANDOFF_START = "handoff"  # the /start payload the channel reads as a request for a person
OPEN_PRIVATE_CHAT = {"en": "Open a private chat", "fi": "Avaa yksityinen keskustelu"}
# What Telegram allows as a bot's username; anything else is not put into a link.
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")


def _telegram(tracker: Tracker) -> Mapping[str, Any]:
    metadata = (tracker.latest_message or {}).get("metadata")
    telegram = metadata.get("telegram") if isinstance(metadata, dict) else None
    return telegram if isinstance(telegram, dict) else {}


def in_group_chat(tracker: Tracker) -> bool:
    """Whether the latest message came from a Telegram group or supergroup."""
    return _telegram(tracker).get("chat_type") in GROUP_CHAT_TYPES


# A group member's conversation (bot/channels/telegram_updates.py): "telegram:<group chat id>:<member>".
_GROUP_CONVERSATION = re.compile(r"telegram:-(\d{1,20}):-?\d+")


def private_chat_link(tracker: Tracker, language: str) -> str | None:
    """The deep link that opens a private chat with the bot and its handoff form in this language, naming the
    group ("_g<id>") so that the form there can offer the question the member asked here; None when the
    channel did not know the bot's username."""
    username = _telegram(tracker).get("bot_username")
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        return None
    group = _GROUP_CONVERSATION.fullmatch(tracker.sender_id or "")
    suffix = f"_g{group.group(1)}" if group else ""
    return f"https://t.me/{username}?start={HANDOFF_START}_{language}{suffix}"


def move_to_private_chat(
    dispatcher: CollectingDispatcher, tracker: Tracker, language: str, contact: str
) -> list[dict[str, Any]]:
    """Instead of the form in a group: the link to a private chat, and no form (the next action is
    listening, whatever the rules would run after the request for a person)."""
    link = private_chat_link(tracker, language)
    if link:
        button = {"title": OPEN_PRIVATE_CHAT[language], "url": link, "type": "web_url"}
        dispatcher.utter_message(response="utter_handoff_private_chat", contact=contact, buttons=[button])
    else:
        dispatcher.utter_message(response="utter_handoff_private_chat_no_link", contact=contact)
    return [SlotSet("handoff_offered", False), FollowupAction("action_listen")]
