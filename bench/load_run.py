"""The load benchmark's engine: users having conversations with a bot until told to stop, and what they
measured (bench/load.py starts the bots and prints the figures).

Each user is one person at a time: a conversation (a script of bench/load_scripts.py) over one
transport, a think time before each message, then a pause and a new conversation with a new sender id or
a new socket.io session, until the level's time or message budget is used up. Messages in flight when
the time is up are awaited and counted; conversations are then abandoned. Scheduled handoffs (the soak's
"a handoff every minute") are finished even after the time is up, so that every handoff started can be
checked against the handoff database.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
import proc_stats
from load_clients import Failure, Reply, RestConversation, SocketConversation, check, message_for
from load_scripts import REFERENCE, Script, ScriptChooser

TRANSPORTS = ("rest", "socketio")


@dataclass(frozen=True)
class Target:
    """A bot under load: where it answers, its server processes, and what its users say."""

    name: str
    url: str
    pids: dict[str, int]
    scripts: tuple[Script, ...]


@dataclass
class Series:
    """What the users of one bot over one transport measured."""

    latencies: list[tuple[float, float]] = field(default_factory=list)  # (time received, seconds)
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # seconds per kind of step (question, …)
    connects: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # one message per error kind, for the report
    messages: int = 0  # sent, answered or not
    conversations: int = 0
    finished: int = 0
    late_parts: int = 0

    def error(self, failure: Failure) -> None:
        self.errors[failure.kind] += 1
        self.examples.setdefault(failure.kind, failure.detail)

    def seconds(self, since: float = 0.0, until: float = math.inf) -> list[float]:
        return [s for t, s in self.latencies if since <= t < until]


@dataclass
class Handoff:
    transport: str
    reference: str | None = None  # given by the bot to the client; None: the form did not finish
    failure: str | None = None


@dataclass
class Load:
    """One run of users against one bot: a level of the benchmark, or the soak."""

    target: Target
    think: tuple[float, float]
    quiet: float
    timeout: float
    run_id: str
    seed: int = 1
    messages_budget: int | None = None
    series: dict[str, Series] = field(default_factory=dict)
    handoffs: list[Handoff] = field(default_factory=list)  # finished or failed; abandoned ones are not
    handoffs_started: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    started: float = 0.0
    ended: float = 0.0

    def series_of(self, transport: str) -> Series:
        return self.series.setdefault(transport, Series())

    async def pause(self, seconds: float) -> bool:
        """Sleeps, or returns False at once when the run is told to stop."""
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except asyncio.TimeoutError:
            return True
        return False

    def _take_message(self) -> bool:
        if self.stop.is_set():
            return False
        if self.messages_budget is not None:
            if self.messages_budget <= 0:
                self.stop.set()
                return False
            self.messages_budget -= 1
        return True

    def _conversation(
        self, transport: str, http: aiohttp.ClientSession, sender: str
    ) -> RestConversation | SocketConversation:
        series = self.series_of(transport)
        if transport == "rest":
            return RestConversation(http, self.target.url, sender, self.timeout)

        def late() -> None:
            series.late_parts += 1

        return SocketConversation(self.target.url, self.timeout, self.quiet, late)

    async def converse(
        self, transport: str, script: Script, http: aiohttp.ClientSession, sender: str, rng: random.Random,
        finish: bool = False,
    ) -> Reply | None:
        """One conversation; returns the last reply when the script ran to its end. With `finish`, the
        conversation goes on after the run is told to stop (a scheduled handoff)."""
        series = self.series_of(transport)
        series.conversations += 1
        self.handoffs_started += script.handoff
        conversation = self._conversation(transport, http, sender)
        previous: Reply | None = None
        try:
            await conversation.open()
            if conversation.connect_seconds is not None:
                series.connects.append(conversation.connect_seconds)
            for n, step in enumerate(script.steps):
                if n:
                    think = rng.uniform(*self.think)
                    if finish:
                        await asyncio.sleep(think)
                    elif not await self.pause(think):
                        return None
                if not finish and not self._take_message():
                    return None
                text = message_for(step, previous, rng)
                series.messages += 1
                reply = await conversation.send(text, step)
                series.latencies.append((time.perf_counter(), reply.latency))
                series.by_kind.setdefault(step.kind, []).append(reply.latency)
                check(step, reply)
                previous = reply
        except Failure as failure:
            series.error(failure)
            raise
        except Exception as error:
            # A client-side surprise (a protocol change, a library error) is one more error kind, named.
            failure = Failure("client_error", f"{type(error).__name__}: {error}"[:160])
            series.error(failure)
            raise failure from error
        finally:
            await conversation.close()
        series.finished += 1
        return previous

    async def user(self, index: int, transport: str, chooser: ScriptChooser, http: aiohttp.ClientSession) -> None:
        rng = random.Random(f"{self.seed}-{self.target.name}-{index}")
        number = 0
        # Users do not all start at the same instant, as visitors do not.
        if not await self.pause(rng.uniform(0, self.think[1])):
            return
        while not self.stop.is_set():
            script = chooser.next()
            sender = f"bench-{self.run_id}-{self.target.name}-{index}-{number}"
            number += 1
            try:
                last = await self.converse(transport, script, http, sender, rng)
                if script.handoff and last is not None:
                    self.handoffs.append(_handoff(transport, last))
            except Failure as failure:
                if script.handoff:
                    self.handoffs.append(Handoff(transport, failure=failure.kind))
            # A pause between one visitor's conversation and the next one's.
            if not await self.pause(rng.uniform(*self.think)):
                return

    async def scheduled_handoff(
        self, number: int, transport: str, chooser: ScriptChooser, http: aiohttp.ClientSession
    ) -> None:
        rng = random.Random(f"{self.seed}-handoff-{number}")
        sender = f"bench-{self.run_id}-{self.target.name}-handoff-{number}"
        try:
            last = await self.converse(transport, chooser.handoff(), http, sender, rng, finish=True)
            assert last is not None
            self.handoffs.append(_handoff(transport, last))
        except Failure as failure:
            self.handoffs.append(Handoff(transport, failure=failure.kind))

    async def run(
        self,
        users: list[str],
        duration: float | None,
        handoff_share: float = 0.0,
        handoff_every: float | None = None,
    ) -> None:
        """users: one transport per user. Stops after `duration` seconds or the message budget."""
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            chooser = ScriptChooser(random.Random(f"{self.seed}-{self.target.name}"), self.target.scripts,
                                    handoff_share)
            self.started = time.perf_counter()
            tasks = [asyncio.create_task(self.user(i, t, chooser, http)) for i, t in enumerate(users)]
            scheduled: list[asyncio.Task[None]] = []
            timer = asyncio.create_task(self._stop_after(duration))
            schedule = asyncio.create_task(self._schedule_handoffs(handoff_every, users, chooser, http, scheduled))
            await asyncio.gather(*tasks)
            self.ended = time.perf_counter()
            self.stop.set()
            timer.cancel()
            await schedule
            await asyncio.gather(*scheduled)

    async def _stop_after(self, duration: float | None) -> None:
        if duration is not None:
            await self.pause(duration)
            self.stop.set()

    async def _schedule_handoffs(
        self, every: float | None, users: list[str], chooser: ScriptChooser, http: aiohttp.ClientSession,
        tasks: list[asyncio.Task[None]],
    ) -> None:
        if not every:
            return
        transports = [t for t in TRANSPORTS if t in users] or ["rest"]
        number = 0
        # The first a moment after the start, then one every `every` seconds whatever each one takes.
        while await self.pause(every if number else min(every, 5.0)):
            transport = transports[number % len(transports)]
            tasks.append(asyncio.create_task(self.scheduled_handoff(number, transport, chooser, http)))
            number += 1


def _handoff(transport: str, last: Reply) -> Handoff:
    match = REFERENCE.search(last.text)
    return Handoff(transport, reference=match.group(0) if match else None,
                   failure=None if match else "no_reference")


@dataclass
class Peaks:
    """The processes' peak resident memory over a run, sampled every `every` seconds, and their CPU time."""

    pids: dict[str, int]
    apart: frozenset[int] = frozenset()  # other servers' processes, never counted in these trees
    every: float = 1.0
    rss: dict[str, int] = field(default_factory=dict)
    processes: dict[str, int] = field(default_factory=dict)
    cpu_start: dict[str, float] = field(default_factory=dict)
    cpu_end: dict[str, float] = field(default_factory=dict)
    wait_start: dict[str, float] = field(default_factory=dict)
    wait_end: dict[str, float] = field(default_factory=dict)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def _take(self) -> dict[str, proc_stats.TreeSample]:
        now = proc_stats.sample(self.pids, self.apart)
        for name, tree in now.items():
            self.rss[name] = max(self.rss.get(name, 0), tree.rss_bytes)
            self.processes[name] = max(self.processes.get(name, 0), tree.processes)
        return now

    async def watch(self) -> None:
        # Reading /proc in a thread: a blocked event loop would add to the latencies the users measure.
        first = await asyncio.to_thread(self._take)
        self.cpu_start = {name: s.cpu_seconds for name, s in first.items()}
        self.wait_start = {name: s.runqueue_seconds for name, s in first.items()}
        while True:
            try:
                await asyncio.wait_for(self._stop.wait(), self.every)
                break
            except asyncio.TimeoutError:
                await asyncio.to_thread(self._take)
        last = await asyncio.to_thread(self._take)
        self.cpu_end = {name: s.cpu_seconds for name, s in last.items()}
        self.wait_end = {name: s.runqueue_seconds for name, s in last.items()}

    def finish(self) -> None:
        self._stop.set()
