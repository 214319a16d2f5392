"""The website chat channel of the Rasa server: socket.io for the widget (credentials.yml:
`bot.channels.web_chat.WebChatInput`, in place of Rasa's `socketio`).

Rasa 3.6's socketio channel calls `AsyncServer.enter_room` without awaiting it; since python-socketio
5.10 that is a coroutine, so a client never joins its session's room and every reply sent to a kept
session id is lost. A conversation therefore could not survive a page reload. This channel speaks the
same protocol (`session_request` -> `session_confirm`, `user_uttered` -> `bot_uttered`) and:

- awaits joining the session's room, so a page that reloads or navigates continues the same Rasa
  conversation (the session id is the sender id);
- sends replies to the socket that asked, or, when that socket is gone (the user navigated while the bot
  was answering), to the session's other sockets; with none connected, keeps them for a few minutes and
  delivers them at the session's next `session_request`;
- refuses connections from origins not allowed (credentials `allowed_origins` or
  RIS3_WIDGET_ALLOWED_ORIGINS; default any);
- issues signed session ids (bot/channels/conversation_ids.py): a client cannot choose its conversation, and
  the Rasa conversation of a session is "web:<random part>", out of reach of REST and Telegram;
- checks each message before Rasa sees it: its length, the conversation's and the address's rate
  (bot/channels/limits.py; the user reads why a message was not answered), and keeps only the language of the
  metadata; engine.io takes packets up to RIS3_MAX_REQUEST_BYTES;
- answers a malformed `user_uttered` (or a packet that cannot be decoded) with a `chat_error` event instead of
  an exception in the server log or silence;
- sets the conversation's language when a message's metadata carries `language` (the widget sends its
  interface language with the first message of a session and after the user switches it);
- tells the client, right after `session_confirm` (whose payload stays the session id, for third-party
  clients), the longest message it takes: `chat_limits` {"max_message_chars": N};
- marks each `bot_uttered` with the language of the reply, `"lang": "en"|"fi"` (the conversation's `language`
  slot after the turn, else the text's detected language), so that the widget can label it for screen
  readers and offer its interface in that language. A turn's replies are therefore sent when the turn ends.

Runs in the Rasa runtime: Python 3.10, sanic 21.12, python-socketio 5.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from bot.channels.conversation_ids import SessionSigner, load_secret
from bot.channels.conversation_language import LANGUAGE_SLOT, LANGUAGES, set_language
from bot.channels.limits import SLOW_DOWN, TOO_LONG, ChannelGuard, client_address, say
from bot.channels.log_throttle import show_channel_logs
from bot.channels.request_size import limit_request_size
from bot.channels.unanswered import guard
from bot.channels.web_chat_push import add_push_route, deliver_kept
from bot.channels.web_chat_rules import (
    BadMessage,
    PendingReplies,
    origin_allowed,
    read_message,
    resolve_origins,
)
from bot.language import detect

logger = logging.getLogger(__name__)

CHANNEL_NAME = "socketio"  # the trackers' input_channel, as with Rasa's own channel
ERROR_EVENT = "chat_error"
LIMITS_EVENT = "chat_limits"
SLOW_DOWN_NOTICE_SECONDS = 10.0  # one "slow down" reply per conversation in this time; chat_error for the rest


class ChatBlueprint(SocketBlueprint):
    """Rasa's socket.io blueprint, telling the channel the Sanic app it is registered on (the agent, for
    setting a conversation's language, lives there)."""

    def __init__(self, channel: WebChatInput, sio: AsyncServer, socketio_path: str, *args: Any, **kwargs: Any):
        super().__init__(sio, socketio_path, *args, **kwargs)
        self.ctx.channel = channel

    def register(self, app: Any, options: dict[str, Any]) -> None:
        self.ctx.channel.app = app
        limit_request_size(app, self.ctx.channel.guard.limits)
        super().register(app, options)


class ChatServer(AsyncServer):
    """python-socketio's server, telling the client when a packet cannot be decoded (too deeply nested JSON,
    garbage) instead of dropping it with a traceback in the log."""

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except (ValueError, TypeError, RecursionError) as exc:
            logger.info("web chat: a packet that cannot be decoded (%s)", type(exc).__name__)
            namespace = "/"
            sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
            if sid is not None:
                await self.emit(ERROR_EVENT, {"error": "the packet could not be decoded"}, to=sid, namespace=namespace)


