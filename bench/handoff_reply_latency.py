"""Time from the project manager's reply (POST /api/tickets/<reference>/replies at the back office) to the
user seeing it, per route, median of N replies (default 10):

    .venv-actions/bin/python bench/handoff_reply_latency.py [--replies 10]

It starts the real processes (tests/e2e/two_way_stack.py: Rasa server, action server, `bot web`, a local SMTP
server and the Telegram Bot API stand-in) and, per route, one ticket of a conversation of that channel:
- website: a socket.io client with an open session receives the pushed bot_uttered;
- telegram: the stand-in receives sendMessage to the user's chat;
- e-mail: the local SMTP server receives the copy;
- rest: the user writes right after the reply; the time until the REST answer carrying it returns (the reply
  itself waits for the user's next message, so this is the shortest a REST user can see it);
- website, page closed: the user opens a page after the reply; from that session_request to the reply.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.handoff.draft import TicketDraft  # noqa: E402
from tests.conftest import post_message  # noqa: E402
from tests.e2e.two_way_stack import TwoWayStack, wait_until  # noqa: E402
from tests.samples import handoff_draft_values  # noqa: E402
from tests.telegram.telegram_standin import new_private_chat  # noqa: E402

ORIGIN = {"Origin": "http://127.0.0.1:8080"}


def _ticket(stack: TwoWayStack, conversation: str, contact: str = "+358 40 765 4321") -> str:
    store = stack.store()
    try:
        draft = TicketDraft(**handoff_draft_values(conversation_id=conversation, contact=contact, language="en"))
        return store.create_ticket(draft, []).reference
    finally:
        store.close()


class Page:
    """A page of the website with the widget open: a socket.io session."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = socketio.AsyncClient(reconnection=False)
        self.messages: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self.session: asyncio.Queue[str] = asyncio.Queue()
        self.client.on("bot_uttered", lambda data: self.messages.put_nowait((time.monotonic(), data)))
        self.client.on("session_confirm", lambda data: self.session.put_nowait(str(data)))

    async def open(self, session_id: str | None = None) -> str:
        await self.client.connect(self.url, headers=ORIGIN, transports=["websocket"], socketio_path="/socket.io")
        await self.client.emit("session_request", {"session_id": session_id})
        return await asyncio.wait_for(self.session.get(), 10)

    async def wait_for(self, text: str) -> float:
        while True:
            at, data = await asyncio.wait_for(self.messages.get(), 30)
            if text in str(data.get("text")):
                return at


async def _website(stack: TwoWayStack, count: int) -> tuple[list[float], list[float]]:
    assert stack.bot is not None
    manager = stack.manager()
    page = Page(stack.bot.url)
    session = await page.open()
    reference = _ticket(stack, "web:" + session.split("-")[0])
    open_page, closed_page = [], []
    for n in range(count):
        text = f"open page reply {n} {uuid.uuid4().hex[:6]}"
        started = time.monotonic()
        await asyncio.to_thread(manager.reply, reference, text)
        open_page.append(await page.wait_for(text) - started)
    await page.client.disconnect()
    for n in range(count):
        text = f"closed page reply {n} {uuid.uuid4().hex[:6]}"
        await asyncio.to_thread(manager.reply, reference, text)
        await asyncio.to_thread(wait_until, lambda: _held(stack, reference), 30, "the kept reply")
        later = Page(stack.bot.url)
        started = time.monotonic()
        await later.open(session)
        closed_page.append(await later.wait_for(text) - started)
        await later.client.disconnect()
    return open_page, closed_page


def _held(stack: TwoWayStack, reference: str) -> bool:
    store = stack.store()
    try:
        thread = store.thread(reference)
        return thread is not None and thread.messages[-1].jobs[0].status == "held"
    finally:
        store.close()


def _telegram(stack: TwoWayStack, count: int) -> list[float]:
    manager = stack.manager()
    chat = new_private_chat()
    reference = _ticket(stack, f"telegram:{chat}")
    seconds = []
    for n in range(count):
        text = f"telegram reply {n} {uuid.uuid4().hex[:6]}"
        started = time.monotonic()
        manager.reply(reference, text)
        call = stack.telegram.wait_for_reply(chat, contains=text)
        seconds.append(call.at - started)
    return seconds


def _email(stack: TwoWayStack, count: int) -> list[float]:
    manager = stack.manager()
    address = f"bench.{uuid.uuid4().hex[:6]}@example.fi"
    reference = _ticket(stack, f"rest:bench-mail-{uuid.uuid4().hex[:6]}", contact=address)
    seconds = []
    for n in range(count):
        started = time.monotonic()
        manager.reply(reference, f"mail reply {n}")
        wait_until(lambda n=n: len(stack.mails_to(address)) > n, 30, "the e-mail")
        seconds.append(time.monotonic() - started)
    return seconds


def _rest(stack: TwoWayStack, count: int) -> list[float]:
    assert stack.bot is not None
    manager = stack.manager()
    sender = f"bench-{uuid.uuid4().hex[:6]}"
    reference = _ticket(stack, f"rest:{sender}")
    seconds = []
    for n in range(count):
        text = f"rest reply {n} {uuid.uuid4().hex[:6]}"
        started = time.monotonic()
        manager.reply(reference, text)
        replies = post_message(stack.bot.url, sender, "hello")
        assert any(text in (r.get("text") or "") for r in replies), replies
        seconds.append(time.monotonic() - started)
    return seconds


def _summary(label: str, seconds: list[float]) -> dict[str, Any]:
    ms = [round(s * 1000) for s in seconds]
    print(f"{label:34} median {statistics.median(ms):6.0f} ms  (min {min(ms)}, max {max(ms)}, n={len(ms)})")
    return {"route": label, "median_ms": statistics.median(ms), "ms": ms}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replies", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    stack = TwoWayStack(Path(tempfile.mkdtemp(prefix="ris3-reply-bench-"))).start()
    try:
        open_page, closed_page = asyncio.run(_website(stack, args.replies))
        results = [
            _summary("website, page open (push)", open_page),
            _summary("website, page opened later", closed_page),
            _summary("telegram", _telegram(stack, args.replies)),
            _summary("e-mail", _email(stack, args.replies)),
            _summary("rest, next message right after", _rest(stack, args.replies)),
        ]
    finally:
        stack.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
