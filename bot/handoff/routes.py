"""Which ways a handoff reaches people on this install, and whether they work: the project manager's
notification (e-mail, Telegram, webhook) and the user's e-mail copy of a reply.

A route is configured when all of its settings are given (bot/handoff/config.py). `check_routes` also tries
each configured route without sending anything: the SMTP server answers EHLO (and accepts the login, when one
is set), Telegram's Bot API answers getMe for the token. A webhook is not called: any request to it could be
taken for a notification. `bin/bot doctor` prints this; the back office's inbox shows it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

import aiohttp
import aiosmtplib

from bot.channels.telegram_api import ApiUnreachable, BotApi, TelegramConfig
from bot.handoff.config import EMAIL, TELEGRAM, WEBHOOK, HandoffSettings

USER_EMAIL = "user_email"
LABELS = {
    EMAIL: "E-mail to the project manager",
    TELEGRAM: "Telegram message to the project manager",
    WEBHOOK: "Webhook",
    USER_EMAIL: "E-mail copy of a reply to the user",
}
CHECK_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Route:
    kind: str
    configured: bool
    detail: str  # where it goes, or which settings are missing; never a secret
    working: bool | None = None  # None: not tried
    problem: str = ""

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def state(self) -> str:
        if not self.configured:
            return "not configured"
        if self.working is None:
            return "configured (not tried)"
        return "works" if self.working else f"fails: {self.problem}"


def configured_routes(settings: HandoffSettings) -> list[Route]:
    """The routes and their settings, without trying any."""
    enabled, incomplete = settings.enabled_channels(), settings.incomplete_channels()

    def missing(kind: str, default: str) -> str:
        names = incomplete.get(kind)
        return f"missing {', '.join(names)}" if names else default

    routes = [
        Route(EMAIL, EMAIL in enabled, f"to {settings.manager_email} via {settings.smtp_host}:{settings.smtp_port}"
              if EMAIL in enabled else missing(EMAIL, "no RIS3_HANDOFF_SMTP_HOST, _SMTP_FROM, _MANAGER_EMAIL")),
        Route(TELEGRAM, TELEGRAM in enabled, f"to chat {settings.manager_chat_id}"
              if TELEGRAM in enabled else missing(TELEGRAM, "no RIS3_HANDOFF_TELEGRAM_TOKEN, _MANAGER_CHAT_ID")),
        Route(WEBHOOK, WEBHOOK in enabled, f"to {settings.webhook_url}"
              if WEBHOOK in enabled else missing(WEBHOOK, "no RIS3_HANDOFF_WEBHOOK_URL, _WEBHOOK_SECRET")),
    ]
    mail = bool(settings.smtp_host and settings.smtp_from)
    if not settings.email_replies:
        user_detail = "off (RIS3_HANDOFF_EMAIL_REPLIES=0)"
    elif mail:
        user_detail = f"via {settings.smtp_host}:{settings.smtp_port}, when the user gave an address"
    else:
        user_detail = "no RIS3_HANDOFF_SMTP_HOST, _SMTP_FROM"
    routes.append(Route(USER_EMAIL, settings.email_replies and mail, user_detail))
    return routes


async def _try_smtp(settings: HandoffSettings, timeout: float) -> str:
    client = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port, timeout=timeout,
                             start_tls=settings.smtp_starttls)  # as the senders connect
    try:
        await client.connect()
        if settings.smtp_username and settings.smtp_password is not None:
            await client.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        await client.noop()
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
                client.close()
    return ""


async def _try_telegram(settings: HandoffSettings, timeout: float) -> str:
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
    config = TelegramConfig(token=token, api_base=settings.telegram_api_base.rstrip("/"))
    async with aiohttp.ClientSession() as session:
        api = BotApi(config, timeout=timeout, max_retry_wait=0.0, session=session)
        try:
            result = await api.request("getMe", {})
        except ApiUnreachable as exc:
            return f"Bot API unreachable: {exc}"[:200]
    return "" if result.ok else f"getMe answered {result.status}: {result.description}"[:200]


async def check_routes(settings: HandoffSettings, timeout: float = CHECK_TIMEOUT_SECONDS) -> list[Route]:
    """The routes, each configured one tried (the SMTP server once for both e-mail routes)."""
    routes = configured_routes(settings)
    smtp_problem: str | None = None
    if any(r.configured and r.kind in (EMAIL, USER_EMAIL) for r in routes):
        smtp_problem = await _try_smtp(settings, timeout)
    checked = []
    for route in routes:
        if not route.configured or route.kind == WEBHOOK:
            checked.append(route)
            continue
        problem = smtp_problem if route.kind in (EMAIL, USER_EMAIL) else await _try_telegram(settings, timeout)
        checked.append(replace(route, working=not problem, problem=problem or ""))
    return checked


def report(routes: list[Route], checked_at: float | None = None) -> str:
    """The routes as `bin/bot doctor` prints them, with what they mean for a new ticket."""
    lines = [f"{r.label}: {r.state} ({r.detail})" for r in routes]
    manager = [r for r in routes if r.kind != USER_EMAIL and r.configured]
    if not manager:
        lines.append("No notification route is configured: a new ticket waits in the back office's inbox and nobody "
                     "is told; the user is told so.")
    if checked_at is not None:
        lines.append(f"Checked at {time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(checked_at))}.")
    return "\n".join(lines)
