"""A loopback stand-in for the Telegram Bot API, and Telegram updates as Telegram sends them.

The stand-in runs an aiohttp server in its own thread (so synchronous tests and a Rasa server in another
process can both use it), records every call with its arrival time, checks what Telegram would check
(the token in the path, a non-empty text of at most 4096 UTF-16 units, callback_data of at most 64
bytes, no parse_mode to trip over), answers 429 with parameters.retry_after or a 5xx when told to, and
keeps the webhook's state for getWebhookInfo.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7000000001
BOT_USERNAME = "ris3_test_bot"
TOKEN = f"{BOT_ID}:AAF-stand-in_token_0123456789"
SECRET = "stand-in_secret-0123456789"


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    at: float  # time.monotonic() on arrival
    status: int = 200
    token_ok: bool = True
    result: Any = None  # what the stand-in answered (for sendMessage: the message sent)

    @property
    def chat_id(self) -> Any:
        return self.body.get("chat_id")

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.body.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard") or [] for button in row]


    @property
    def thread_id(self) -> Any:
        return self.body.get("message_thread_id")


@dataclass
class _Failure:
    method: str
    chat_id: Any
    retry_after: float | None
    times: int
    status: int = 429


@dataclass
class FakeBotApi:
    token: str = TOKEN
    username: str = BOT_USERNAME
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(50_000))
    # What getWebhookInfo answers; setWebhook sets the url and update types.
    webhook: dict[str, Any] = field(default_factory=lambda: {
        "url": "", "has_custom_certificate": False, "pending_update_count": 0})

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- control from the tests ---------------------------------------------------------------
    def fail_with_429(self, method: str, chat_id: Any, retry_after: float = 1, times: int = 1) -> None:
        with self._lock:
            self._failures.append(_Failure(method, chat_id, retry_after, times))

    def fail_with(self, status: int, method: str, chat_id: Any, times: int = 1) -> None:
        """Answers the next `times` calls of method for chat_id with this HTTP status (e.g. 500, 502)."""
        with self._lock:
            self._failures.append(_Failure(method, chat_id, None, times, status))

    def set_webhook_info(self, **fields: Any) -> None:
        with self._lock:
            self.webhook.update(fields)

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self.calls)

    def calls_for(self, method: str | None = None, chat_id: Any = None) -> list[Call]:
        return [
            c for c in self.snapshot()
            if (method is None or c.method == method) and (chat_id is None or c.chat_id == chat_id)
        ]

    def replies(self, chat_id: Any) -> list[Call]:
        """The messages delivered to a chat (sendMessage calls answered 200)."""
        return [c for c in self.calls_for("sendMessage", chat_id) if c.status == 200]

    def wait_for(self, predicate: Callable[[list[Call]], bool], timeout: float = 30.0) -> list[Call]:
        """Polls the recorded calls until predicate(calls) holds; the calls, or AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            calls = self.snapshot()
            if predicate(calls):
                return calls
            if time.monotonic() > deadline:
                summary = [(c.method, c.chat_id, c.status, c.text[:60]) for c in calls[-10:]]
                raise AssertionError(f"the stand-in did not see it within {timeout} s; last calls: {summary}")
            time.sleep(0.02)

    def wait_for_reply(self, chat_id: Any, contains: str = "", after: int = 0, timeout: float = 30.0) -> Call:
        """The first message to chat_id (beyond the first `after` ones) whose text contains `contains`."""

        def found(_: list[Call]) -> bool:
            return any(contains in c.text for c in self.replies(chat_id)[after:])

        self.wait_for(found, timeout)
        return next(c for c in self.replies(chat_id)[after:] if contains in c.text)

    # --- the server ---------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        token_ok = request.match_info["token"] == self.token
        method = request.match_info["method"]
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            body = {}
        call = Call(method, body if isinstance(body, dict) else {}, time.monotonic(), token_ok=token_ok)
        status, answer = self._answer(call)
        call.status = status
        call.result = answer.get("result")
        with self._lock:
            self.calls.append(call)
        return web.json_response(answer, status=status)

    def _answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        if not call.token_ok:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        with self._lock:
            for failure in self._failures:
                if failure.times > 0 and failure.method == call.method and failure.chat_id == call.chat_id:
                    failure.times -= 1
                    if failure.status != 429:
                        return failure.status, {"ok": False, "error_code": failure.status,
                                                "description": "Internal Server Error"}
                    description = f"Too Many Requests: retry after {failure.retry_after:g}"
                    return 429, {
                        "ok": False, "error_code": 429, "description": description,
                        "parameters": {"retry_after": failure.retry_after},
                    }
        if call.method == "sendMessage":
            return self._send_message(call.body)
        if call.method == "editMessageReplyMarkup":
            markup = call.body.get("reply_markup")
            ok = call.body.get("chat_id") is not None and isinstance(call.body.get("message_id"), int) and (
                markup is None or isinstance(markup.get("inline_keyboard"), list))
            return (200, {"ok": True, "result": True}) if ok else _bad("message to edit not found")
        if call.method == "sendChatAction":
            ok = call.body.get("chat_id") is not None and call.body.get("action") == "typing"
            return (200, {"ok": True, "result": True}) if ok else _bad("wrong chat action")
        if call.method == "answerCallbackQuery":
            ok = isinstance(call.body.get("callback_query_id"), str)
            return (200, {"ok": True, "result": True}) if ok else _bad("query id is empty")
        if call.method == "setWebhook":
            with self._lock:
                self.webhook.update(url=call.body.get("url", ""), allowed_updates=call.body.get("allowed_updates"),
                                    max_connections=call.body.get("max_connections", 40))
            return 200, {"ok": True, "result": True, "description": "Webhook was set"}
        if call.method == "getWebhookInfo":
            with self._lock:
                return 200, {"ok": True, "result": dict(self.webhook)}
        if call.method == "getMe":
            return 200, {"ok": True, "result": {"id": BOT_ID, "is_bot": True, "first_name": "RIS3",
                                                "username": self.username}}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    def _send_message(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return _bad("message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return _bad("message is too long")
        if body.get("parse_mode"):
            return _bad("the stand-in expects plain text")
        for row in (body.get("reply_markup") or {}).get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    return _bad("BUTTON_DATA_INVALID")
        message = {
            "message_id": next(self._message_ids),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "RIS3", "username": self.username},
            "chat": {"id": body.get("chat_id")},
            "date": int(time.time()),
            "text": text,
        }
        if body.get("reply_markup"):
            message["reply_markup"] = body["reply_markup"]
        if body.get("message_thread_id") is not None:
            message.update(message_thread_id=body["message_thread_id"], is_topic_message=True)
        return 200, {"ok": True, "result": message}

    def start(self) -> FakeBotApi:
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            app = web.Application()
            app.router.add_post("/bot{token}/{method}", self._handle)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            started.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="telegram-stand-in", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the Bot API stand-in did not start")
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def _bad(description: str) -> tuple[int, dict[str, Any]]:
    return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}


