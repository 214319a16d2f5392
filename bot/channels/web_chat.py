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
- tells the client, right after `session_confirm`, what is kept about the conversation (`chat_privacy`: the
  notice of privacy.yml in both languages, and the privacy statement's address when staff have set one);
- tells the client, right after `session_confirm` (whose payload stays the session id, for third-party
  clients), the longest message it takes: `chat_limits` {"max_message_chars": N};
- with RIS3_SOCKETIO_REDIS_URL, shares its rooms with the other Rasa servers and Sanic workers through Redis
  (`SharedRooms`, python-socketio's AsyncRedisManager): a reply, a pushed handoff reply or a reply kept while
  the user changed page reaches the session's socket on whichever process holds it (docs/deploy.md);
- marks each `bot_uttered` with the language of the reply, `"lang": "en"|"fi"` (the conversation's `language`
  slot after the turn, else the text's detected language), so that the widget can label it for screen
  readers and offer its interface in that language. A turn's replies are therefore sent when the turn ends.

Runs in the Rasa runtime: Python 3.10, sanic 21.12, python-socketio 5.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer
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
    RecentlySent,
    origin_allowed,
    read_message,
    resolve_origins,
)
from bot.language import detect
from bot.privacy.notice import PrivacyConfigError
from bot.privacy.notice import texts as privacy_texts

logger = logging.getLogger(__name__)

CHANNEL_NAME = "socketio"  # the trackers' input_channel, as with Rasa's own channel
ERROR_EVENT = "chat_error"
LIMITS_EVENT = "chat_limits"
PRIVACY_EVENT = "chat_privacy"
SLOW_DOWN_NOTICE_SECONDS = 10.0  # one "slow down" reply per conversation in this time; chat_error for the rest

REDIS_URL_ENV = "RIS3_SOCKETIO_REDIS_URL"  # e.g. redis://redis.internal:6379/0; unset: one process only
REDIS_CHANNEL_ENV = "RIS3_SOCKETIO_REDIS_CHANNEL"  # the pub/sub channel; one per deployment sharing a Redis
ANNOUNCE_SECONDS = 10.0  # each process repeats which rooms it holds this often ...
FORGET_SECONDS = 3 * ANNOUNCE_SECONDS  # ... and a process silent this long (killed) no longer counts

# Set while the manager itself sends: it must then see its own sockets only (it cannot write to another
# process's socket; the others send to theirs when the emit reaches them through Redis).
_SENDING: contextvars.ContextVar[bool] = contextvars.ContextVar("ris3_web_chat_sending", default=False)

Room = tuple[str, str]  # (namespace, room)


class SharedRooms(AsyncRedisManager):
    """python-socketio's Redis manager, which relays every emit to all processes, plus what it lacks for this
    channel: which rooms (conversations) have sockets in the *other* processes. python-socketio answers
    `get_participants` with this process's sockets only, so with two servers a reply whose user's page had
    moved to the other one was kept instead of sent, and the back office's push (web_chat_push.py) answered
    "no page open" for a page open on the other server.

    Each process publishes the rooms its sockets are in (on a change, at most every 50 ms, and every
    ANNOUNCE_SECONDS) on the same Redis channel; the others keep that for FORGET_SECONDS. `get_participants`
    then lists the sockets of every process; the other processes' ones come with eio_sid None (not
    writable here). `on_room_elsewhere` is told when a room turns up in another process (a user's next page
    landed there), so the channel can send what it kept for that conversation."""

    ROOMS_METHOD = "ris3_rooms"  # a process's rooms; python-socketio's own messages use other method names
    ASK_METHOD = "ris3_rooms_wanted"  # a process that just started asks the others to publish theirs

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url=url, channel=channel)
        # host id -> (monotonic expiry, {room: [sid, ...]})
        self._elsewhere: dict[str, tuple[float, dict[Room, list[str]]]] = {}
        self._changed: asyncio.Event | None = None
        self._announced: dict[Room, list[str]] | None = None
        self.on_room_elsewhere: Callable[[str, str], Awaitable[None]] | None = None

    def initialize(self) -> None:
        super().initialize()  # starts listening to the channel
        self._changed = asyncio.Event()
        self.server.start_background_task(self._announce_loop)

    async def farewell(self) -> None:
        """At a graceful stop: the others stop counting this process's sockets at once."""
        await self._publish({"method": self.ROOMS_METHOD, "host_id": self.host_id, "rooms": [], "ttl": 0})

    # Membership: python-socketio changes it only through these two.
    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: Any = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._mark_changed()

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        self._mark_changed()

    def _mark_changed(self) -> None:
        if self._changed is not None:
            self._changed.set()

    def get_participants(self, namespace: str, room: Any) -> Iterator[tuple[str, Any]]:
        yield from super().get_participants(namespace, room)
        if _SENDING.get() or not isinstance(room, str):
            return
        now = time.monotonic()
        for expiry, rooms in list(self._elsewhere.values()):
            if expiry > now:
                for sid in rooms.get((namespace, room), ()):
                    yield sid, None

    # Sending: python-socketio's own code walks get_participants to write to sockets; only its own ones.
    async def emit(self, *args: Any, **kwargs: Any) -> Any:
        token = _SENDING.set(True)
        try:
            return await super().emit(*args, **kwargs)
        finally:
            _SENDING.reset(token)

    async def _handle_emit(self, message: Any) -> Any:
        token = _SENDING.set(True)
        try:
            return await super()._handle_emit(message)
        finally:
            _SENDING.reset(token)

    def basic_close_room(self, room: Any, namespace: str) -> None:
        token = _SENDING.set(True)
        try:
            super().basic_close_room(room, namespace)
        finally:
            _SENDING.reset(token)

    def _own_rooms(self) -> dict[Room, list[str]]:
        return {
            (namespace, room): sorted(members.keys())
            for namespace, rooms in self.rooms.items()
            for room, members in rooms.items()
            if isinstance(room, str) and members and not self.is_sid_room(namespace, room)
        }

    async def _announce_loop(self) -> None:
        assert self._changed is not None
        await self._publish({"method": self.ASK_METHOD, "host_id": self.host_id})
        while True:
            try:
                await asyncio.wait_for(self._changed.wait(), ANNOUNCE_SECONDS)
                await asyncio.sleep(0.05)  # a page's connect, session_request and first message: one message
            except asyncio.TimeoutError:
                self._announced = None  # the periodic repeat, changed or not
            self._changed.clear()
            try:
                rooms = self._own_rooms()
                if rooms != self._announced:
                    await self._announce(rooms)
            except Exception:  # Redis away: python-socketio logs it and reconnects; try again next round
                logger.warning("web chat: the rooms of this process could not be published", exc_info=True)

    async def _announce(self, rooms: dict[Room, list[str]]) -> None:
        listed = [[namespace, room, sids] for (namespace, room), sids in rooms.items()]
        await self._publish(
            {"method": self.ROOMS_METHOD, "host_id": self.host_id, "rooms": listed, "ttl": FORGET_SECONDS}
        )
        self._announced = rooms

    async def _listen(self) -> Any:
        """python-socketio's messages go on to it; ours are handled here."""
        async for message in super()._listen():
            try:
                data = json.loads(message)
            except (TypeError, ValueError):
                data = None
            method = data.get("method") if isinstance(data, dict) else None
            if method not in (self.ROOMS_METHOD, self.ASK_METHOD):
                yield message
            elif data.get("host_id") != self.host_id:
                await self._directory_message(method, data)

    async def _directory_message(self, method: str, data: dict[str, Any]) -> None:
        try:
            if method == self.ASK_METHOD:
                await self._announce(self._own_rooms())
                return
            host, ttl = str(data["host_id"]), float(data["ttl"])
            rooms = {(str(ns), str(room)): [str(sid) for sid in sids] for ns, room, sids in data["rooms"]}
        except (KeyError, TypeError, ValueError):
            logger.warning("web chat: an unreadable rooms message on the Redis channel")
            return
        now = time.monotonic()
        before = self._elsewhere.get(host)
        known = before[1] if before and before[0] > now else {}
        if ttl > 0:
            self._elsewhere[host] = (now + ttl, rooms)
        else:
            self._elsewhere.pop(host, None)
        for stale in [h for h, (expiry, _) in self._elsewhere.items() if expiry <= now]:
            del self._elsewhere[stale]
        if self.on_room_elsewhere is not None:
            for namespace, room in rooms.keys() - known.keys():
                try:
                    await self.on_room_elsewhere(namespace, room)
                except Exception:
                    logger.exception("web chat: replies kept for %s could not be sent", room)


def shared_rooms() -> SharedRooms | None:
    """The Redis manager when RIS3_SOCKETIO_REDIS_URL is set (several Rasa servers or Sanic workers)."""
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    if not url:
        return None
    return SharedRooms(url, os.environ.get(REDIS_CHANNEL_ENV, "").strip() or "ris3-web-chat")


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
        sio: AsyncServer = self.ctx.sio
        if isinstance(sio.manager, SharedRooms):
            app.register_listener(self._start_manager, "after_server_start")
            app.register_listener(self._stop_manager, "before_server_stop")

    async def _start_manager(self, *_: Any) -> None:
        # python-socketio starts its manager at the first connection; a process must know the others' rooms
        # (and relay their emits) before that, e.g. for a push that arrives before any page connected here.
        sio: AsyncServer = self.ctx.sio
        if not sio.manager_initialized:
            sio.manager_initialized = True
            sio.manager.initialize()

    async def _stop_manager(self, *_: Any) -> None:
        try:
            await self.ctx.sio.manager.farewell()
        except Exception:  # a stop goes on without Redis; the others forget this process after FORGET_SECONDS
            logger.info("web chat: could not tell the other processes that this one stops")


class GuardedSocket(AsyncSocket):
    """engine.io's socket, dropping a packet of a type engine.io does not have (e.g. "9"). engine.io 4.x logs
    the packet's type name before looking at it, so such a packet raised IndexError: a traceback ("Unknown
    receive error") in the log for any client's garbage."""

    on_unknown_packet: Callable[[str], Awaitable[None]] | None = None

    async def receive(self, pkt: eio_packet.Packet) -> None:
        if not 0 <= pkt.packet_type < len(eio_packet.packet_names):
            logger.info("web chat: an engine.io packet of unknown type %s dropped", pkt.packet_type)
            if self.on_unknown_packet is not None:
                await self.on_unknown_packet(self.sid)
            return
        await super().receive(pkt)


class ChatServer(AsyncServer):
    """python-socketio's server, telling the client when a packet cannot be decoded (too deeply nested JSON,
    garbage, an engine.io packet of unknown type) instead of dropping it with a traceback in the log."""

    async def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        # engine.io creates its sockets itself (no class to configure), and this is the first moment one is
        # seen: before its first packet is read. The guarded class adds a check and whom to tell, nothing else.
        socket = self.eio.sockets.get(eio_sid)
        if type(socket) is AsyncSocket:
            socket.__class__ = GuardedSocket
            socket.on_unknown_packet = self._tell_undecodable
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _tell_undecodable(self, eio_sid: str) -> None:
        namespace = "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is not None:
            await self.emit(ERROR_EVENT, {"error": "the packet could not be decoded"}, to=sid, namespace=namespace)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except (ValueError, TypeError, RecursionError) as exc:
            logger.info("web chat: a packet that cannot be decoded (%s)", type(exc).__name__)
            await self._tell_undecodable(eio_sid)


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
        self.recent = RecentlySent()
        self._session_of: dict[str, str] = {}  # socket id -> conversation id
        self._address_of: dict[str, str] = {}  # socket id -> client address
        self.guard = ChannelGuard()
        show_channel_logs()
        self.signer: SessionSigner | None = None  # at blueprint(): the secret may live in a file
        self.app: Any = None

    async def deliver(self, sio: AsyncServer, sid: str, conversation: str, payload: dict[str, Any]) -> None:
        # The id lets a page skip a reply it already shows when one is sent again after a page change.
        payload.setdefault("id", uuid.uuid4().hex[:16])
        if payload.get("conversation_erased") is True:  # the user erased it (actions/privacy.py): keep none of it
            self.pending.take(conversation)
        if sio.manager.is_connected(sid, self.namespace):
            self.recent.add(sid, conversation, payload)
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
        manager = shared_rooms()
        sio = ChatServer(
            async_mode="sanic",
            cors_allowed_origins=[],
            max_http_buffer_size=self.guard.limits.max_request_bytes,
            client_manager=manager,
        )
        if manager is not None:

            async def send_kept(namespace: str, conversation: str) -> None:
                # The session's next page opened on another process: what was kept here goes there.
                if namespace == self.namespace:
                    for payload in self.pending.take(conversation):
                        await sio.emit(self.bot_message_evt, payload, room=conversation, namespace=namespace)

            manager.on_room_elsewhere = send_kept
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
            # Replies sent just before the page went may never have reached it: kept for its next page.
            for conversation, payload in self.recent.take(sid):
                self.pending.add(conversation, payload)
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
            notice = _privacy_notice()
            if notice is not None:  # the widget shows it before the first message (docs/privacy.md)
                await sio.emit(PRIVACY_EVENT, notice, to=sid, namespace=namespace)
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


def _privacy_notice() -> dict[str, Any] | None:
    """The widget's privacy notice; None (logged) when privacy.yml cannot be used, so the chat still works."""
    try:
        return privacy_texts().widget_notice()
    except PrivacyConfigError as exc:
        logger.error("privacy notice not sent: %s", exc)
        return None
