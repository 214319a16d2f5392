"""The Telegram Bot API as the bot uses it: configuration, and one client with one shared HTTP session.

Imported both by the Rasa server (Python 3.10, aiohttp 3.9) and by `bot telegram set-webhook` (Python
3.11): no rasa, no bot.settings (pydantic differs between the two), nothing newer than Python 3.10.

Nothing here logs the token: it is part of every request URL, so neither URLs nor aiohttp's exception
texts (which quote the URL) are ever logged; errors are logged with the chat id only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.telegram.org"
# The key of the channel's entry in credentials.yml (Rasa imports the class from this path).
CHANNEL_CLASS = "bot.channels.telegram.TelegramInput"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")

# A credentials.yml value that is missing or empty is read from the environment variable.
CREDENTIAL_ENV = {
    "token": "RIS3_TELEGRAM_TOKEN",
    "secret": "RIS3_TELEGRAM_SECRET",
    "api_base": "RIS3_TELEGRAM_API_BASE",
    "bot_username": "RIS3_TELEGRAM_BOT_USERNAME",
}
# What Telegram accepts as a webhook secret_token.
_SECRET_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class TelegramConfig:
    token: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
    api_base: str = DEFAULT_API_BASE
    bot_username: str = ""  # without the @

    @classmethod
    def resolve(cls, credentials: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None) -> TelegramConfig:
        """The channel's settings: its credentials.yml entry first, the RIS3_TELEGRAM_* variables for what
        the entry leaves missing or empty (Rasa does not expand ${VAR} in credentials.yml)."""
        environ = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for key, variable in CREDENTIAL_ENV.items():
            value = (credentials or {}).get(key)
            text = "" if value is None else str(value).strip()
            values[key] = text or environ.get(variable, "").strip()
        return cls(
            token=values["token"],
            secret=values["secret"],
            api_base=(values["api_base"] or DEFAULT_API_BASE).rstrip("/"),
            bot_username=values["bot_username"].lstrip("@"),
        )

    @property
    def bot_id(self) -> int | None:
        """The bot's own user id: a token is "<bot id>:<key>"."""
        prefix = self.token.split(":", 1)[0]
        return int(prefix) if prefix.isdigit() else None

    def problems(self) -> list[str]:
        """Why the webhook cannot be served; empty when it can."""
        problems = []
        if not self.token:
            problems.append(f"no bot token (set {CREDENTIAL_ENV['token']})")
        if not self.secret:
            problems.append(f"no webhook secret (set {CREDENTIAL_ENV['secret']})")
        elif not _SECRET_FORMAT.fullmatch(self.secret):
            problems.append("the webhook secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return problems


def load_credentials(path: Path, key: str = CHANNEL_CLASS) -> dict[str, Any] | None:
    """The channel's entry in a credentials.yml, as Rasa passes it to from_credentials."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return None
    entry = data.get(key) if isinstance(data, dict) else None
    return entry if isinstance(entry, dict) else None


class ApiUnreachable(Exception):
    """The Bot API did not answer (connection refused, timeout, …); the message holds no URL."""


@dataclass
class ApiResult:
    status: int
    data: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.data.get("ok") is True

    @property
    def result(self) -> Any:
        return self.data.get("result")

    @property
    def description(self) -> str:
        return str(self.data.get("description") or "no description")

    @property
    def retry_after(self) -> float | None:
        parameters = self.data.get("parameters")
        value = parameters.get("retry_after") if isinstance(parameters, dict) else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class BotApi:
    """Calls Bot API methods over one aiohttp session, created on first use (inside the running event
    loop, so never at import or start-up) and closed by close(). A 429 is retried after its
    parameters.retry_after as long as the waits add up to no more than max_retry_wait seconds."""

    def __init__(
        self,
        config: TelegramConfig,
        timeout: float = 30.0,
        max_retry_wait: float = 60.0,
        max_attempts: int = 5,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._config = config
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_retry_wait = max_retry_wait
        self._max_attempts = max_attempts
        # A session handed in belongs to the caller (e.g. the back office's), which closes it.
        self._session: aiohttp.ClientSession | None = session
        self._owns_session = session is None

    @property
    def config(self) -> TelegramConfig:
        return self._config

    def _session_now(self) -> aiohttp.ClientSession:
        # No await between the check and the creation: concurrent callers share one session.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _post(self, method: str, payload: Mapping[str, Any]) -> ApiResult:
        url = f"{self._config.api_base}/bot{self._config.token}/{method}"
        try:
            async with self._session_now().post(url, json=dict(payload), timeout=self._timeout) as response:
                try:
                    data = await response.json(content_type=None)
                except (json.JSONDecodeError, aiohttp.ContentTypeError, UnicodeDecodeError):
                    data = {}
                return ApiResult(response.status, data if isinstance(data, dict) else {})
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            # Not str(exc): aiohttp's messages quote the URL, and the URL holds the token.
            raise ApiUnreachable(f"Telegram API unreachable ({type(exc).__name__})") from exc

    async def request(self, method: str, payload: Mapping[str, Any], chat_id: int | str | None = None) -> ApiResult:
        """One method call, with 429s retried; raises ApiUnreachable."""
        waited = 0.0
        attempt = 1
        while True:
            result = await self._post(method, payload)
            retry_after = result.retry_after
            if (
                result.status == 429
                and retry_after is not None
                and attempt < self._max_attempts
                and waited + retry_after <= self._max_retry_wait
            ):
                logger.info("Telegram %s for chat %s: rate limited, retrying in %s s", method, chat_id, retry_after)
                await asyncio.sleep(retry_after)
                waited += retry_after
                attempt += 1
                continue
            return result

    async def call(self, method: str, payload: Mapping[str, Any], chat_id: int | str | None = None) -> Any:
        """A method call whose failure is logged (with the chat id, never the text) and otherwise
        ignored: the result, or None when the call failed."""
        try:
            result = await self.request(method, payload, chat_id)
        except ApiUnreachable as exc:
            logger.warning("Telegram %s for chat %s failed: %s", method, chat_id, exc)
            return None
        if not result.ok:
            logger.warning(
                "Telegram %s for chat %s failed: %s %s", method, chat_id, result.status, result.description[:200]
            )
            return None
        return result.result


async def set_webhook(config: TelegramConfig, url: str, drop_pending_updates: bool = False) -> ApiResult:
    """Registers the webhook with its secret token and the update types the channel handles."""
    api = BotApi(config)
    try:
        return await api.request(
            "setWebhook",
            {
                "url": url,
                "secret_token": config.secret,
                "allowed_updates": list(ALLOWED_UPDATES),
                "drop_pending_updates": drop_pending_updates,
            },
        )
    finally:
        await api.close()
