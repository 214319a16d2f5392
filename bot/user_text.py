"""What a user typed reaches Rasa as text; only the bot's own buttons send payloads.

Rasa reads any message that begins with "/" as an intent ("/restart" wipes the conversation, "/ask_human"
opens the handoff), whoever wrote it. So every channel passes typed text through `typed()`, which puts an
invisible mark (U+2060 WORD JOINER) before such a text: Rasa then reads it as words, like any other message.
A button's payload passes through `button_payload()`: accepted when its intent is one our buttons send
(OUR_BUTTON_INTENTS), otherwise it too is only text, since a client can send any "button" it likes.

Channel commands (Telegram's /start, /help, /restart) are mapped to payloads by the channel itself, never
taken from the text. Runs in the Rasa runtime (Python 3.10).
"""

from __future__ import annotations

import re

# Not white space to str.strip() (Rasa strips messages), and zero-width: the user sees their words unchanged.
TEXT_MARK = "\u2060"

# The intents the bot's own buttons send (actions/, bot/knowledge/replies.py): add one here with a new button.
OUR_BUTTON_INTENTS = frozenset(
    {
        "affirm",
        "deny",
        "answer_fact",
        "add_to_request",
        "answer_feedback",  # "Did this answer your question?" (actions/feedback.py)
        "erase_conversation",  # the widget's menu, confirming an offer to erase (actions/privacy.py)
        "not_helpful",  # "None of these" under "Do you mean …?" (bot/knowledge/replies.py)
    }
)

# Rasa's own reading of a payload (rasa.shared…YAMLStoryReader): "/intent", "/intent@0.9", "/intent{…}".
_PAYLOAD = re.compile(r"^/(?P<intent>[^{@]+)")


def looks_like_payload(text: str) -> bool:
    """Whether Rasa would read the text as an intent rather than as words."""
    return text.strip().startswith("/")


def typed(text: str) -> str:
    """Text the user typed (or forwarded, or pasted), as Rasa must see it: words, never an intent."""
    return TEXT_MARK + text.strip() if looks_like_payload(text) else text


def button_payload(payload: str) -> str:
    """A payload that came from a button: kept when it is one of ours, else only text."""
    match = _PAYLOAD.match(payload.strip())
    if match and match.group("intent").strip() in OUR_BUTTON_INTENTS:
        return payload.strip()
    return typed(payload)


def without_mark(text: str) -> str:
    """The text as the user wrote it (for transcripts and checks)."""
    return text.replace(TEXT_MARK, "")
