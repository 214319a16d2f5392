"""Whose conversation a message belongs to.

Rasa keys a conversation (its tracker: the handoff form's name, contact and question included) by the sender
id a channel gives it. Taken from the client as it was, REST's `sender`, the website chat's `session_id` and a
Telegram chat id were one namespace: a REST client that sent a Telegram user's id read that user's handoff
summary and confirmed it. So:

- every channel prefixes its ids ("rest:", "web:", "telegram:"), so no channel's client reaches another
  channel's conversation;
- the website chat's session ids are issued by the server and signed (HMAC-SHA256 with RIS3_CHAT_SECRET, or a
  secret kept in var/chat.secret), so a browser cannot choose one; a client that presents one we did not
  issue gets a new one. A third-party client (rasa-webchat) keeps working: it stores whatever
  session_confirm gives it and sends it back;
- a REST request must name its sender (no shared "default" conversation). REST ids are the client's own:
  on the embedded default REST listens on loopback for curl and the FAQ suite; a deployment that exposes it
  sets RIS3_REST_TOKEN (bot/channels/rest.py).

Standard library only (the Rasa runtime and the tests import it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from pathlib import Path

logger = logging.getLogger(__name__)

REST, WEB, TELEGRAM = "rest", "web", "telegram"
MAX_SENDER_CHARS = 128
SECRET_ENV = "RIS3_CHAT_SECRET"
# While a new secret is rolled out (docs/operations.md, "Rotating secrets"): the old one, still accepted for
# the session ids it signed, so open pages keep their conversation; new ids are signed with the new one.
PREVIOUS_SECRET_ENV = "RIS3_CHAT_SECRET_PREVIOUS"
DEFAULT_SECRET_FILE = Path(__file__).resolve().parents[2] / "var" / "chat.secret"
# <32 hex: random> "-" <22 base64url: the first 16 bytes of its HMAC>; fits the 64 characters clients allow.
_SESSION = re.compile(r"([0-9a-f]{32})-([A-Za-z0-9_-]{22})")


def conversation_id(channel: str, local_id: str) -> str:
    return f"{channel}:{local_id}"


def local_id(conversation: str, channel: str) -> str | None:
    """The channel's own id in a conversation id of that channel ("telegram:42" -> "42"), else None."""
    prefix = f"{channel}:"
    return conversation[len(prefix):] if conversation.startswith(prefix) else None


def valid_sender(value: object) -> bool:
    """A REST sender: a non-empty printable string of at most MAX_SENDER_CHARS."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_SENDER_CHARS
        and value.strip() == value
        and value.isprintable()
    )


def load_secret(environ: os._Environ[str] | dict[str, str] = os.environ, path: Path = DEFAULT_SECRET_FILE) -> bytes:
    """RIS3_CHAT_SECRET, or a random secret kept in a file (created once, readable by this user only).
    Several Rasa servers must share one: set RIS3_CHAT_SECRET on all of them."""
    configured = (environ.get(SECRET_ENV) or "").strip()
    if configured:
        if len(configured) < 16:
            raise ValueError(f"{SECRET_ENV} must be at least 16 characters")
        return configured.encode()
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    logger.info("web chat: a new session signing secret in %s", path)
    return secret


def load_previous_secret(environ: os._Environ[str] | dict[str, str] = os.environ) -> bytes | None:
    previous = (environ.get(PREVIOUS_SECRET_ENV) or "").strip()
    return previous.encode() if len(previous) >= 16 else None


class SessionSigner:
    """Issues and checks the website chat's session ids."""

    def __init__(self, secret: bytes, previous: bytes | None = None) -> None:
        if len(secret) < 16:
            raise ValueError("the session signing secret is too short")
        self._secret = secret
        self._previous = load_previous_secret() if previous is None else previous

    def _signature(self, random_part: str, secret: bytes | None = None) -> str:
        key = self._secret if secret is None else secret
        digest = hmac.new(key, f"web-chat-session:{random_part}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    def _signed(self, random_part: str, signature: str) -> bool:
        if hmac.compare_digest(signature, self._signature(random_part)):
            return True
        return bool(self._previous) and hmac.compare_digest(signature, self._signature(random_part, self._previous))

    def issue(self) -> str:
        random_part = secrets.token_hex(16)
        return f"{random_part}-{self._signature(random_part)}"

    def conversation(self, session_id: object) -> str | None:
        """The Rasa conversation of a session id we issued; None for anything else."""
        if not isinstance(session_id, str):
            return None
        match = _SESSION.fullmatch(session_id)
        if match is None or not self._signed(match.group(1), match.group(2)):
            return None
        return conversation_id(WEB, match.group(1))
