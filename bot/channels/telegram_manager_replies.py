"""The project manager answers a request in Telegram by replying to its notification (docs/handoff.md).

The notification the back office sent to his chat (RIS3_HANDOFF_MANAGER_CHAT_ID) has its message id
stored with the ticket; his reply to it reaches the bot's webhook like any message. A message from his chat
that replies to something is therefore handed to the back office (POST /internal/telegram-replies), which
stores it as a reply on that ticket and delivers it to the user; a reply to anything else gets a hint. His
other messages are an ordinary conversation with the bot.

Runs in the Rasa runtime: Python 3.10, aiohttp 3.9.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from bot.channels.backoffice_client import BackofficeClient, backoffice
from bot.channels.backoffice_link import TELEGRAM_REPLY_PATH
from bot.channels.telegram_api import BotApi

logger = logging.getLogger(__name__)

MANAGER_CHAT_ENV = "RIS3_HANDOFF_MANAGER_CHAT_ID"
SENT = "Sent to the user as a reply on {reference}."
HINT = (
    "To answer a request, reply (Telegram's Reply) to the bot's notification of that request; "
    "this message is not one, so nothing was sent."
)
CLOSED = "{reference} is closed, so nothing was sent; reopen it in the inbox to reply."
BAD_TEXT = "Nothing was sent: a reply must be text of at most 4,000 characters."
DOWN = "The back office could not be reached, so nothing was sent; reply in the inbox, or try again."


def manager_reply(update: Mapping[str, Any], manager_chat: str | None = None) -> tuple[int | None, str | None] | None:
    """(the replied-to message id, the text) of a reply in the manager's chat; None for anything else."""
    manager_chat = (os.environ.get(MANAGER_CHAT_ENV) or "").strip() if manager_chat is None else manager_chat
    message = update.get("message")
    if not manager_chat or not isinstance(message, Mapping):
        return None
    chat = message.get("chat")
    if not isinstance(chat, Mapping) or str(chat.get("id")) != manager_chat:
        return None
    replied = message.get("reply_to_message")
    if not isinstance(replied, Mapping):
        return None
    message_id = replied.get("message_id")
    text = message.get("text")
    return (
        message_id if isinstance(message_id, int) and not isinstance(message_id, bool) else None,
        text if isinstance(text, str) else None,
    )


async def handle_manager_reply(
    update: Mapping[str, Any], api: BotApi, client: BackofficeClient | None = None
) -> bool:
    """Whether the update was the manager's reply (handled here: stored on its ticket, or a hint back)."""
    found = manager_reply(update)
    if found is None:
        return False
    message_id, text = found
    chat_id = update["message"]["chat"]["id"]
    if message_id is None or text is None:
        answer_text = HINT if text is not None else BAD_TEXT
    else:
        answer = await (client or backoffice()).post(TELEGRAM_REPLY_PATH, {"message_id": message_id, "text": text})
        if answer is None:
            answer_text = DOWN
        else:
            status, body = answer
            reference = str(body.get("reference") or "")
            answer_text = {201: SENT, 404: HINT, 409: CLOSED, 422: BAD_TEXT}.get(status, DOWN).format(
                reference=reference
            )
            logger.info("Telegram: the manager's reply to message %s: back office answered %s", message_id, status)
    await api.call("sendMessage", {"chat_id": chat_id, "text": answer_text}, chat_id)
    return True
