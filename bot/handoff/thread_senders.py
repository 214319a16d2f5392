"""Senders of the thread's messages, one per route (bot/handoff/thread_outbox.py delivers with them).

To the user: Telegram (sendMessage to the chat the ticket came from, with the bot channel's token),
e-mail (plain text to the address the user gave), the website (a push to the Rasa server's website chat,
which emits it to the session's open pages, or answers that none is open: Held). To the manager: what the
user added, by e-mail, Telegram and the signed webhook, as the first notification went.
Everything is plain text: no route interprets anything in a message as markup.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from email.message import EmailMessage

import aiohttp

from bot.channels.backoffice_link import PUSH_PATH, link_token
from bot.channels.telegram_api import BotApi, TelegramConfig, load_credentials
from bot.channels.telegram_updates import chat_of_conversation
from bot.handoff.config import EMAIL, TELEGRAM, WEBHOOK, HandoffSettings
from bot.handoff.models import ThreadMessage, Ticket
from bot.handoff.senders import TELEGRAM_MAX_TEXT, DeliveryError, post_signed, send_mail, send_telegram
from bot.handoff.thread_outbox import Held, MessageSender
from bot.handoff.thread_texts import addition_text, email_body, email_subject, user_text
from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)


def _bot_api(settings: HandoffSettings, session: aiohttp.ClientSession, token: str, api_base: str) -> BotApi:
    config = TelegramConfig(token=token, api_base=api_base.rstrip("/"))
    return BotApi(config, timeout=settings.http_timeout_seconds, max_retry_wait=10.0, session=session)


def user_telegram_config(settings: HandoffSettings) -> TelegramConfig:
    """The bot channel's own settings (credentials.yml, then RIS3_TELEGRAM_*): the reply comes from the bot
    the user talked to; the handoff notification's token only when the channel has none."""
    config = TelegramConfig.resolve(load_credentials(PROJECT_ROOT / "credentials.yml"))
    if config.token:
        return config
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
    return TelegramConfig(token=token, api_base=settings.telegram_api_base.rstrip("/"))


class UserTelegram:
    route = "user_telegram"

    def __init__(self, api: BotApi) -> None:
        self._api = api

    async def send(self, ticket: Ticket, message: ThreadMessage, additions: Sequence[ThreadMessage]) -> str | None:
        if not ticket.conversation_id:
            raise DeliveryError("the ticket has no conversation to reply to")
        text = user_text(ticket, message)[:TELEGRAM_MAX_TEXT]
        return await send_telegram(self._api, chat_of_conversation(ticket.conversation_id), text)


class UserEmail:
    route = "user_email"

    def __init__(self, settings: HandoffSettings) -> None:
        self._settings = settings

    async def send(self, ticket: Ticket, message: ThreadMessage, additions: Sequence[ThreadMessage]) -> str | None:
        if ticket.contact_kind != "email" or not ticket.contact:
            raise DeliveryError("the ticket has no e-mail address")
        mail = EmailMessage()
        mail["From"] = self._settings.smtp_from
        mail["To"] = ticket.contact  # validated at the ticket's creation: no header injection
        mail["Subject"] = email_subject(ticket)
        mail["X-RIS3-Reference"] = ticket.reference
        mail.set_content(email_body(ticket, message))  # text/plain
        await send_mail(self._settings, mail)
        return None


class UserWeb:
    """The push to the Rasa server's website chat (bot/channels/web_chat_push.py)."""

    route = "user_web"

    def __init__(self, settings: HandoffSettings, session: aiohttp.ClientSession, token: str) -> None:
        self._url = settings.rasa_url.rstrip("/") + PUSH_PATH
        self._session = session
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=settings.http_timeout_seconds)

    async def send(self, ticket: Ticket, message: ThreadMessage, additions: Sequence[ThreadMessage]) -> str | None:
        body = {
            "conversation_id": ticket.conversation_id,
            "text": user_text(ticket, message),
            "reference": ticket.reference,
            "kind": message.kind,
            "language": ticket.language,
        }
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with self._session.post(self._url, json=body, headers=headers, timeout=self._timeout) as response:
                if response.status != 200:
                    raise DeliveryError(f"the website chat answered {response.status}")
                answer = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError) as exc:
            raise DeliveryError(f"the website chat is unreachable ({type(exc).__name__})") from exc
        if not (isinstance(answer, dict) and answer.get("delivered") is True):
            raise Held
        return None


class ManagerEmail:
    route = "manager_email"

    def __init__(self, settings: HandoffSettings) -> None:
        self._settings = settings

    async def send(self, ticket: Ticket, message: ThreadMessage, additions: Sequence[ThreadMessage]) -> str | None:
        mail = EmailMessage()
        mail["From"] = self._settings.smtp_from
        mail["To"] = self._settings.manager_email
        mail["Subject"] = f"RIS3 assistant: new message on {ticket.reference}"
        mail["X-RIS3-Reference"] = ticket.reference
        mail.set_content(addition_text(ticket, list(additions) or [message]))
        await send_mail(self._settings, mail)
        return None


class ManagerTelegram:
    route = "manager_telegram"

    def __init__(self, api: BotApi, chat_id: str) -> None:
        self._api = api
        self._chat_id = chat_id

    async def send(self, ticket: Ticket, message: ThreadMessage, additions: Sequence[ThreadMessage]) -> str | None:
        text = addition_text(ticket, list(additions) or [message])[:TELEGRAM_MAX_TEXT]
        return await send_telegram(self._api, self._chat_id, text)


class ManagerWebhook:
    route = "manager_webhook"

    def __init__(self, settings: HandoffSettings, session: aiohttp.ClientSession) -> None:
        self._url = settings.webhook_url
        self._secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=settings.http_timeout_seconds)

    async def send(self, ticket: Ticket, message: ThreadMessage, additions: Sequence[ThreadMessage]) -> str | None:
        payload = {
            "event": "user_addition",
            "reference": ticket.reference,
            "messages": [{"text": m.text, "created_at": m.created_at.isoformat()} for m in (additions or [message])],
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        await post_signed(self._session, self._url, self._secret, body, ticket.reference, self._timeout)
        return None


def email_available(settings: HandoffSettings) -> bool:
    return settings.email_replies and bool(settings.smtp_host and settings.smtp_from)


def build_message_senders(settings: HandoffSettings, session: aiohttp.ClientSession) -> dict[str, MessageSender]:
    """A sender for each route that is configured here; a route without one keeps its jobs pending."""
    senders: dict[str, MessageSender] = {}
    enabled = settings.enabled_channels()
    if EMAIL in enabled:
        senders["manager_email"] = ManagerEmail(settings)
    if TELEGRAM in enabled:
        token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
        senders["manager_telegram"] = ManagerTelegram(
            _bot_api(settings, session, token, settings.telegram_api_base), settings.manager_chat_id
        )
    if WEBHOOK in enabled:
        senders["manager_webhook"] = ManagerWebhook(settings, session)
    if email_available(settings):
        senders["user_email"] = UserEmail(settings)
    user_config = user_telegram_config(settings)
    if user_config.token:
        senders["user_telegram"] = UserTelegram(_bot_api(settings, session, user_config.token, user_config.api_base))
    token = link_token()
    if token:
        senders["user_web"] = UserWeb(settings, session, token)
    else:
        logger.warning("handoff: no RIS3_PUSH_TOKEN or RIS3_ACTION_TOKEN: website replies wait for the next visit")
    return senders
