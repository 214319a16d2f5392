"""The website chat channel (bot/channels/web_chat.py) over socket.io against the real Rasa server and
action server: a kept session id continues the Rasa conversation on a new connection, a reply for a page
that has gone reaches the next one, foreign origins are refused, malformed events get `chat_error`."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import socketio

from bot.runtime import BotProcesses

pytestmark = pytest.mark.asyncio
WAIT_SECONDS = 60.0
QUIET_SECONDS = 1.5  # a turn can have several bot messages: collect until none came for this long


class ChatSocket:
    """One page's connection, as the widget makes it (websocket transport, Origin header of the page)."""

    def __init__(self, url: str, origin: str | None = "http://localhost:8000") -> None:
        self.url = url
        self.origin = origin
        self.client = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.errors: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.confirmed: asyncio.Queue[str] = asyncio.Queue()
        self.client.on("bot_uttered", self.replies.put)
        self.client.on("chat_error", self.errors.put)
        self.client.on("session_confirm", self.confirmed.put)

    async def connect(self) -> ChatSocket:
        headers = {"Origin": self.origin} if self.origin else {}
        await self.client.connect(self.url, headers=headers, transports=["websocket"], wait_timeout=30)
        return self

    async def session(self, session_id: Any = None) -> str:
        await self.client.emit("session_request", {"session_id": session_id})
        return await asyncio.wait_for(self.confirmed.get(), WAIT_SECONDS)

    async def send(self, text: str, session_id: str) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": session_id})

    async def turn(self) -> str:
        """The text of the bot's next turn."""
        texts = [(await asyncio.wait_for(self.replies.get(), WAIT_SECONDS)).get("text", "")]
        while True:
            try:
                texts.append((await asyncio.wait_for(self.replies.get(), QUIET_SECONDS)).get("text", ""))
            except asyncio.TimeoutError:
                return "\n".join(texts)

    async def say(self, text: str, session_id: str) -> str:
        await self.send(text, session_id)
        return await self.turn()

    async def close(self) -> None:
        await self.client.disconnect()


@pytest_asyncio.fixture
async def page(bot_url: str) -> AsyncIterator[ChatSocket]:
    chat = await ChatSocket(bot_url).connect()
    try:
        yield chat
    finally:
        await chat.close()


SIGNED_SESSION = re.compile(r"([0-9a-f]{32})-[A-Za-z0-9_-]{22}")


def conversation_of(session_id: str) -> str:
    """The Rasa conversation of a session id the server issued (bot/channels/conversation_ids.py)."""
    match = SIGNED_SESSION.fullmatch(session_id)
    assert match, f"not a session id the server issues: {session_id!r}"
    return f"web:{match.group(1)}"


def user_texts(bot: BotProcesses, session_id: str) -> list[str]:
    path = f"/conversations/{conversation_of(session_id)}/tracker"
    with urllib.request.urlopen(bot.api_url(path), timeout=30) as response:
        events = json.loads(response.read())["events"]
    return [e.get("text") for e in events if e["event"] == "user"]


async def test_a_new_connection_with_the_kept_session_continues_the_conversation(
    bot_url: str, bot_stack: BotProcesses
) -> None:
    first = await ChatSocket(bot_url).connect()
    session_id = await first.session()
    assert SIGNED_SESSION.fullmatch(session_id)
    assert "name" in (await first.say("I'd like to talk to a real person", session_id)).lower()
    await first.close()

    # The page reloads: a new socket asks for the kept session, and the handoff form goes on where it was.
    second = await ChatSocket(bot_url).connect()
    try:
        assert await second.session(session_id) == session_id
        assert "reach you" in await second.say("Aino Esimerkki", session_id)
        assert "cancel" in (await second.say("cancel", session_id)).lower()
    finally:
        await second.close()
    assert user_texts(bot_stack, session_id) == ["I'd like to talk to a real person", "Aino Esimerkki", "cancel"]


async def test_a_reply_for_a_page_that_has_gone_reaches_the_next_page(bot_url: str, bot_stack: BotProcesses) -> None:
    first = await ChatSocket(bot_url).connect()
    session_id = await first.session()
    await first.send("who is the project manager?", session_id)
    # The user clicks a link before the answer comes. (A moment for the message to leave the client: the
    # answer takes longer, so it is nearly always ready after the page has gone, and kept for the next one.)
    await asyncio.sleep(0.05)
    await first.close()
    shown_before_leaving = not first.replies.empty()

    second = await ChatSocket(bot_url).connect()
    try:
        await second.session(session_id)
        if not shown_before_leaving:
            assert "Tolmunen" in await second.turn()
    finally:
        await second.close()
    assert user_texts(bot_stack, session_id) == ["who is the project manager?"]