class WebChatOutput(OutputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, channel: WebChatInput, sio: AsyncServer, sid: str, conversation: str) -> None:
        self._channel = channel
        self._sio = sio
        self._sid = sid
        self._conversation = conversation
        self.sent = 0  # for bot/channels/unanswered.py
        self._held: list[dict[str, Any]] | None = None

    def hold(self) -> None:
        """Keeps the replies until `release`: their language is known when the turn has ended."""
        self._held = []

    async def release(self, language: str | None) -> None:
        """Sends the held replies, each marked with `language`, or where that is unknown, its text's."""
        held, self._held = self._held or [], None
        for payload in held:
            lang = language or detect(str(payload.get("text") or ""))
            if lang in LANGUAGES:
                payload.setdefault("lang", lang)
            await self._channel.deliver(self._sio, self._sid, self._conversation, payload)

    @property
    def holding(self) -> bool:
        return bool(self._held)

    async def _emit(self, payload: dict[str, Any]) -> None:
        self.sent += 1
        if self._held is not None:
            self._held.append(payload)
        else:
            await self._channel.deliver(self._sio, self._sid, self._conversation, payload)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        # One bubble per utterance (Rasa's channel splits paragraphs): an answer and its source stay together
        # and a screen reader announces them as one message.
        await self._emit({"text": text.strip()})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        # A button with a url (built by the actions from knowledge/, never from what a user typed) is a link.
        replies = [
            {"content_type": "url", "title": str(b.get("title", "")), "url": str(b["url"])}
            if isinstance(b.get("url"), str)
            else {"content_type": "text", "title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in buttons
        ]
        await self._emit({"text": text.strip(), "quick_replies": replies})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._emit({"attachment": {"type": "image", "payload": {"src": image}}})

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        await self._emit({"attachment": attachment})

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        await self._emit(dict(json_message))


class WebChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> WebChatInput:
        credentials = credentials or {}
        return cls(
            allowed_origins=resolve_origins(credentials),
            user_message_evt=credentials.get("user_message_evt") or "user_uttered",
            bot_message_evt=credentials.get("bot_message_evt") or "bot_uttered",
            namespace=credentials.get("namespace") or "/",
            socketio_path=credentials.get("socketio_path") or "/socket.io",
            metadata_key=credentials.get("metadata_key") or "metadata",
        )

    def __init__(
        self,
        allowed_origins: list[str] | None = None,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: str = "/",
        socketio_path: str = "/socket.io",
        metadata_key: str = "metadata",
    ) -> None:
        self.allowed_origins = allowed_origins or ["*"]
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.namespace = namespace
        self.socketio_path = socketio_path
        self.metadata_key = metadata_key
        self.pending = PendingReplies()
        self._session_of: dict[str, str] = {}  # socket id -> conversation id
        self._address_of: dict[str, str] = {}  # socket id -> client address
        self.guard = ChannelGuard()
        show_channel_logs()
        self.signer: SessionSigner | None = None  # at blueprint(): the secret may live in a file
        self.app: Any = None

    async def deliver(self, sio: AsyncServer, sid: str, conversation: str, payload: dict[str, Any]) -> None:
        if sio.manager.is_connected(sid, self.namespace):
            await sio.emit(self.bot_message_evt, payload, to=sid, namespace=self.namespace)
        elif any(True for _ in sio.manager.get_participants(self.namespace, conversation)):
            await sio.emit(self.bot_message_evt, payload, room=conversation, namespace=self.namespace)
        else:
            self.pending.add(conversation, payload)

    async def conversation_language(self, conversation: str) -> str | None:
        """The conversation's `language` slot as the tracker store has it (after a turn: as the turn left it)."""
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        if agent is None or not agent.is_ready():
            return None
        try:
            tracker = await agent.tracker_store.retrieve(conversation)
        except Exception:  # the replies still go out, labelled by their text
            logger.warning("web chat: the language of %s could not be read", conversation, exc_info=True)
            return None
        language = tracker.get_slot(LANGUAGE_SLOT) if tracker is not None else None
        return language if language in LANGUAGES else None

    async def _join(self, sio: AsyncServer, sid: str, conversation: str) -> None:
        """A socket is in the room of its session's conversation (a page of the session)."""
        previous = self._session_of.get(sid)
        if previous == conversation:
            return
        if previous is not None:
            await sio.leave_room(sid, previous, namespace=self.namespace)
        await sio.enter_room(sid, conversation, namespace=self.namespace)
        self._session_of[sid] = conversation

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        on_new_message = guard(on_new_message, lambda message: (message.metadata or {}).get("language"))
        signer = self.signer = SessionSigner(load_secret())
        # No CORS from engine.io itself ([]): Rasa's --cors answers the HTTP requests, and the origin is
        # checked in `connect` below, for both transports.
        sio = ChatServer(
            async_mode="sanic", cors_allowed_origins=[], max_http_buffer_size=self.guard.limits.max_request_bytes
        )
        blueprint = ChatBlueprint(self, sio, self.socketio_path, "web_chat_webhook", __name__)
        namespace = self.namespace
        # The two-way handoff: the project manager's replies pushed to open pages (bot/channels/web_chat_push.py).
        add_push_route(blueprint, sio, namespace, self.bot_message_evt)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: Mapping[str, Any], auth: Any = None) -> None:
            origin = environ.get("HTTP_ORIGIN")
            if not origin_allowed(origin, self.allowed_origins):
                logger.info("web chat: connection from origin %s refused", origin)
                raise SocketRefused(f"origin {origin} is not allowed")
            self._address_of[sid] = client_address(
                environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR"), self.guard.limits.trusted_proxies
            )

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str, *_: Any) -> None:
            self._session_of.pop(sid, None)
            self._address_of.pop(sid, None)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            asked = data.get("session_id") if isinstance(data, Mapping) else None
            # A session we issued goes on; anything else (never issued, forged, from an older version) is new.
            session_id = asked if signer.conversation(asked) else signer.issue()
            conversation = signer.conversation(session_id)
            assert conversation is not None  # issued just now or checked above
            await self._join(sio, sid, conversation)
            await sio.emit("session_confirm", session_id, to=sid, namespace=namespace)
            limits = {"max_message_chars": self.guard.limits.max_message_chars}
            await sio.emit(LIMITS_EVENT, limits, to=sid, namespace=namespace)
            for payload in self.pending.take(conversation):
                await sio.emit(self.bot_message_evt, payload, to=sid, namespace=namespace)
            await deliver_kept(sio, sid, conversation, namespace, self.bot_message_evt)  # replies kept meanwhile

        async def say_to(
            sid: str, template: Mapping[str, str], language: str | None, code: str, **values: object
        ) -> None:
            # `code` tells a client that its message was not taken (the widget puts it back in the input).
            payload: dict[str, Any] = {"text": say(template, language, **values), "code": code}
            if "seconds" in values:
                payload["retry_after"] = values["seconds"]
            if language in template:  # else said in both languages
                payload["lang"] = language
            await sio.emit(self.bot_message_evt, payload, to=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def user_uttered(sid: str, data: Any = None) -> None:
            try:
                message = read_message(data, self.metadata_key)
            except BadMessage as error:
                await sio.emit(ERROR_EVENT, {"error": str(error)}, to=sid, namespace=namespace)
                return
            if message.session_id is not None:
                conversation = signer.conversation(message.session_id)
            else:
                conversation = self._session_of.get(sid)
            if conversation is None:
                error = "send session_request first, then user_uttered with the session_id it confirmed"
                await sio.emit(ERROR_EVENT, {"error": error}, to=sid, namespace=namespace)
                return
            language = message.metadata.get("language")
            if self.guard.too_long(message.text):
                limit = self.guard.limits.max_message_chars
                await say_to(sid, TOO_LONG, language or detect(message.text[:500]), "message_too_long", limit=limit)
                return
            wait = self.guard.wait_seconds(conversation, self._address_of.get(sid))
            if wait:
                logger.info("web chat: a message of %s refused for %d s (rate limit)", conversation, wait)
                if self.guard.tell_to_slow_down(conversation, SLOW_DOWN_NOTICE_SECONDS):
                    await say_to(sid, SLOW_DOWN, language or detect(message.text[:500]), "rate_limited", seconds=wait)
                else:  # told a moment ago: the client still learns that this message was not taken
                    refused = {"error": "rate limited", "code": "rate_limited", "retry_after": wait}
                    await sio.emit(ERROR_EVENT, refused, to=sid, namespace=namespace)
                return
            # Events of one socket are handled concurrently: this message may overtake its session_request.
            await self._join(sio, sid, conversation)
            output = WebChatOutput(self, sio, sid, conversation)
            output.hold()
            try:
                try:
                    if language in LANGUAGES:
                        await set_language(self.app, conversation, language, output)
                    metadata = message.metadata
                    await on_new_message(
                        UserMessage(message.text, output, conversation, input_channel=CHANNEL_NAME, metadata=metadata)
                    )
                finally:
                    reply_language = await self.conversation_language(conversation) if output.holding else None
                    await output.release(reply_language)
            except Exception:
                logger.exception("web chat: message of %s failed", conversation)
                error = "the message could not be processed; please try again"
                await sio.emit(ERROR_EVENT, {"error": error}, to=sid, namespace=namespace)

        return blueprint
