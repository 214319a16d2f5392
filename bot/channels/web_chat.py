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
- answers a malformed `user_uttered` with a `chat_error` event instead of an exception in the server log;
- sets the conversation's language when a message's metadata carries `language` (the widget sends its
  interface language with the first message of a session and after the user switches it).

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

from bot.channels.conversation_language import LANGUAGES, set_language
from bot.channels.unanswered import guard
from bot.channels.web_chat_rules import (
    BadMessage,
    PendingReplies,
    origin_allowed,
    read_message,
    resolve_origins,
    session_id_or_new,
)

logger = logging.getLogger(__name__)

CHANNEL_NAME = "socketio"  # the trackers' input_channel, as with Rasa's own channel
ERROR_EVENT = "chat_error"


class ChatBlueprint(SocketBlueprint):
    """Rasa's socket.io blueprint, telling the channel the Sanic app it is registered on (the agent, for
    setting a conversation's language, lives there)."""

    def __init__(self, channel: WebChatInput, sio: AsyncServer, socketio_path: str, *args: Any, **kwargs: Any):
        super().__init__(sio, socketio_path, *args, **kwargs)
        self.ctx.channel = channel

    def register(self, app: Any, options: dict[str, Any]) -> None:
        self.ctx.channel.app = app
        super().register(app, options)


class WebChatOutput(OutputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, channel: WebChatInput, sio: AsyncServer, sid: str, session_id: str) -> None:
        self._channel = channel
        self._sio = sio
        self._sid = sid
        self._session_id = session_id
        self.sent = 0  # for bot/channels/unanswered.py

    async def _emit(self, payload: dict[str, Any]) -> None:
        self.sent += 1
        await self._channel.deliver(self._sio, self._sid, self._session_id, payload)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        # One bubble per utterance (Rasa's channel splits paragraphs): an answer and its source stay together
        # and a screen reader announces them as one message.
        await self._emit({"text": text.strip()})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        replies = [
            {"content_type": "text", "title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
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
        self._session_of: dict[str, str] = {}  # socket id -> session id
        self.app: Any = None

    async def deliver(self, sio: AsyncServer, sid: str, session_id: str, payload: dict[str, Any]) -> None:
        if sio.manager.is_connected(sid, self.namespace):
            await sio.emit(self.bot_message_evt, payload, to=sid, namespace=self.namespace)
        elif any(True for _ in sio.manager.get_participants(self.namespace, session_id)):
            await sio.emit(self.bot_message_evt, payload, room=session_id, namespace=self.namespace)
        else:
            self.pending.add(session_id, payload)

    async def _join(self, sio: AsyncServer, sid: str, session_id: str) -> None:
        previous = self._session_of.get(sid)
        if previous == session_id:
            return
        if previous is not None:
            await sio.leave_room(sid, previous, namespace=self.namespace)
        await sio.enter_room(sid, session_id, namespace=self.namespace)
        self._session_of[sid] = session_id

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        on_new_message = guard(on_new_message, lambda message: (message.metadata or {}).get("language"))
        # No CORS from engine.io itself ([]): Rasa's --cors answers the HTTP requests, and the origin is
        # checked in `connect` below, for both transports.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        blueprint = ChatBlueprint(self, sio, self.socketio_path, "web_chat_webhook", __name__)
        namespace = self.namespace

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: Mapping[str, Any], auth: Any = None) -> None:
            origin = environ.get("HTTP_ORIGIN")
            if not origin_allowed(origin, self.allowed_origins):
                logger.info("web chat: connection from origin %s refused", origin)
                raise SocketRefused(f"origin {origin} is not allowed")

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str, *_: Any) -> None:
            self._session_of.pop(sid, None)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            asked = data.get("session_id") if isinstance(data, Mapping) else None
            session_id = session_id_or_new(asked)
            await self._join(sio, sid, session_id)
            await sio.emit("session_confirm", session_id, to=sid, namespace=namespace)
            for payload in self.pending.take(session_id):
                await sio.emit(self.bot_message_evt, payload, to=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def user_uttered(sid: str, data: Any = None) -> None:
            try:
                message = read_message(data, self.metadata_key)
            except BadMessage as error:
                await sio.emit(ERROR_EVENT, {"error": str(error)}, to=sid, namespace=namespace)
                return
            session_id = message.session_id or self._session_of.get(sid)
            if session_id is None:
                error = "send session_request first, then user_uttered with the session_id it confirmed"
                await sio.emit(ERROR_EVENT, {"error": error}, to=sid, namespace=namespace)
                return
            # Events of one socket are handled concurrently: this message may overtake its session_request.
            await self._join(sio, sid, session_id)
            output = WebChatOutput(self, sio, sid, session_id)
            try:
                language = message.metadata.get("language")
                if language in LANGUAGES:
                    await set_language(self.app, session_id, language, output)
                await on_new_message(
                    UserMessage(message.text, output, session_id, input_channel=CHANNEL_NAME, metadata=message.metadata)
                )
            except Exception:
                logger.exception("web chat: message of session %s failed", session_id)
                error = "the message could not be processed; please try again"
                await sio.emit(ERROR_EVENT, {"error": error}, to=sid, namespace=namespace)

        return blueprint
