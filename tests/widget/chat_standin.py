"""A stand-in for the Rasa server's website chat channel: a real socket.io server (python-socketio on aiohttp,
in a thread of its own) that speaks the protocol of bot/channels/web_chat.py and answers as a test scripts it.

For what the widget must handle but the real bot cannot be made to send on cue: a chosen message length
limit, link quick replies with hostile schemes, a refusal for sending too fast, replies held back until the
test releases them (ten messages pending at once, without any timing)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import socketio
from aiohttp import web

from bot.runtime import free_port

SESSION_ID = "standin-session"
Reply = tuple[str, Any]  # (event, payload)


class StandInChat:
    def __init__(self, max_message_chars: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.max_message_chars = max_message_chars
        self.scripted: dict[str, list[Reply]] = {}  # message -> the events sent back
        self.received: list[dict[str, Any]] = []
        self.sessions: list[str] = []  # sockets that asked for the session, oldest first
        self.holding = False  # replies wait for release()
        self._held: list[tuple[str, list[Reply]]] = []
        self._lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.runner: web.AppRunner | None = None
        self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
        self.sio.on("session_request", self._session_request)
        self.sio.on("user_uttered", self._user_uttered)

    def replies_to(self, message: str) -> list[Reply]:
        return self.scripted.get(message) or [("bot_uttered", {"text": f"You said: {message}", "lang": "en"})]

    async def _session_request(self, sid: str, _: Any = None) -> None:
        with self._lock:
            self.sessions.append(sid)
        await self.sio.emit("session_confirm", SESSION_ID, to=sid)
        await self.sio.emit("chat_limits", {"max_message_chars": self.max_message_chars}, to=sid)

    async def _user_uttered(self, sid: str, data: Any = None) -> None:
        message = str((data or {}).get("message", ""))
        with self._lock:
            self.received.append(dict(data or {}))
            if self.holding:
                self._held.append((sid, self.replies_to(message)))
                return
        await self._send(sid, self.replies_to(message))

    async def _send(self, sid: str, replies: list[Reply]) -> None:
        for event, payload in replies:
            await self.sio.emit(event, payload, to=sid)

    def release(self, count: int) -> None:
        """Sends the replies of the `count` oldest held messages."""
        with self._lock:
            due, self._held = self._held[:count], self._held[count:]

        async def send_all() -> None:
            for sid, replies in due:
                await self._send(sid, replies)

        asyncio.run_coroutine_threadsafe(send_all(), self.loop).result(30)

    def push(self, payload: dict[str, Any]) -> None:
        """A bot message nobody asked for (the project manager's reply) to the latest socket of the session."""
        with self._lock:
            sid = self.sessions[-1]
        asyncio.run_coroutine_threadsafe(self.sio.emit("bot_uttered", payload, to=sid), self.loop).result(30)

    def messages(self) -> list[str]:
        with self._lock:
            return [str(d.get("message", "")) for d in self.received]

    def _run(self) -> None:
        async def start() -> None:
            app = web.Application()
            self.sio.attach(app)
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
            self.ready.set()

        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def __enter__(self) -> StandInChat:
        self.thread.start()
        assert self.ready.wait(30), "the stand-in chat server did not start"
        return self

    def __exit__(self, *_: Any) -> None:
        async def stop() -> None:
            await self.sio.shutdown()  # disconnects the clients and ends engine.io's background tasks
            if self.runner is not None:
                await self.runner.cleanup()
            current = asyncio.current_task()
            rest = [task for task in asyncio.all_tasks() if task is not current]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
