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
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp

from bot.channels.log_throttle import ThrottledLog

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
    """The Bot API did not answer (connection refused, timeout, …); the message holds no URL. retryable:
    the request surely never reached Telegram (no connection), so sending it again cannot send twice."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


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

    @property
    def server_error(self) -> bool:
        """Telegram's side failed (500, 502, …): the same request may well succeed a moment later."""
        return self.status >= 500


# Methods whose calls wait in DelayedSends when Telegram asks for more patience than a caller can give
# (a late answerCallbackQuery is useless: its button's spinner stopped long ago).
DELAYABLE_METHODS = frozenset({"sendMessage"})
# A reply Telegram keeps waiting longer than this (a 429's retry_after, an outage's retries): the user is told
# that it comes (`slow_notice`), at most once a minute in a chat, in one attempt that is neither retried nor
# queued; should Telegram take no message either, a "typing…" action, which it may still take.
NOTICE_AFTER_SECONDS = 5.0
NOTICE_INTERVAL_SECONDS = 60.0


@dataclass
class _Delayed:
    method: str
    payload: dict[str, Any]
    conversation: int | str | None  # for the logs
    due: float  # time.monotonic()
    queued_at: float
    failures: int = 0  # tries that failed so far: 1 for a call queued after failing, 0 for one queued behind it


class DelayedSends:
    """Replies Telegram asked to send later than a caller can wait (a 429 whose retry_after is over the
    inline wait, a Bot API that keeps answering 5xx or cannot be reached): kept in memory and sent when due,
    in order per chat (a chat's later replies wait behind them). Bounded: at most per_chat replies of a chat
    and total in all; a reply beyond either is dropped. A reply still failing after max_retries, or that
    would go out more than max_age seconds after it was first tried, is given up. Each outcome is logged:
    sent after N retries, dropped because the queue is full, given up. Lost when the server stops (logged)."""

    def __init__(
        self,
        per_chat: int = 20,
        total: int = 500,
        max_retries: int = 8,
        max_age: float = 3600.0,
        retry_delay: float = 15.0,
    ) -> None:
        self.per_chat = per_chat
        self.total = total
        self.max_retries = max_retries
        self.max_age = max_age
        self.retry_delay = retry_delay  # the first wait after a 5xx or no connection; doubles each time
        self._queues: dict[Any, deque[_Delayed]] = {}
        self._tasks: dict[Any, asyncio.Task[None]] = {}
        self._log = ThrottledLog(logger)  # a Telegram outage fails every reply: one line a minute of each kind

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def holds(self, chat: Any) -> bool:
        return bool(self._queues.get(chat))

    def add(self, api: BotApi, item: _Delayed, reason: str) -> bool:
        """Queues a call for its chat (payload's chat_id); False, logged, when a bound is reached."""
        chat = item.payload.get("chat_id")
        queue = self._queues.get(chat)
        if (queue is not None and len(queue) >= self.per_chat) or len(self) >= self.total:
            self._log.log(
                "replies dropped", logging.WARNING,
                "Telegram %s for chat %s dropped: the queue of delayed replies is full (%d for this chat, %d in all)",
                item.method, item.conversation, len(queue or ()), len(self),
            )
            return False
        self._queues.setdefault(chat, deque()).append(item)
        wait = max(0.0, item.due - time.monotonic())
        self._log.log(
            "replies delayed", logging.WARNING, "Telegram %s for chat %s delayed (%s): queued, to be sent in %.1f s",
            item.method, item.conversation, reason, wait,
        )
        if chat not in self._tasks:
            task = asyncio.get_running_loop().create_task(self._drain(api, chat))
            self._tasks[chat] = task
        return True

    async def _drain(self, api: BotApi, chat: Any) -> None:
        queue = self._queues[chat]
        try:
            while queue:
                item = queue[0]
                await asyncio.sleep(max(0.0, item.due - time.monotonic()))
                delay = await self._attempt(api, item)
                if delay is None:
                    queue.popleft()
                    continue
                item.failures += 1
                now = time.monotonic()
                if item.failures - 1 >= self.max_retries or now + delay - item.queued_at > self.max_age:
                    self._log.log(
                        "replies given up", logging.WARNING, "Telegram %s for chat %s given up after %s over %.0f s",
                        item.method, item.conversation, _retries(item.failures - 1), now - item.queued_at,
                    )
                    queue.popleft()
                    continue
                # The chat's later replies wait too: Telegram's rate limit is the chat's, not the message's.
                item.due = now + delay
        finally:
            self._queues.pop(chat, None)
            self._tasks.pop(chat, None)

    async def _attempt(self, api: BotApi, item: _Delayed) -> float | None:
        """One try of a delayed call: None when it is done with (sent, or refused for good), else the seconds
        to wait before the next try."""
        backoff = self.retry_delay * 2 ** min(max(item.failures - 1, 0), 10)
        try:
            result = await api._post(item.method, item.payload)
        except ApiUnreachable as exc:
            if exc.retryable:
                return backoff
            logger.warning("Telegram %s for chat %s failed: %s (not retried: it may have arrived)",
                           item.method, item.conversation, exc)
            return None
        if result.ok:
            late = time.monotonic() - item.queued_at
            if item.failures:
                logger.info("Telegram %s for chat %s sent after %s, %.0f s late", item.method, item.conversation,
                            _retries(item.failures), late)
            else:
                logger.info("Telegram %s for chat %s sent %.0f s late, after the chat's earlier delayed replies",
                            item.method, item.conversation, late)
            return None
        if result.status == 429 and result.retry_after is not None:
            return result.retry_after
        if result.server_error:
            return backoff
        logger.warning(
            "Telegram %s for chat %s failed: %s %s", item.method, item.conversation, result.status,
            result.description[:200],
        )
        return None

    async def close(self) -> None:
        """At server stop: what has not been sent is lost (said in the log)."""
        waiting = len(self)
        for task in list(self._tasks.values()):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if waiting:
            noun = "reply" if waiting == 1 else "replies"
            logger.warning("Telegram: %d delayed %s not sent: the server is stopping", waiting, noun)


