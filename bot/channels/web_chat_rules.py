"""The rules of the website chat channel (bot/channels/web_chat.py) that need neither rasa nor socketio:
which origins may connect, which session ids are accepted, what a user message must look like.

Imported by the Rasa server (Python 3.10) and by the tests in the action runtime (Python 3.11).
"""

from __future__ import annotations

import fnmatch
import os
import re
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.user_text import button_payload, typed

ORIGINS_ENV = "RIS3_WIDGET_ALLOWED_ORIGINS"
# A session id as clients send it back (bot/channels/conversation_ids.py issues and checks them).
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
LANGUAGES = frozenset({"en", "fi"})
# Replies for a session with no socket connected (the user is between two pages) wait this long.
PENDING_SECONDS = 300
PENDING_PER_SESSION = 20


def parse_origins(value: str | Iterable[str] | None) -> list[str]:
    """`"*"`, `"https://a.fi, https://*.b.fi"` or a YAML list -> a list of origin patterns."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip().rstrip("/") for item in items if item and item.strip()]


def resolve_origins(credentials: Mapping[str, Any] | None, environ: Mapping[str, str] = os.environ) -> list[str]:
    """credentials.yml's `allowed_origins` when given, else RIS3_WIDGET_ALLOWED_ORIGINS, else any origin:
    the bot answers anyone who can reach it, so a restriction is the site owner's choice, not a default."""
    configured = parse_origins((credentials or {}).get("allowed_origins"))
    return configured or parse_origins(environ.get(ORIGINS_ENV)) or ["*"]


def origin_allowed(origin: str | None, patterns: Iterable[str]) -> bool:
    """Browsers send Origin with every socket.io connection; a client without one (a script, a test) is not a
    web page another site could abuse, so it passes. Patterns may use `*` (`https://*.kymenlaakso.fi`,
    `http://localhost:*`)."""
    if not origin:
        return True
    origin = origin.strip().rstrip("/").lower()
    return any(pattern == "*" or fnmatch.fnmatchcase(origin, pattern.lower()) for pattern in patterns)


@dataclass(frozen=True)
class ChatMessage:
    text: str
    session_id: str | None
    metadata: dict[str, Any]


class BadMessage(ValueError):
    """A user_uttered event the channel cannot process; the text goes back to the client."""


def read_message(data: Any, metadata_key: str = "metadata") -> ChatMessage:
    """Checks a user_uttered payload: {"message": str, "session_id": str, "metadata": {"language": "en"|"fi"},
    "button": true|false}. The message is the user's words unless `button` is true (the widget sends a quick
    reply's payload so): a payload only then, and only one of the bot's own (bot/user_text.py).

    Of the metadata only the language is kept: Rasa stores a message's metadata with it, and 900 kB of it per
    message grew one conversation to 23 MB in seconds. The length of the text is the channel's to check."""
    if not isinstance(data, Mapping):
        raise BadMessage("user_uttered needs an object with a 'message' string")
    text = data.get("message")
    if not isinstance(text, str):
        raise BadMessage("'message' must be a string")
    session = data.get("session_id")
    if session is not None and not (isinstance(session, str) and SESSION_ID.fullmatch(session)):
        raise BadMessage("'session_id' must be the id from session_confirm")
    metadata = data.get(metadata_key)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise BadMessage(f"'{metadata_key}' must be an object")
    language = metadata.get("language")
    if language is not None and not (isinstance(language, str) and language in LANGUAGES):
        raise BadMessage(f"'{metadata_key}.language' must be \"en\" or \"fi\"")
    button = data.get("button", False)
    if not isinstance(button, bool):
        raise BadMessage("'button' must be true or false")
    text = button_payload(text) if button else typed(text)
    return ChatMessage(text=text, session_id=session, metadata={"language": language} if language else {})


class RecentlySent:
    """What was emitted to each socket in the last few seconds. A page that closes (a link clicked) just as its
    answer goes out never gets it: the server sent to a socket whose close was still on the way. When that
    socket's disconnect arrives, these replies are kept for the session's next page, which skips any it
    already shows (each reply carries an `id`)."""

    # The race is milliseconds wide (the close frame already on its way); a page closed later got its replies.
    def __init__(self, keep_seconds: float = 0.5) -> None:
        self.keep_seconds = keep_seconds
        self._sent: dict[str, deque[tuple[float, str, dict[str, Any]]]] = {}

    def add(self, sid: str, conversation: str, payload: dict[str, Any]) -> None:
        now = time.monotonic()
        sent = self._sent.setdefault(sid, deque(maxlen=PENDING_PER_SESSION))
        while sent and sent[0][0] < now - self.keep_seconds:
            sent.popleft()
        sent.append((now, conversation, payload))

    def take(self, sid: str) -> list[tuple[str, dict[str, Any]]]:
        limit = time.monotonic() - self.keep_seconds
        return [(conversation, payload) for at, conversation, payload in self._sent.pop(sid, ()) if at >= limit]


class PendingReplies:
    """Replies for sessions that had no socket connected when the bot answered, kept briefly."""

    def __init__(self, keep_seconds: float = PENDING_SECONDS, per_session: int = PENDING_PER_SESSION) -> None:
        self.keep_seconds = keep_seconds
        self.per_session = per_session
        self._replies: dict[str, deque[tuple[float, dict[str, Any]]]] = {}

    def add(self, session_id: str, payload: dict[str, Any]) -> None:
        self._expire()
        self._replies.setdefault(session_id, deque(maxlen=self.per_session)).append((time.monotonic(), payload))

    def take(self, session_id: str) -> list[dict[str, Any]]:
        self._expire()
        return [payload for _, payload in self._replies.pop(session_id, ())]

    def _expire(self) -> None:
        limit = time.monotonic() - self.keep_seconds
        for session_id in [s for s, q in self._replies.items() if not q or q[-1][0] < limit]:
            del self._replies[session_id]
