"""The question a handoff form offers to pass on as it is: the user's latest question before they asked for a
person, from a conversation's events (Rasa's, as dicts: the action server's tracker or the Rasa server's own).
Pure Python, for both runtimes: the form (actions/handoff.py) reads it from its own conversation, the Telegram
channel from the member's conversation in the group a deep link came from (bot/channels/telegram.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.user_text import looks_like_payload, without_mark

# Intents whose message is a question the user may want to pass on as it is.
QUESTION_INTENTS = frozenset(
    {"ask_ris3", "ask_priorities", "ask_timeline", "ask_project", "ask_contact", "ask_brochure",
     "ask_publisher", "out_of_scope", "nlu_fallback", "handoff_topic"}
)
HANDOFF_ACTION = "action_human"
MAX_DRAFT_CHARS = 2000


def last_question(events: Iterable[Mapping[str, Any]]) -> str | None:
    """The user's latest question before the latest handoff began (answers given to the form don't count)."""
    listed = list(events)
    for i in range(len(listed) - 1, -1, -1):
        if listed[i].get("event") == "action" and listed[i].get("name") == HANDOFF_ACTION:
            listed = listed[:i]
            break
    for event in reversed(listed):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        text = without_mark(str(event.get("text") or "")).strip()
        if intent in QUESTION_INTENTS and text and not looks_like_payload(text):
            return text[:MAX_DRAFT_CHARS]
    return None


def carried_question(events: Iterable[Mapping[str, Any]]) -> str | None:
    """A question the channel carried into this conversation with the request that opened the latest handoff:
    a Telegram member's question asked in the group before the deep link brought them to the private chat."""
    listed = list(events)
    for i in range(len(listed) - 1, -1, -1):
        if listed[i].get("event") == "action" and listed[i].get("name") == HANDOFF_ACTION:
            opener = next((e for e in reversed(listed[:i]) if e.get("event") == "user"), None)
            metadata = (opener or {}).get("metadata") or {}
            telegram = metadata.get("telegram") if isinstance(metadata, Mapping) else None
            question = telegram.get("group_question") if isinstance(telegram, Mapping) else None
            if isinstance(question, str) and question.strip():
                return question.strip()[:MAX_DRAFT_CHARS]
            return None
    return None
