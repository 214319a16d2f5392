"""Prints the website chat's latency over socket.io (bot/channels/web_chat.py), as the widget sees it.

    .venv-actions/bin/python bench/web_chat_latency.py [--url http://localhost:5005] [--requests 100] [--users 1 10]

Without --url it starts its own Rasa server and action server (bot.runtime). Figures:
- connect: opening a WebSocket and getting the session confirmed (what a page load costs before the
  first message can go);
- reply: from sending a question to the first bot message of the answer;
- resume: a new connection with a kept session id until its confirmation (a reload or another page).
The questions cycle through tests/faq/cases/e2e_*.yml; each user is one conversation of ten questions.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The same questions and percentiles as the REST benchmark next to this file.
from latency import percentile, questions  # noqa: E402

from bot.runtime import BotProcesses  # noqa: E402

ORIGIN = {"Origin": "http://localhost:8080"}


class Page:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.confirmed: asyncio.Queue[str] = asyncio.Queue()
        self.client.on("bot_uttered", self.inbox.put)
        self.client.on("session_confirm", self.confirmed.put)

    async def open(self, session_id: str | None = None) -> tuple[str, float]:
        started = time.perf_counter()
        await self.client.connect(self.url, headers=ORIGIN, transports=["websocket"], wait_timeout=30)
        await self.client.emit("session_request", {"session_id": session_id})
        confirmed = await asyncio.wait_for(self.confirmed.get(), 60)
        return confirmed, time.perf_counter() - started

    async def ask(self, session_id: str, text: str) -> float:
        while not self.inbox.empty():  # the rest of an earlier turn
            self.inbox.get_nowait()
        started = time.perf_counter()
        await self.client.emit("user_uttered", {"message": text, "session_id": session_id})
        await asyncio.wait_for(self.inbox.get(), 60)
        return time.perf_counter() - started

    async def close(self) -> None:
        await self.client.disconnect()


async def user(url: str, n: int, count: int, texts: list[str], out: dict[str, list[float]]) -> None:
    done = 0
    while done < count:
        page = Page(url)
        session_id, connect = await page.open()
        out["connect"].append(connect)
        for i in range(min(10, count - done)):
            out["reply"].append(await page.ask(session_id, texts[(n + done + i) % len(texts)]))
            await asyncio.sleep(0.3)  # the client side of the delivery, so the next turn starts clean
        done += min(10, count - done)
        await page.close()
        again = Page(url)
        _, resume = await again.open(session_id)
        out["resume"].append(resume)
        await again.close()


def line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"  {name:8} n={len(ms):4}  p50 {percentile(ms, 0.5):7.0f} ms  p95 {percentile(ms, 0.95):7.0f} ms"
        f"  max {max(ms):7.0f} ms"
    )


async def measure(url: str, users: int, requests: int, texts: list[str]) -> None:
    out: dict[str, list[float]] = {"connect": [], "reply": [], "resume": []}
    started = time.perf_counter()
    await asyncio.gather(*(user(url, n, max(1, requests // users), texts, out) for n in range(users)))
    elapsed = time.perf_counter() - started
    print(f"{users} user(s), {len(out['reply'])} questions in {elapsed:.1f} s (includes 0.3 s pauses per question)")
    for name, values in out.items():
        print(line(name, values))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running Rasa server; default: start one")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--users", type=int, nargs="+", default=[1, 10])
    args = parser.parse_args()
    bot = None if args.url else BotProcesses(env={"RIS3_WIDGET_ALLOWED_ORIGINS": "http://localhost:*"}).start()
    url = args.url or bot.url  # type: ignore[union-attr]
    try:
        texts = questions()

        async def run() -> None:
            await measure(url, 1, 10, texts)  # warm-up: model and embedding loaded
            print("(warm-up above)")
            for users in args.users:
                await measure(url, users, args.requests, texts)

        asyncio.run(run())
    finally:
        if bot is not None:
            bot.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