# --- updates as Telegram sends them -------------------------------------------------------------
_update_ids = itertools.count(random.randint(100_000_000, 800_000_000))
_ids = itertools.count(random.randint(1_000_000, 9_000_000))


def next_update_id() -> int:
    return next(_update_ids)


def new_private_chat() -> int:
    return next(_ids) + 100_000_000


def new_group_chat() -> int:
    return -1_001_000_000_000 - next(_ids)


# Telegram's senders of an anonymous group admin's and of a channel's messages in a group.
GROUP_ANONYMOUS_BOT = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
CHANNEL_BOT = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}


def user(user_id: int, language_code: str | None = "en") -> dict[str, Any]:
    person: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Aino", "last_name": "Esimerkki",
                              "username": f"aino_{user_id}"}
    if language_code:
        person["language_code"] = language_code
    return person


def _entities(text: str, username: str) -> list[dict[str, Any]]:
    entities = []
    if text.startswith("/"):
        length = len(text.split()[0])
        entities.append({"offset": 0, "length": length, "type": "bot_command"})
    mention = f"@{username}"
    if mention in text:
        offset = len(text[: text.index(mention)].encode("utf-16-le")) // 2
        entities.append({"offset": offset, "length": len(mention), "type": "mention"})
    return entities


def message_update(
    chat_id: int,
    text: str,
    *,
    language_code: str | None = "en",
    user_id: int | None = None,
    message_id: int | None = None,
    reply_to: dict[str, Any] | None = None,
    update_id: int | None = None,
    username: str = BOT_USERNAME,
    thread_id: int | None = None,
    sender: dict[str, Any] | None = None,
    sender_chat: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `message` update: a private chat for a positive chat id, a supergroup for a negative one (a forum
    with thread_id: the message is in that topic). sender replaces the `from` user, sender_chat is the
    chat an anonymous admin or a channel speaks as; extra is merged into the message."""
    sender = sender or user(user_id or (chat_id if chat_id > 0 else 424242), language_code)
    if chat_id > 0:
        chat = {"id": chat_id, "first_name": "Aino", "last_name": "Esimerkki", "username": sender.get("username"),
                "type": "private"}
    else:
        chat = {"id": chat_id, "title": "RIS3 partners", "type": "supergroup"}
    message: dict[str, Any] = {
        "message_id": message_id or next(_ids) % 100_000,
        "from": sender,
        "chat": chat,
        "date": int(time.time()),
        "text": text,
    }
    if thread_id is not None:
        chat["is_forum"] = True
        message.update(message_thread_id=thread_id, is_topic_message=True)
    if sender_chat is not None:
        message["sender_chat"] = sender_chat
    message.update(extra or {})
    entities = _entities(text, username)
    if entities:
        message["entities"] = entities
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return {"update_id": update_id or next_update_id(), "message": message}


def bot_message(sent: Call) -> dict[str, Any]:
    """The Message object of what the bot sent (a recorded sendMessage), as updates quote it."""
    chat_id = sent.chat_id
    chat = ({"id": chat_id, "first_name": "Aino", "type": "private"} if chat_id > 0
            else {"id": chat_id, "title": "RIS3 partners", "type": "supergroup"})
    message: dict[str, Any] = {
        "message_id": sent.result["message_id"],
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "RIS3", "username": BOT_USERNAME},
        "chat": chat,
        "date": sent.result["date"],
        "text": sent.text,
    }
    if sent.body.get("reply_markup"):
        message["reply_markup"] = sent.body["reply_markup"]
    if sent.thread_id is not None:
        chat["is_forum"] = True
        message.update(message_thread_id=sent.thread_id, is_topic_message=True)
    return message


def callback_update(sent: Call, data: str, *, language_code: str | None = "en",
                    user_id: int = 424242) -> dict[str, Any]:
    """A button press under the message the bot sent in `sent` (a recorded sendMessage)."""
    message = bot_message(sent)
    return {
        "update_id": next_update_id(),
        "callback_query": {
            "id": str(random.getrandbits(63)),
            "from": user(user_id, language_code),
            "message": message,
            "chat_instance": str(-random.getrandbits(62)),
            "data": data,
        },
    }
