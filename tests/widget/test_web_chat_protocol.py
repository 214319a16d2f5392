"""What the widget learns from the website chat channel (bot/channels/web_chat.py) beyond Rasa's socket.io
protocol, against the real Rasa server and action server: the message length limit right after
`session_confirm` (whose payload stays the bare session id for third-party clients such as rasa-webchat), and
the language of every reply."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

from bot.runtime import BotProcesses

WAIT_SECONDS = 60.0
QUIET_SECONDS = 1.5  # a turn may have several messages: collected until none came for this long


async def _conversation(url: str, questions: list[str]) -> tuple[list[tuple[str, Any]], list[list[dict[str, Any]]]]:
    """(the events up to the first question, in order; each question's replies)."""
    client = socketio.AsyncClient(reconnection=False)
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    for name in ("session_confirm", "chat_limits", "bot_uttered", "chat_error"):
        client.on(name, lambda data, name=name: events.put_nowait((name, data)))
    await client.connect(url, headers={"Origin": "http://localhost:8000"}, transports=["websocket"], wait_timeout=30)
    try:
        await client.emit("session_request", {"session_id": None})
        opening = [await asyncio.wait_for(events.get(), WAIT_SECONDS) for _ in range(2)]
        session_id = opening[0][1]
        turns = []
        for question in questions:
            await client.emit("user_uttered", {"message": question, "session_id": session_id})
            replies = [await asyncio.wait_for(events.get(), WAIT_SECONDS)]
            while True:
                try:
                    replies.append(await asyncio.wait_for(events.get(), QUIET_SECONDS))
                except asyncio.TimeoutError:
                    break
            assert {name for name, _ in replies} == {"bot_uttered"}, replies
            turns.append([data for _, data in replies])
        return opening, turns
    finally:
        await client.disconnect()


def test_the_limit_follows_session_confirm_and_each_reply_names_its_language(bot_stack: BotProcesses) -> None:
    too_long = ("please tell me about the priorities of the strategy " * 50)[:2001]
    opening, turns = asyncio.run(
        _conversation(bot_stack.url, ["who is the project manager?", "kuka on projektipäällikkö?", "ok", too_long])
    )
    (confirm, session_id), (limits, payload) = opening
    assert confirm == "session_confirm" and isinstance(session_id, str)
    assert limits == "chat_limits" and payload == {"max_message_chars": 2000}
    english, finnish, short, refused = turns
    assert all(reply["lang"] == "en" for reply in english) and "Source:" in english[0]["text"]
    assert all(reply["lang"] == "fi" for reply in finnish) and "Lähde:" in finnish[0]["text"]
    # "ok" does not tell its language: the reply is in the conversation's, and says so.
    assert all(reply["lang"] == "fi" for reply in short)
    # The channel's own refusal (too long) names the language it was said in.
    assert [(reply["lang"], "2000" in reply["text"]) for reply in refused] == [("en", True)]