def _retries(count: int) -> str:
    return f"{count} {'retry' if count == 1 else 'retries'}"


class BotApi:
    """Calls Bot API methods over one aiohttp session, created on first use (inside the running event
    loop, so never at import or start-up) and closed by close().

    request() retries, as long as the waits add up to no more than max_retry_wait seconds and the attempts
    to max_attempts: a 429 after its parameters.retry_after, a 5xx (Telegram's side failed) and a connection
    that could not be made after a backoff of backoff, 2 × backoff, 4 × backoff … seconds. With `delayed`,
    call() hands a reply that still could not go (a longer retry_after, a longer outage) to it, to be sent
    when due, instead of dropping it."""

    def __init__(
        self,
        config: TelegramConfig,
        timeout: float = 30.0,
        max_retry_wait: float = 60.0,
        max_attempts: int = 5,
        session: aiohttp.ClientSession | None = None,
        backoff: float = 0.5,
        delayed: DelayedSends | None = None,
        slow_notice: Callable[[Mapping[str, Any]], str | None] | None = None,
    ) -> None:
        self._config = config
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_retry_wait = max_retry_wait
        self._max_attempts = max_attempts
        self._backoff = backoff
        self.delayed = delayed
        self._slow_notice = slow_notice
        self._noticed: dict[Any, float] = {}  # chat id -> when its last notice went
        self._notices: set[asyncio.Task[None]] = set()
        self._log = ThrottledLog(logger)  # a Telegram outage fails every call: one line a minute of each kind
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
        if self.delayed is not None:
            await self.delayed.close()
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
            # Not str(exc): aiohttp's messages quote the URL, and the URL holds the token. Only a connection
            # never made is surely not a message Telegram received.
            retryable = isinstance(exc, aiohttp.ClientConnectorError)
            raise ApiUnreachable(f"Telegram API unreachable ({type(exc).__name__})", retryable) from exc

    async def request(self, method: str, payload: Mapping[str, Any], chat_id: int | str | None = None) -> ApiResult:
        """One method call, with 429s, 5xx and failed connections retried; raises ApiUnreachable."""
        waited = 0.0
        attempt = 1
        while True:
            wait: float | None
            try:
                result = await self._post(method, payload)
            except ApiUnreachable as exc:
                wait = self._backoff * 2 ** (attempt - 1)
                if not exc.retryable or attempt >= self._max_attempts or waited + wait > self._max_retry_wait:
                    raise
                reason = str(exc)
            else:
                wait = result.retry_after if result.status == 429 else None
                if wait is None and result.server_error:
                    wait = self._backoff * 2 ** (attempt - 1)
                if wait is None or attempt >= self._max_attempts or waited + wait > self._max_retry_wait:
                    if attempt > 1 and result.ok:
                        self._log.log("sent after retries", logging.INFO, "Telegram %s for chat %s sent after %s",
                                      method, chat_id, _retries(attempt - 1))
                    return result
                reason = f"{result.status} {result.description[:100]}"
            self._log.log(
                "retries", logging.INFO, "Telegram %s for chat %s: %s, retrying in %.1f s (attempt %d of %d)",
                method, chat_id, reason, wait, attempt + 1, self._max_attempts,
            )
            if waited + wait > NOTICE_AFTER_SECONDS:
                self._tell_slow(method, payload)
            await asyncio.sleep(wait)
            waited += wait
            attempt += 1

    async def call(self, method: str, payload: Mapping[str, Any], chat_id: int | str | None = None) -> Any:
        """A method call whose failure is logged (with the chat id, never the text) and otherwise
        ignored: the result, or None when the call failed or was left to `delayed` to send later."""
        delayable = self.delayed is not None and method in DELAYABLE_METHODS
        if delayable and self.delayed.holds(payload.get("chat_id")):  # type: ignore[union-attr]
            # Earlier replies of this chat wait to be sent: this one goes after them, not before.
            self._delay(method, payload, chat_id, 0.0, "earlier replies wait", failed=False)
            return None
        try:
            result = await self.request(method, payload, chat_id)
        except ApiUnreachable as exc:
            if delayable and exc.retryable:
                self._delay(method, payload, chat_id, self.delayed.retry_delay, str(exc))  # type: ignore[union-attr]
                return None
            self._log.log("calls failed", logging.WARNING, "Telegram %s for chat %s failed: %s", method, chat_id, exc)
            return None
        if result.ok:
            return result.result
        if delayable and (result.server_error or (result.status == 429 and result.retry_after is not None)):
            wait = result.retry_after if result.status == 429 else self.delayed.retry_delay  # type: ignore[union-attr]
            self._delay(method, payload, chat_id, wait or 0.0, f"{result.status} {result.description[:100]}")
            return None
        self._log.log(
            f"calls failed with {result.status}", logging.WARNING, "Telegram %s for chat %s failed: %s %s",
            method, chat_id, result.status, result.description[:200],
        )
        return None

    def _tell_slow(self, method: str, payload: Mapping[str, Any]) -> None:
        """The user's word that a reply is held up (see NOTICE_AFTER_SECONDS), sent beside the waiting reply."""
        chat = payload.get("chat_id")
        if self._slow_notice is None or method not in DELAYABLE_METHODS or chat is None:
            return
        now = time.monotonic()
        if now - self._noticed.get(chat, -NOTICE_INTERVAL_SECONDS) < NOTICE_INTERVAL_SECONDS:
            return
        text = self._slow_notice(payload)
        if not text:
            return
        self._noticed[chat] = now
        task = asyncio.get_running_loop().create_task(self._send_notice(payload, text))
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)

    async def _send_notice(self, payload: Mapping[str, Any], text: str) -> None:
        where = {k: payload[k] for k in ("chat_id", "message_thread_id") if k in payload}
        attempts = (("sendMessage", {**where, "text": text}), ("sendChatAction", {**where, "action": "typing"}))
        for method, body in attempts:
            try:
                if (await self._post(method, body)).ok:
                    return
            except ApiUnreachable:
                return  # Telegram cannot be reached at all: nothing more to try
        self._log.log("slow notices", logging.INFO, "Telegram: no word could reach chat %s while a reply waits",
                      payload.get("chat_id"))

    def _delay(
        self, method: str, payload: Mapping[str, Any], chat_id: Any, wait: float, reason: str, failed: bool = True
    ) -> None:
        if failed and wait > NOTICE_AFTER_SECONDS:
            self._tell_slow(method, payload)
        now = time.monotonic()
        item = _Delayed(method, dict(payload), chat_id, now + wait, now, failures=1 if failed else 0)
        self.delayed.add(self, item, reason)  # type: ignore[union-attr]


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


