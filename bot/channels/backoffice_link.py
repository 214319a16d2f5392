"""How the Rasa server and the back office reach each other for the two-way handoff (docs/handoff.md).

The back office pushes the project manager's replies to the website chat (POST /webhooks/socketio/push on
the Rasa server), and the channels ask it for replies kept for a conversation (the website at the session's
next session_request, REST with the answer to the next message) and hand it the manager's Telegram replies.
Both directions carry `Authorization: Bearer <token>`: RIS3_PUSH_TOKEN, else RIS3_ACTION_TOKEN (which
`bin/bot run` shares between the servers), else var/action.token. No token: nothing is pushed or asked.

Standard library only: the Rasa runtime (Python 3.10) and the back office (3.11) both import it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PUSH_TOKEN_ENV = "RIS3_PUSH_TOKEN"
ACTION_TOKEN_ENV = "RIS3_ACTION_TOKEN"
BACKOFFICE_URL_ENV = "RIS3_BACKOFFICE_URL"
DEFAULT_BACKOFFICE_URL = "http://127.0.0.1:8080"
RASA_URL_ENV = "RIS3_RASA_URL"
DEFAULT_RASA_URL = "http://127.0.0.1:5005"
TOKEN_FILE = Path(__file__).resolve().parents[2] / "var" / "action.token"

PUSH_PATH = "/webhooks/socketio/push"
KEPT_REPLIES_PATH = "/internal/conversations/replies"  # POST {"conversation_id", "route"}
TELEGRAM_REPLY_PATH = "/internal/telegram-replies"  # POST {"message_id", "text"}


def link_token(environ: Mapping[str, str] | None = None, token_file: Path = TOKEN_FILE) -> str:
    environ = os.environ if environ is None else environ
    for name in (PUSH_TOKEN_ENV, ACTION_TOKEN_ENV):
        value = (environ.get(name) or "").strip()
        if value:
            return value
    try:
        return token_file.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def backoffice_url(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return ((environ.get(BACKOFFICE_URL_ENV) or "").strip() or DEFAULT_BACKOFFICE_URL).rstrip("/")
