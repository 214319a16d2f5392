"""The limits every channel applies before Rasa sees a message, on an instance with the default limits per
conversation and message, an address limit of 60 a minute (bursts of 20) applied to loopback too
(RIS3_RATE_EXEMPT empty; the defaults of 300/60 are more than this machine answers, see
tests/unit/test_channel_limits.py), and a REST token (RIS3_REST_TOKEN).

Before: a 1 MB REST message took 7 s and slowed other users, 10 MB stalled Rasa for ~40 s; 900 kB of socket.io
metadata per message was stored with each message; 120 messages at once on one socket ended in LockErrors;
nothing limited how fast anyone could send."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.runtime import BotProcesses
from tests.e2e.test_web_chat import ChatSocket, conversation_of

TOKEN = "rest-token-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def guarded() -> Iterator[BotProcesses]:
    env = {
        "RIS3_REST_TOKEN": TOKEN,
        "RIS3_RATE_EXEMPT": "",
        "RIS3_RATE_ADDRESS_PER_MINUTE": "60",
        "RIS3_RATE_ADDRESS_BURST": "20",
    }
    bot = BotProcesses(env=env).start()
    try:
        yield bot
    finally:
        bot.stop()


def post(bot: BotProcesses, body: bytes | dict[str, Any], token: str | None = TOKEN) -> tuple[int, Any, Any]:
    """(status, JSON answer, headers) of a REST request."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{bot.url}/webhooks/rest/webhook", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None, error.headers


def text_of(answer: Any) -> str:
    return "\n".join(m.get("text") or "" for m in answer) if isinstance(answer, list) else ""


def test_rest_needs_the_token_when_one_is_configured(guarded: BotProcesses) -> None:
    body = {"sender": f"t-{uuid.uuid4().hex[:8]}", "message": "who is the project manager?"}
    for token in (None, "wrong", TOKEN + "x"):
        status, answer, headers = post(guarded, body, token)
        assert status == 401 and "Bearer" in answer["error"] and headers["WWW-Authenticate"] == "Bearer"
    status, answer, _ = post(guarded, body)
    assert status == 200 and "Tolmunen" in text_of(answer)


def huge_request(bot: BotProcesses, length: int) -> tuple[int, dict[str, Any]]:
    """A REST request announcing a body of `length` bytes, of which only the first 64 KiB are sent: the
    server must answer from the headers, without waiting for (or reading) the rest."""
    with socket.create_connection(("127.0.0.1", bot.rasa_port), timeout=60) as conn:
        head = (
            f"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        )
        conn.sendall(head.encode() + b'{"sender": "huge", "message": "' + b"x" * 65_000)
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw.split(b"\r\n\r\n", 1)[1]) < 10:
            chunk = conn.recv(65536)
            if not chunk:
                break
            raw += chunk
    head_part, _, body = raw.partition(b"\r\n\r\n")
    return int(head_part.split()[1]), json.loads(body[: body.rindex(b"}") + 1])


def test_a_huge_body_is_refused_unread_and_others_are_answered_meanwhile(guarded: BotProcesses) -> None:
    results: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: results.update(huge=huge_request(guarded, 10_000_000)))
    thread.start()
    status, answer, _ = post(guarded, {"sender": f"n-{uuid.uuid4().hex[:8]}", "message": "what are the priorities?"})
    thread.join(120)
    assert status == 200 and "logistics" in text_of(answer)
    status, refused = results["huge"]
    assert status == 413 and "size limit" in refused["message"]
    # Just over the limit (64 KiB) is refused the same way; the limit is the request's, on every route.
    assert huge_request(guarded, 64 * 1024 + 1)[0] == 413


def test_a_message_over_the_length_limit_is_answered_with_the_limit(guarded: BotProcesses) -> None:
    sender = f"long-{uuid.uuid4().hex[:8]}"
    status, answer, _ = post(guarded, {"sender": sender, "message": "What are the priorities? " * 100})
    assert status == 413 and "at most 2000 characters" in text_of(answer)
    assert "Lyhennä" not in text_of(answer)  # the text is English: the reply too
    # Nothing of it reached the conversation, which goes on.
    status, answer, _ = post(guarded, {"sender": sender, "message": "What are the priorities?"})
    assert status == 200 and "logistics" in text_of(answer)
    events = tracker_events(guarded, f"rest:{sender}")
    assert [e["text"] for e in events if e["event"] == "user"] == ["What are the priorities?"]