async def webhook_info(config: TelegramConfig) -> ApiResult:
    """getWebhookInfo: the webhook's URL and state as Telegram sees it."""
    api = BotApi(config, max_retry_wait=5.0)
    try:
        return await api.request("getWebhookInfo", {})
    finally:
        await api.close()


RECENT_ERROR_SECONDS = 3600.0


def _when(timestamp: Any, now: float) -> str:
    moment = datetime.fromtimestamp(float(timestamp), tz=timezone.utc)
    minutes = max(0, int((now - float(timestamp)) // 60))
    ago = f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC ({ago})"


def webhook_report(info: Mapping[str, Any], now: float | None = None) -> tuple[list[str], bool]:
    """getWebhookInfo's result as lines for the operator, and whether all is well: a webhook is set and
    Telegram has had no error delivering to it in the last hour."""
    now = time.time() if now is None else now
    url = info.get("url") or ""
    lines = [f"webhook: {url}" if url else "webhook: not set (run `bin/bot telegram set-webhook --url https://…`)"]
    lines.append(f"pending updates: {info.get('pending_update_count', 0)}")
    healthy = bool(url)
    error_date = info.get("last_error_date")
    if isinstance(error_date, (int, float)) and not isinstance(error_date, bool):
        message = str(info.get("last_error_message") or "no message")
        lines.append(f"last error: {_when(error_date, now)}: {message}")
        if "403" in message:
            lines.append("  (the bot refused Telegram's secret token: after a new RIS3_TELEGRAM_SECRET run "
                         "`bin/bot telegram set-webhook` again)")
        elif "503" in message:
            lines.append("  (the bot's Telegram channel is not configured: RIS3_TELEGRAM_TOKEN and "
                         "RIS3_TELEGRAM_SECRET where the Rasa server runs)")
        healthy = healthy and now - error_date > RECENT_ERROR_SECONDS
    else:
        lines.append("last error: none")
    sync_error = info.get("last_synchronization_error_date")
    if isinstance(sync_error, (int, float)) and not isinstance(sync_error, bool):
        lines.append(f"last synchronization error at Telegram: {_when(sync_error, now)}")
    if info.get("max_connections") is not None:
        lines.append(f"max connections: {info['max_connections']}")
    updates = info.get("allowed_updates")
    lines.append(f"allowed updates: {', '.join(map(str, updates)) if updates else 'Telegram default'}")
    if info.get("ip_address"):
        lines.append(f"IP address: {info['ip_address']}")
    return lines, healthy
