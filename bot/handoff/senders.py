"""Delivering a ticket to the project manager: e-mail, Telegram, webhook.

Each sender's send() either delivers the whole notification or raises DeliveryError with a message
free of personal data (it is logged and stored as the job's last_error). Retrying is the outbox's
business, except for Telegram's short rate-limit waits, which are cheaper to honour on the spot.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from email.message import EmailMessage
from typing import Protocol

import aiohttp
import aiosmtplib

from bot.channels.telegram_api import ApiUnreachable, BotApi, TelegramConfig
from bot.handoff.config import EMAIL, TELEGRAM, WEBHOOK, HandoffSettings
from bot.handoff.messages import payload_bytes, render_text, subject
from bot.handoff.models import Ticket

logger = logging.getLogger(__name__)

TELEGRAM_MAX_TEXT = 4096  # Bot API limit for one message
SIGNATURE_HEADER = "X-RIS3-Signature"


class DeliveryError(Exception):
    """A notification was not delivered. retry_after: the receiver asked us to wait this many seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Sender(Protocol):
    kind: str

    # Returns what the receiver calls the message when that matters later (Telegram's message id).
    async def send(self, ticket: Ticket) -> str | None: ...


def sign(body: bytes, secret: str) -> str:
    """The X-RIS3-Signature value: HMAC-SHA256 of the exact body, as the receiver recomputes it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class EmailSender:
    kind = EMAIL

    def __init__(self, settings: HandoffSettings) -> None:
        self._settings = settings

    def message(self, ticket: Ticket) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._settings.smtp_from
        message["To"] = self._settings.manager_email
        message["Subject"] = subject(ticket)
        message["X-RIS3-Reference"] = ticket.reference
        if ticket.contact_kind == "email" and ticket.contact:
            # The manager can answer with Reply; the address was validated, so it cannot inject headers.
            message["Reply-To"] = ticket.contact
        message.set_content(render_text(ticket))
        return message

    async def send(self, ticket: Ticket) -> None:
        await send_mail(self._settings, self.message(ticket))


async def send_mail(s: HandoffSettings, message: EmailMessage) -> None:
    """Send one plain-text mail through the configured SMTP server; DeliveryError free of addresses."""
    password = s.smtp_password.get_secret_value() if s.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=password,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPResponseException as exc:
        # The code says enough; the server's text may quote addresses.
        raise DeliveryError(f"SMTP server {s.smtp_host}:{s.smtp_port} refused the mail ({exc.code})") from exc
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
        raise DeliveryError(f"SMTP server {s.smtp_host}:{s.smtp_port} unreachable ({type(exc).__name__})") from exc


class TelegramSender:
    """The project manager's Telegram message, sent with the same Bot API client as the bot's
    Telegram channel (bot.channels.telegram_api), so both honour 429s and a configurable API base."""

    kind = TELEGRAM

    def __init__(
        self, settings: HandoffSettings, session: aiohttp.ClientSession, max_inline_wait: float = 10.0
    ) -> None:
        token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
        config = TelegramConfig(token=token, api_base=settings.telegram_api_base.rstrip("/"))
        # Waits up to max_inline_wait are done by the client; longer ones go back to the outbox.
        self._api = BotApi(
            config, timeout=settings.http_timeout_seconds, max_retry_wait=max_inline_wait, session=session
        )
        self._chat_id = settings.manager_chat_id

    async def send(self, ticket: Ticket) -> str | None:
        # The message's id is kept: the manager's Telegram reply to it becomes a reply on this ticket.
        return await send_telegram(self._api, self._chat_id, render_text(ticket, max_chars=TELEGRAM_MAX_TEXT))


async def send_telegram(api: BotApi, chat_id: int | str, text: str) -> str | None:
    """sendMessage as plain text (no parse_mode: nothing is markup); the sent message's id, or DeliveryError."""
    body = {"chat_id": chat_id, "text": text, "disable_web_page_preview": True}
    try:
        result = await api.request("sendMessage", body, chat_id=chat_id)
    except ApiUnreachable as exc:
        raise DeliveryError(str(exc)) from exc
    if result.ok:
        sent = result.result
        message_id = sent.get("message_id") if isinstance(sent, dict) else None
        return str(message_id) if message_id is not None else None
    if result.status == 429 and result.retry_after is not None:
        raise DeliveryError(f"Telegram rate limit, retry after {result.retry_after} s", retry_after=result.retry_after)
    raise DeliveryError(f"Telegram API answered {result.status}: {result.description or 'no description'}")


class WebhookSender:
    kind = WEBHOOK

    def __init__(self, settings: HandoffSettings, session: aiohttp.ClientSession) -> None:
        self._url = settings.webhook_url
        self._secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=settings.http_timeout_seconds)

    async def send(self, ticket: Ticket) -> None:
        body = payload_bytes(ticket)
        await post_signed(self._session, self._url, self._secret, body, ticket.reference, self._timeout)


async def post_signed(
    session: aiohttp.ClientSession, url: str, secret: str, body: bytes, reference: str, timeout: aiohttp.ClientTimeout
) -> None:
    """POSTs a JSON body signed with the webhook secret; DeliveryError unless the receiver took it."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: sign(body, secret),
        # The receiver can drop a repeat: after a crash between sending and recording it, we resend.
        "X-RIS3-Reference": reference,
    }
    try:
        async with session.post(url, data=body, headers=headers, timeout=timeout) as response:
            if not 200 <= response.status < 300:
                raise DeliveryError(f"webhook answered {response.status}")
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise DeliveryError(f"webhook unreachable ({type(exc).__name__})") from exc


def build_senders(settings: HandoffSettings, session: aiohttp.ClientSession) -> dict[str, Sender]:
    """A sender for each configured channel; the HTTP senders share the caller's session."""
    senders: dict[str, Sender] = {}
    enabled = settings.enabled_channels()
    if EMAIL in enabled:
        senders[EMAIL] = EmailSender(settings)
    if TELEGRAM in enabled:
        senders[TELEGRAM] = TelegramSender(settings, session)
    if WEBHOOK in enabled:
        senders[WEBHOOK] = WebhookSender(settings, session)
    return senders
