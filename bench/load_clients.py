"""The load benchmark's two clients, each one user's conversation: REST (POST /webhooks/rest/webhook) and
the website chat's socket.io (as the widget speaks it).

Latency of one message:
- REST: from sending the POST until the whole JSON reply has been read.
- socket.io: from emitting `user_uttered` until the last `bot_uttered` of the bot's turn arrived. A turn
  may be several events, and nothing marks its end, so the client waits after each event for a quiet
  period; when none follows, the turn is over and its latency is the arrival time of its last event (the
  quiet period itself is not counted). When a step expects a text (the handoff form), the client waits
  for it beyond the quiet period, so a turn whose parts come slowly under load is not cut in two. Events
  arriving after a turn was closed are counted as `late parts`: many of them mean the quiet period is too
  short for the load.

Failures raise `Failure` with a kind (`http_429`, `http_500`, `timeout`, `connection`, `chat_error`,
`empty_reply`, `apology`, `unexpected_reply`, `no_button`), the figures' error categories.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from load_scripts import APOLOGY, Step

ORIGIN = "http://localhost:8080"  # the widget's page (the back office's demo); loopback origins are allowed


class Failure(Exception):
    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass
class Reply:
    texts: list[str]
    buttons: list[dict[str, str]]  # {"title", "payload"}
    latency: float

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


def check(step: Step, reply: Reply) -> None:
    if not reply.texts:
        raise Failure("empty_reply", step.describe() or "")
    if APOLOGY.search(reply.text):
        raise Failure("apology", step.describe() or "")
    if step.expect and not any(re.search(p, reply.text, re.IGNORECASE) for p in step.expect):
        raise Failure("unexpected_reply", f"{step.describe()!r} -> {reply.text[:160]!r}")


def message_for(step: Step, previous: Reply | None, rng: random.Random) -> str:
    """What the user sends for a step: the typed text, or the payload of a button of the previous reply."""
    if step.press is None:
        assert step.say is not None
        return step.say
    buttons = previous.buttons if previous else []
    matching = [b for b in buttons if b.get("title") == step.press or b.get("payload", "").startswith(step.press)]
    if matching:
        return rng.choice(matching)["payload"]
    if step.say is not None:
        return step.say
    raise Failure("no_button", f"no button {step.press!r} in {previous.text[:160] if previous else ''!r}")


class RestConversation:
    transport = "rest"

    def __init__(self, http: aiohttp.ClientSession, url: str, sender: str, timeout: float) -> None:
        self.http = http
        self.endpoint = f"{url}/webhooks/rest/webhook"
        self.sender = sender
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.connect_seconds: float | None = None  # REST has no connection of its own to time

    async def open(self) -> None:
        return None

    async def send(self, text: str, step: Step) -> Reply:
        started = time.perf_counter()
        try:
            async with self.http.post(
                self.endpoint, json={"sender": self.sender, "message": text}, timeout=self.timeout
            ) as response:
                body = await response.read()
                latency = time.perf_counter() - started
                if response.status != 200:
                    raise Failure(f"http_{response.status}", body[:160].decode(errors="replace"))
        except asyncio.TimeoutError as error:
            raise Failure("timeout", text) from error
        except aiohttp.ClientError as error:
            raise Failure("connection", type(error).__name__) from error
        try:
            messages = json.loads(body)
        except ValueError as error:
            raise Failure("bad_json", body[:160].decode(errors="replace")) from error
        texts = [m["text"] for m in messages if m.get("text")]
        buttons = [b for m in messages for b in m.get("buttons") or []]
        return Reply(texts, buttons, latency)

    async def close(self) -> None:
        return None


@dataclass
class _Inbox:
    events: asyncio.Queue[tuple[float, str, Any]] = field(default_factory=asyncio.Queue)

    def handler(self, name: str) -> Callable[[Any], Any]:
        async def put(data: Any = None) -> None:
            await self.events.put((time.perf_counter(), name, data))

        return put


class SocketConversation:
    transport = "socketio"

    def __init__(self, url: str, timeout: float, quiet: float, on_late_part: Callable[[], None]) -> None:
        self.url = url
        self.timeout = timeout
        self.quiet = quiet
        self.on_late_part = on_late_part
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox = _Inbox()
        for event in ("bot_uttered", "chat_error", "session_confirm"):
            self.client.on(event, self.inbox.handler(event))
        self.session_id: str | None = None
        self.connect_seconds: float | None = None

    async def open(self) -> None:
        """Connects and asks for a new session; connect_seconds is the time until it was confirmed."""
        started = time.perf_counter()
        try:
            await self.client.connect(
                self.url, headers={"Origin": ORIGIN}, transports=["websocket"], wait_timeout=self.timeout
            )
            await self.client.emit("session_request", {"session_id": None})
            while self.session_id is None:
                _, name, data = await asyncio.wait_for(self.inbox.events.get(), self.timeout)
                if name == "session_confirm":
                    # Opaque: used exactly as given (a plain id or a signed token).
                    self.session_id = data
        except asyncio.TimeoutError as error:
            raise Failure("timeout", "session_request") from error
        except (socketio.exceptions.ConnectionError, OSError) as error:
            raise Failure("connection", str(error)[:160]) from error
        self.connect_seconds = time.perf_counter() - started

    async def send(self, text: str, step: Step) -> Reply:
        while not self.inbox.events.empty():  # parts of the previous turn that came after its quiet period
            if self.inbox.events.get_nowait()[1] == "bot_uttered":
                self.on_late_part()
        started = time.perf_counter()
        try:
            data: dict[str, object] = {"message": text, "session_id": self.session_id}
            if step.press is not None and text != step.say:  # a pressed button's payload, sent as the widget does
                data["button"] = True
            await self.client.emit("user_uttered", data)
        except socketio.exceptions.SocketIOError as error:
            raise Failure("connection", str(error)[:160]) from error
        texts: list[str] = []
        buttons: list[dict[str, str]] = []
        last = started
        deadline = started + self.timeout
        while True:
            # The first part may take up to the timeout; later ones the quiet period, or, while the step's
            # expected text has not come yet, up to the timeout too.
            waiting_for_more = texts and (
                not step.expect or any(re.search(p, "\n".join(texts), re.IGNORECASE) for p in step.expect)
            )
            wait = self.quiet if waiting_for_more else deadline - time.perf_counter()
            try:
                arrived, name, data = await asyncio.wait_for(self.inbox.events.get(), max(wait, 0.001))
            except asyncio.TimeoutError as error:
                if texts:
                    return Reply(texts, buttons, last - started)
                raise Failure("timeout", text) from error
            if name == "chat_error":
                raise Failure("chat_error", str((data or {}).get("error", ""))[:160])
            if name != "bot_uttered" or not isinstance(data, dict):
                continue
            last = arrived
            if data.get("text"):
                texts.append(data["text"])
            buttons += [
                {"title": r.get("title", ""), "payload": r.get("payload", "")} for r in data.get("quick_replies") or []
            ]

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # a connection that broke is closed anyway
            await self.client.disconnect()
        while not self.inbox.events.empty():  # parts of the last turn that came after its quiet period
            if self.inbox.events.get_nowait()[1] == "bot_uttered":
                self.on_late_part()
