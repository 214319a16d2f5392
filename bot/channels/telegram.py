"""The Telegram channel of the Rasa server (credentials.yml: `bot.channels.telegram.TelegramInput`).

Rasa 3.6's own Telegram connector calls Telegram at every start-up, checks no webhook secret, calls
getMe on every message and cannot be pointed at another API address. This one:

- serves POST /webhooks/telegram/webhook, checks X-Telegram-Bot-Api-Secret-Token (wrong or missing:
  403, nothing processed), answers 200 at once and processes the update in a background task; an
  update_id seen lately is not processed again (Telegram resends an update it thinks was not received);
- answers every message in a private chat, and in a group only what is addressed to the bot (see
  telegram_updates.read_update); the Rasa conversation (sender_id) is "telegram:<chat id>", and in a
  group "telegram:<chat id>:<member>", so each member's language and state are theirs, and no REST or
  website client reaches either; in a group the handoff form does not run (actions/group_chat.py);
- sends every message of a reply to the forum topic it answers;
- refuses, with a reply saying why, a message longer than RIS3_MAX_MESSAGE_CHARS and messages faster than
  the rate limits per conversation and per Telegram user (bot/channels/limits.py; the slow-down reply at
  most once a minute per chat), and lowers the server's request size limit (bot/channels/request_size.py);
- sends replies through the Bot API at a configurable base URL with one aiohttp session, created at
  the first call and closed when the server stops; makes no network call at start-up (the webhook is
  registered by `bot telegram set-webhook`); retries 429s, 5xx and failed connections, and keeps a reply
  Telegram wants sent later than RIS3_TELEGRAM_MAX_RETRY_WAIT seconds (default 60) in a bounded queue
  (telegram_api.DelayedSends);
- logs refused requests, repeated updates, retries and failed deliveries where `bin/bot run` shows them,
  one line a minute of each kind;
- without a token and secret it still loads, and the webhook answers 503: `make up` works without
  Telegram.

Configuration: the credentials.yml entry's token, secret, api_base and bot_username, each falling back
to RIS3_TELEGRAM_TOKEN, RIS3_TELEGRAM_SECRET, RIS3_TELEGRAM_API_BASE, RIS3_TELEGRAM_BOT_USERNAME;
RIS3_TELEGRAM_MAX_RETRY_WAIT.

Runs in the Rasa runtime: Python 3.10, sanic 21.12, aiohttp 3.9, pydantic 1 (so no bot.settings).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.conversation_language import set_language
from bot.channels.limits import SLOW_DOWN, TOO_LONG, ChannelGuard, say
from bot.channels.log_throttle import ThrottledLog, show_channel_logs
from bot.channels.request_size import LimitedBlueprint
from bot.channels.telegram_api import SECRET_HEADER, BotApi, DelayedSends, TelegramConfig
from bot.channels.telegram_manager_replies import handle_manager_reply
from bot.channels.telegram_updates import (
    CONVERSATION_PREFIX,
    GROUP_CHATS,
    RESTART,
    BotIdentity,
    CallbackPayloads,
    Incoming,
    RecentUpdates,
    callback_query_id,
    chat_id_of,
    chat_of_conversation,
    in_group,
    inline_keyboard,
    keyboard_after_press,
    read_update,
    secret_matches,
    split_text,
    utf16_len,
)
from bot.channels.unanswered import guard
from bot.handoff.question_draft import last_question
from bot.language import detect
from bot.privacy.notice import PrivacyConfigError
from bot.privacy.notice import texts as privacy_texts

logger = logging.getLogger(__name__)

CHANNEL_NAME = "telegram"
GET_ME_RETRY_SECONDS = 300.0
SLOW_DOWN_NOTICE_SECONDS = 60.0  # a flood gets one "slow down" per chat in this time, not one per message
STOP_GRACE_SECONDS = 5.0
# How long a reply may wait for Telegram (429s, retries) while the chat's next updates wait behind it;
# a longer wait goes to the queue of delayed replies instead.
MAX_RETRY_WAIT_ENV = "RIS3_TELEGRAM_MAX_RETRY_WAIT"
DEFAULT_MAX_RETRY_WAIT = 60.0


def _max_retry_wait(environ: Mapping[str, str] = os.environ) -> float:
    raw = environ.get(MAX_RETRY_WAIT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_MAX_RETRY_WAIT
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        logger.warning("%s=%r is not 0-3600 seconds: %s used", MAX_RETRY_WAIT_ENV, raw, DEFAULT_MAX_RETRY_WAIT)
        return DEFAULT_MAX_RETRY_WAIT
    return value


class TelegramOutput(OutputChannel):
    """Sends Rasa's replies to one chat: plain text (no parse_mode, so no reply is refused for its
    formatting), cut at 4096 characters between paragraphs, buttons as an inline keyboard under the last
    part. In a group the first reply quotes the user's message; in a forum every message goes to the topic
    of the message (or button) it answers."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(
        self,
        api: BotApi,
        payloads: CallbackPayloads,
        reply_to_message_id: int | None = None,
        thread_id: int | None = None,
        mention: tuple[int, str] | None = None,
    ) -> None:
        self._api = api
        self._payloads = payloads
        self._reply_to = reply_to_message_id
        self._thread_id = thread_id
        # (user id, first name): the first message names whom it answers, a group member who pressed a button.
        self._mention = mention
        self.sent = 0  # for bot/channels/unanswered.py

    async def _send(self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None = None) -> None:
        self.sent += 1
        entities: list[dict[str, Any]] = []
        if self._mention is not None and text:
            user_id, first_name = self._mention
            text = f"{first_name}: {text}"
            entities = [{"type": "text_mention", "offset": 0, "length": utf16_len(first_name),
                         "user": {"id": user_id, "is_bot": False, "first_name": first_name}}]
            self._mention = None
        parts = split_text(text)
        keyboard = inline_keyboard(buttons or [], self._payloads)
        if not parts:
            if keyboard:
                logger.warning("Telegram: buttons without text for chat %s not sent", recipient_id)
            return
        chat_id = chat_of_conversation(recipient_id)
        for number, part in enumerate(parts, start=1):
            body: dict[str, Any] = {"chat_id": chat_id, "text": part}
            if self._thread_id is not None:
                body["message_thread_id"] = self._thread_id
            if self._reply_to is not None:
                body["reply_parameters"] = {"message_id": self._reply_to, "allow_sending_without_reply": True}
                self._reply_to = None
            if entities and number == 1:
                body["entities"] = entities
            if keyboard and number == len(parts):
                body["reply_markup"] = keyboard
            await self._api.call("sendMessage", body, chat_id=recipient_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(recipient_id, text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send(recipient_id, text, buttons)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, image)  # Telegram shows the link's preview

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self._send(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if isinstance(text, str):
            await self._send(recipient_id, text)
        else:
            logger.debug("Telegram: custom message for chat %s not sent", recipient_id)


class TelegramInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> TelegramInput:
        return cls(TelegramConfig.resolve(credentials))

    def __init__(self, config: TelegramConfig | None = None) -> None:
        show_channel_logs()
        self.config = config or TelegramConfig.resolve(None)
        self.problems = self.config.problems()
        self.api = BotApi(
            self.config, max_retry_wait=_max_retry_wait(), delayed=DelayedSends(), slow_notice=_still_working
        )
        self._log = ThrottledLog(logger)  # refused or repeated requests can come in floods
        self.updates = RecentUpdates()
        self.payloads = CallbackPayloads()
        self._username = self.config.bot_username
        self._get_me_after = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._chats: dict[int, list[Any]] = {}  # chat id -> [lock, holders and waiters]
        self.guard = ChannelGuard()
        if self.problems:
            logger.info("Telegram channel not configured (%s): its webhook answers 503", "; ".join(self.problems))
        else:
            name = f"@{self._username}" if self._username else "name unknown (getMe at the first update)"
            logger.info("Telegram channel ready: API %s, bot %s", self.config.api_base, name)

    @property
    def ready(self) -> bool:
        return not self.problems

    def get_output_channel(self) -> OutputChannel | None:
        return TelegramOutput(self.api, self.payloads) if self.ready else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = LimitedBlueprint(self.guard.limits, "ris3_telegram_webhook")

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.ready else "not configured"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return self._receive(request, on_new_message)

        @webhook.listener("before_server_stop")
        async def stop(*_: Any) -> None:
            await self.close()

        return webhook

    def _receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        if not self.ready:
            self._log.log(
                "calls while not configured", logging.WARNING,
                "Telegram webhook called, but the channel is not configured (%s): answered 503",
                "; ".join(self.problems),
            )
            return response.json({"ok": False, "description": "Telegram channel not configured"}, status=503)
        if not secret_matches(self.config.secret, request.headers.get(SECRET_HEADER)):
            # After a new secret, run `bot telegram set-webhook` again: until then Telegram sends the old one.
            self._log.log(
                "refused requests", logging.WARNING,
                "Telegram webhook: a request from %s without the right secret token refused (403); if "
                "RIS3_TELEGRAM_SECRET changed, run `bin/bot telegram set-webhook` again",
                request.ip or "an unknown address",
            )
            return response.json({"ok": False, "description": "Forbidden"}, status=403)
        try:
            update = request.json
        except Exception:  # sanic raises InvalidUsage on a body that is not JSON
            update = None
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            self._log.log("bodies not an update", logging.WARNING, "Telegram webhook: a body not an update refused")
            return response.json({"ok": False, "description": "not a Telegram update"}, status=400)
        if not self.updates.first_time(update_id):
            self._log.log(
                "repeated updates", logging.INFO, "Telegram update %s received again: not processed twice", update_id
            )
            return response.json({"ok": True})
        query_id = callback_query_id(update)
        if query_id:  # stop the button's spinner whatever the press leads to
            self._spawn(self.api.call("answerCallbackQuery", {"callback_query_id": query_id}, chat_id_of(update)))
            self._spawn(self._clear_keyboard(update["callback_query"]))
        self._spawn(self._process(update, on_new_message, request.app))
        return response.json({"ok": True})

    async def _clear_keyboard(self, query: Mapping[str, Any]) -> None:
        """A pressed keyboard is taken away (or, in a group, its pressed button): see keyboard_after_press."""
        message = query.get("message") if isinstance(query.get("message"), dict) else {}
        chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
        chat_id, message_id, data = chat.get("id"), message.get("message_id"), query.get("data")
        if not isinstance(message_id, int) or chat_id is None or not isinstance(data, str):
            return
        markup = keyboard_after_press(message.get("reply_markup"), data, chat.get("type") in GROUP_CHATS)
        if markup is not None:
            body = {"chat_id": chat_id, "message_id": message_id, "reply_markup": markup}
            await self.api.call("editMessageReplyMarkup", body, chat_id)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @contextlib.asynccontextmanager
    async def _chat_turn(self, chat_id: int | None) -> AsyncIterator[None]:
        """One update of a chat at a time, in the order they came (asyncio.Lock is first come, first
        served), so replies keep the order of the messages."""
        if chat_id is None:
            yield
            return
        entry = self._chats.setdefault(chat_id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._chats.pop(chat_id, None)

    async def _identity(self, update: Mapping[str, Any]) -> BotIdentity:
        """The bot's username, for mentions in groups: configured, or asked with getMe at the first group
        message that needs it (never at start-up; again at most every few minutes if that fails)."""
        if not self._username and in_group(update) and time.monotonic() >= self._get_me_after:
            self._get_me_after = time.monotonic() + GET_ME_RETRY_SECONDS
            me = await self.api.call("getMe", {})
            if isinstance(me, dict) and isinstance(me.get("username"), str):
                self._username = me["username"]
        return BotIdentity(self._username, self.config.bot_id)

    async def _process(
        self, update: dict[str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]], app: Any
    ) -> None:
        chat_id = chat_id_of(update)
        async with self._chat_turn(chat_id):
            try:
                # The project manager replying to a request's notification (bot/channels/telegram_manager_replies.py).
                if await handle_manager_reply(update, self.api):
                    return
                incoming = read_update(update, await self._identity(update), self.payloads.decode)
                if incoming is not None:
                    await self._handle(incoming, on_new_message, app)
            except Exception:
                logger.exception("Telegram update %s for chat %s failed", update.get("update_id"), chat_id)

    async def _handle(
        self, incoming: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]], app: Any
    ) -> None:
        # In a group an answer quotes what it answers: the member's message, or for a press the message whose
        # button was pressed, then names the member who pressed it.
        reply_to = incoming.pressed_message_id if incoming.callback else incoming.message_id
        mention = None
        if incoming.in_group and incoming.callback and incoming.user_id is not None and incoming.first_name:
            mention = (incoming.user_id, incoming.first_name)
        output = TelegramOutput(
            self.api, self.payloads, reply_to if incoming.in_group else None, incoming.thread_id, mention
        )
        metadata = incoming.metadata()
        if incoming.from_group is not None and incoming.user_id is not None:
            question = await _question_asked_in_group(app, incoming.from_group, incoming.user_id)
            if question:
                metadata["telegram"]["group_question"] = question

        def message(text: str) -> UserMessage:
            return UserMessage(text, output, incoming.sender_id, input_channel=CHANNEL_NAME, metadata=metadata)

        language = incoming.seed_language or incoming.language
        if self.guard.too_long(incoming.text):
            limit = self.guard.limits.max_message_chars
            await output.send_text_message(incoming.sender_id, say(TOO_LONG, language, limit=limit))
            return
        user = f"telegram-user:{incoming.user_id}" if incoming.user_id is not None else None
        wait = self.guard.wait_seconds(incoming.sender_id, user)
        if wait:
            await self._slow_down(incoming.sender_id, output, say(SLOW_DOWN, language, seconds=wait))
            return
        if incoming.restart:
            await on_new_message(message(RESTART))
        if incoming.seed_language:
            # Before the greeting of /start: "/greet" says nothing about the user's language.
            await set_language(app, incoming.sender_id, incoming.seed_language, output)
        elif incoming.language and (incoming.callback or incoming.command or detect(incoming.text[:500]) is None):
            # A conversation's first message that does not tell its language ("RIS3?", /help, a group member's
            # first press of a button under someone else's answer): the app's language until the words tell.
            # (A message that tells sets the language itself: no need to read the conversation for it.)
            await _seed_new_conversation(app, incoming.sender_id, incoming.language, output)
        await guard(on_new_message, lambda _: incoming.seed_language)(message(incoming.text))
        if incoming.command == "start" and not incoming.in_group:
            await _tell_privacy(output, incoming.sender_id, incoming.seed_language)

    async def _slow_down(self, conversation: str, output: OutputChannel, text: str) -> None:
        self._log.log(
            "rate-limited messages", logging.INFO, "Telegram: a message of %s refused (rate limit)", conversation
        )
        if self.guard.tell_to_slow_down(conversation, SLOW_DOWN_NOTICE_SECONDS):
            await output.send_text_message(conversation, text)

    async def close(self) -> None:
        """At server stop: let the updates being processed finish (a few seconds at most), then close the
        HTTP session."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
        await self.api.close()
        self._log.flush()
        logger.debug("Telegram channel closed")


# What a user reads while Telegram holds up the reply (bot/channels/telegram_api.py NOTICE_AFTER_SECONDS).
STILL_WORKING = {
    "en": "Still working on it: Telegram is slow to take my answer. It comes as soon as it can.",
    "fi": "Vastaus on tulossa: Telegram ottaa sen vastaan hitaasti. Se tulee heti kun voi.",
}


def _still_working(payload: Mapping[str, Any]) -> str:
    """The notice in the language of the reply that waits."""
    return STILL_WORKING.get(detect(str(payload.get("text") or "")[:500]) or "en", STILL_WORKING["en"])


async def _question_asked_in_group(app: Any, group_id: int, user_id: int) -> str | None:
    """What the member last asked in the group before asking for a person there, read from their own
    conversation in that group (the link names the group; the member is who opened it): the private form
    offers it instead of making them type it again."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    if agent is None or not agent.is_ready():
        return None
    try:
        tracker = await agent.tracker_store.retrieve(f"{CONVERSATION_PREFIX}{group_id}:{user_id}")
    except Exception:  # the form then asks for the question, as without a link from a group
        logger.warning("Telegram: the question asked in group %s could not be read", group_id)
        return None
    if tracker is None:
        return None
    return last_question(event.as_dict() for event in tracker.events)


async def _seed_new_conversation(app: Any, sender_id: str, language: str, output: OutputChannel) -> None:
    """Sets the language of a conversation that has no message yet (the Telegram app's language); one that
    has keeps the language its messages gave it."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    if agent is None or not agent.is_ready():
        return
    # Read without the conversation's lock: the chat's updates are handled one at a time (_chat_turn).
    tracker = await agent.processor.get_tracker(sender_id)
    if not any(isinstance(event, UserUttered) for event in tracker.events):
        await set_language(app, sender_id, language, output)


async def _tell_privacy(output: OutputChannel, sender_id: str, language: str | None) -> None:
    """/start's privacy notice after the greeting: what is kept, how long, who reads it, /forget (privacy.yml)."""
    try:
        notice = privacy_texts().telegram_notice(language or "fi")
    except PrivacyConfigError as exc:
        logger.error("privacy notice not sent: %s", exc)
        return
    await output.send_text_message(sender_id, notice)