def tracker_events(bot: BotProcesses, conversation: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(bot.api_url(f"/conversations/{conversation}/tracker"), timeout=30) as response:
        return json.loads(response.read())["events"]


def test_a_conversation_that_sends_too_fast_is_told_to_slow_down(guarded: BotProcesses) -> None:
    sender = f"fast-{uuid.uuid4().hex[:8]}"
    answers = [post(guarded, {"sender": sender, "message": "hello"}) for _ in range(25)]
    statuses = [status for status, _, _ in answers]
    assert statuses[:10] == [200] * 10 and 429 in statuses[10:]  # bursts of 10, then one every 2 s
    status, answer, headers = next(a for a in answers if a[0] == 429)
    assert int(headers["Retry-After"]) >= 1 and "faster than I can answer" in text_of(answer)
    # Another conversation from elsewhere is not held up.
    status, _, _ = post(guarded, {"sender": f"calm-{uuid.uuid4().hex[:8]}", "message": "hello"})
    assert status == 200


@pytest.mark.asyncio
async def test_120_messages_at_once_on_one_socket(guarded: BotProcesses) -> None:
    chat = await ChatSocket(guarded.url).connect()
    try:
        session_id = await chat.session()
        for _ in range(120):
            await chat.client.emit("user_uttered", {"message": "who is the project manager?", "session_id": session_id})
        replies, errors = [], []
        while True:
            try:
                replies.append(await asyncio.wait_for(chat.replies.get(), 20))
            except asyncio.TimeoutError:
                break
        while not chat.errors.empty():
            errors.append(chat.errors.get_nowait())
        texts = [r.get("text", "") for r in replies]
        answers = [t for t in texts if "Tolmunen" in t]
        slow_down = [t for t in texts if "faster than I can answer" in t]
        # The burst is answered, the rest refused at once: one reply says why, the others are flagged to the client.
        assert len(answers) == 10 and len(slow_down) == 1, texts[:3]
        assert len(errors) == 109 and all(e["code"] == "rate_limited" for e in errors)
        user_messages = [e for e in tracker_events(guarded, conversation_of(session_id)) if e["event"] == "user"]
        assert len(user_messages) == 10
    finally:
        await chat.close()
    assert "LockError" not in guarded.log("rasa").read_text(errors="replace")


@pytest.mark.asyncio
async def test_socket_metadata_is_bounded(guarded: BotProcesses) -> None:
    chat = await ChatSocket(guarded.url).connect()
    try:
        session_id = await chat.session()
        # Metadata the bot does not use is not stored: only the language.
        metadata = {"language": "en", "page": "/", "blob": "x" * 40_000}
        await chat.client.emit("user_uttered", {"message": "hello", "session_id": session_id, "metadata": metadata})
        assert await chat.turn()
        (user,) = [e for e in tracker_events(guarded, conversation_of(session_id)) if e["event"] == "user"]
        # Rasa adds its own model_id and assistant_id; of the client's, only the language is kept.
        kept = {k: v for k, v in user["metadata"].items() if k not in ("model_id", "assistant_id")}
        assert kept == {"language": "en"}
    finally:
        await chat.close()

    # A packet over the request size limit (64 KiB) is not taken at all: engine.io closes that connection.
    big = await ChatSocket(guarded.url).connect()
    closed = asyncio.Event()
    big.client.on("disconnect", closed.set)
    session_id = await big.session()
    await big.client.emit("user_uttered", {"message": "hi", "session_id": session_id, "metadata": {"b": "x" * 900_000}})
    await asyncio.wait_for(closed.wait(), 30)
    events = tracker_events(guarded, conversation_of(session_id))
    assert [e for e in events if e["event"] == "user"] == []


@pytest.mark.asyncio
async def test_a_packet_that_cannot_be_decoded_gets_an_error(guarded: BotProcesses) -> None:
    chat = await ChatSocket(guarded.url).connect()
    try:
        session_id = await chat.session()
        nested = "[" * 20000 + "]" * 20000
        await chat.client.eio.send(f'42["user_uttered",{nested}]')
        error = await asyncio.wait_for(chat.errors.get(), 30)
        assert "decoded" in error["error"]
        assert "Tolmunen" in await chat.say("who is the project manager?", session_id)  # the socket goes on
    finally:
        await chat.close()


def test_one_address_is_limited_across_conversations(guarded: BotProcesses) -> None:
    # Here 60 a minute, bursts of 20, for the whole address (loopback too on this instance). Messages over the
    # limit are refused before any processing.
    def one(n: int) -> int:
        return post(guarded, {"sender": f"addr-{n}-{uuid.uuid4().hex[:6]}", "message": "/greet"})[0]

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(one, range(200)))
    assert set(statuses) == {200, 429} and statuses.count(200) >= 10
    status, answer, headers = post(guarded, {"sender": f"addr-{uuid.uuid4().hex[:6]}", "message": "/greet"})
    assert status == 429 and "faster than I can answer" in text_of(answer) and int(headers["Retry-After"]) >= 1

