"""Keeping contact details out of logs and stored error messages.

Senders build their error messages without personal data, but a library's message (an SMTP server's
reply, an HTTP error) can echo an address or a URL with a token in it; everything that is logged or
stored as last_error passes through redact() as a second line of defence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "[redacted]"
MAX_ERROR = 500
_EMAIL = re.compile(r"[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]+")
# Seven or more digits, possibly split by spaces, dashes, dots or parentheses: a phone number.
_PHONE = re.compile(r"\+?\(?\d(?:[\s().-]{0,2}\d){6,}")
# Telegram's bot token travels in the URL path (/bot123456:ABC…/sendMessage).
_BOT_TOKEN = re.compile(r"bot\d+:[A-Za-z0-9_-]+")


def redact(text: str, known: Iterable[str | None] = ()) -> str:
    """text with the given values, e-mail addresses, phone numbers and bot tokens masked, shortened."""
    for value in known:
        if value and len(value) >= 3:
            text = text.replace(value, MASK)
    text = _BOT_TOKEN.sub("bot" + MASK, text)
    text = _EMAIL.sub(MASK, text)
    text = _PHONE.sub(MASK, text)
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"