async def test_two_sessions_do_not_see_each_others_replies(bot_url: str) -> None:
    one, other = await ChatSocket(bot_url).connect(), await ChatSocket(bot_url).connect()
    try:
        one_id, other_id = await one.session(), await other.session()
        assert one_id != other_id
        assert "Tolmunen" in await one.say("who is the project manager?", one_id)
        assert other.replies.empty()
    finally:
        await one.close()
        await other.close()


@pytest.mark.parametrize("origin", ["http://localhost:8000", "http://127.0.0.1:5500", None])
async def test_allowed_origins_and_clients_without_an_origin_connect(bot_url: str, origin: str | None) -> None:
    chat = await ChatSocket(bot_url, origin=origin).connect()
    try:
        assert "Tolmunen" in await chat.say("who is the project manager?", await chat.session())
    finally:
        await chat.close()


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.2:8000", "null"])
async def test_other_origins_are_refused(bot_url: str, origin: str) -> None:
    chat = ChatSocket(bot_url, origin=origin)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await chat.connect()
    assert not chat.client.connected


@pytest.mark.parametrize(
    "payload",
    ["just a string", {"session_id": "abcdef0123456789"}, {"message": 42}, {"message": "hi", "session_id": "../x"}],
    ids=["not-an-object", "no-message", "message-not-text", "bad-session-id"],
)
async def test_malformed_messages_get_an_error_and_the_conversation_goes_on(
    page: ChatSocket, payload: Any, bot_stack: BotProcesses
) -> None:
    session_id = await page.session()
    await page.client.emit("user_uttered", payload)
    error = await asyncio.wait_for(page.errors.get(), WAIT_SECONDS)
    assert error["error"]
    assert "Tolmunen" in await page.say("who is the project manager?", session_id)
    assert user_texts(bot_stack, session_id) == ["who is the project manager?"]


async def test_a_message_before_any_session_is_refused(bot_url: str) -> None:
    chat = await ChatSocket(bot_url).connect()
    try:
        await chat.client.emit("user_uttered", {"message": "hello"})
        assert "session_request" in (await asyncio.wait_for(chat.errors.get(), WAIT_SECONDS))["error"]
    finally:
        await chat.close()


@pytest.mark.parametrize(
    "asked",
    [
        "../../etc/passwd",
        "<b>x</b>",
        "x" * 500,
        12345,
        None,
        # Ids a client chose (the channel used to take any 8-64 letters, digits, _ and -), a forged signature.
        "0123456789abcdef0123456789abcdef",
        "telegram-123456789",
        "0123456789abcdef0123456789abcdef-AAAAAAAAAAAAAAAAAAAAAA",
    ],
)
async def test_a_session_id_we_could_not_have_issued_gets_a_new_one(page: ChatSocket, asked: Any) -> None:
    confirmed = await page.session(asked)
    assert confirmed != asked and SIGNED_SESSION.fullmatch(confirmed)


async def test_odd_texts_get_an_answer(page: ChatSocket) -> None:
    session_id = await page.session()
    for text in ["", "<img src=x onerror=alert(1)>", "\x00\x01 binary"]:
        assert await page.say(text, session_id)
    # Too long for the channel (RIS3_MAX_MESSAGE_CHARS, default 2000): the user reads why, in both languages
    # when the text does not tell which.
    reply = await page.say("y" * 20000, session_id)
    assert "too long" in reply and "2000" in reply and "liian pitkä" in reply


async def test_the_interface_language_sent_with_a_message_sets_the_conversations(page: ChatSocket) -> None:
    session_id = await page.session()

    async def say(text: str, language: str | None = None) -> str:
        data: dict[str, Any] = {"message": text, "session_id": session_id}
        if language:
            data["metadata"] = {"language": language}
        await page.client.emit("user_uttered", data)
        return await page.turn()

    # "RIS3?" does not tell its language: the conversation's decides.
    assert "Lähde:" in await say("RIS3?", "fi")
    assert "Lähde:" in await say("RIS3?")
    assert "Source:" in await say("RIS3?", "en")
    # What the user writes still wins over the interface.
    assert "Lähde:" in await say("kuka on projektipäällikkö?")
    # Not a language we speak, or not a language at all: the client is told, nothing is half-processed.
    for odd in ("xx", ["en"], {"en": 1}):
        data = {"message": "who is the project manager?", "session_id": session_id, "metadata": {"language": odd}}
        await page.client.emit("user_uttered", data)
        assert "language" in (await asyncio.wait_for(page.errors.get(), WAIT_SECONDS))["error"]
    assert "Source:" in await say("who is the project manager?")
