"""Load benchmark and soak of the RIS3 assistant over REST and the website chat's socket.io.

    .venv-actions/bin/python bench/load.py [--users 1 20 50] [--duration 60 | --messages 300]
        [--transport rest socketio | both] [--no-default-bot] [--json results.json]
    .venv-actions/bin/python bench/load.py --soak 15m --handoff-every 60 --users 20

Starts its own Rasa server and action server (bot.runtime, own tracker and handoff databases) with
handoff mail going to a local SMTP server in this process, and runs N users per level: each has
conversations of mixed messages (English and Finnish questions, small talk, topic buttons, now and then
the handoff form) with think times, over REST or socket.io (half the users each with `both`). Per level it
prints p50/p95/p99 latency, throughput, errors by kind, CPU and peak resident memory per process. It also
trains (once, cached) and runs the default `rasa init` bot under the REST part of the same load and prints
our REST figures as ratios to it.

--soak runs one steady load for the given time with a handoff every --handoff-every seconds and prints,
over time, resident memory per process and the tracker database's size per conversation; at the end the
handoffs confirmed to the clients against the tickets in the handoff database and the mails received.
The exit status is 1 when a message failed or a ticket or mail is missing. docs/benchmarks.md explains
every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import logging
import math
import os
import random
import re
import sqlite3
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import default_bot  # noqa: E402
import load_report as report  # noqa: E402
import proc_stats  # noqa: E402
from load_run import TRANSPORTS, Load, Peaks, Target  # noqa: E402
from load_scripts import DEFAULT_BOT_SCRIPTS, OUR_SCRIPTS, REFERENCE, Script, Step  # noqa: E402

from bot.handoff.store import HandoffStore  # noqa: E402
from bot.runtime import BotProcesses, free_port  # noqa: E402

# Per-conversation (and per-address) limits of the benchmark's own instance: high, so that the load test
# measures the bot's capacity, not the limits. --keep-rate-limits measures with the instance's defaults.
RATE_LIMITS = {
    "RIS3_RATE_CONVERSATION_PER_MINUTE": "100000",
    "RIS3_RATE_CONVERSATION_BURST": "100000",
    "RIS3_RATE_ADDRESS_PER_MINUTE": "1000000",
    "RIS3_RATE_ADDRESS_BURST": "1000000",
}
WARM_UP_SECONDS = 180.0
MAIL_WAIT_SECONDS = 60.0


class LibraryErrors(logging.Handler):
    """Errors the socket.io client library logs, counted for the report instead of printed in its middle.
    "packet queue is empty, aborting": a client's connection heard nothing from the server (not even its
    pings, every 25 s) for 50 s and gave up writing; a sign of a server too busy to serve its sockets."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.messages[record.getMessage()[:120]] += 1


LIBRARY_ERRORS = LibraryErrors()
for _name in ("engineio.client", "socketio.client"):
    logging.getLogger(_name).addHandler(LIBRARY_ERRORS)
    logging.getLogger(_name).propagate = False


def duration(text: str) -> float:
    """Seconds from '900', '90s', '15m' or '1h'."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 60, 90s, 15m, 1h)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


class Mailbox:
    """The project manager's mailbox: the references of the tickets mailed to it (aiosmtpd handler)."""

    def __init__(self) -> None:
        self.references: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.content
        content = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        for reference in set(REFERENCE.findall(content)):
            self.references[reference] += 1
        return "250 Message accepted for delivery"


@dataclass
class Bench:
    args: argparse.Namespace
    mailbox: Mailbox = field(default_factory=Mailbox)
    ours: BotProcesses | None = None
    theirs: default_bot.DefaultBot | None = None

    # ------------------------------------------------------------------ set-up

    def limits(self) -> dict[str, str]:
        return {} if self.args.keep_rate_limits else dict(RATE_LIMITS)

    def start_ours(self, smtp_port: int) -> BotProcesses:
        env = {
            "RIS3_HANDOFF_SMTP_HOST": "127.0.0.1",
            "RIS3_HANDOFF_SMTP_PORT": str(smtp_port),
            "RIS3_HANDOFF_SMTP_FROM": "ris3-bot@example.fi",
            "RIS3_HANDOFF_MANAGER_EMAIL": "project.manager@example.fi",
            "RIS3_WIDGET_ALLOWED_ORIGINS": "http://localhost:*",
            **self.limits(),
        }
        bot = BotProcesses(env=env)
        if self.args.endpoints is not None:
            # Another tracker and lock store (several Rasa workers need a shared lock store); the file names
            # this instance's action server through ${RIS3_BENCH_ACTION_URL}.
            bot.endpoints = self.args.endpoints
            env["RIS3_BENCH_ACTION_URL"] = f"http://127.0.0.1:{bot.action_port}/webhook"
        if self.args.rasa_workers > 1:
            env["SANIC_WORKERS"] = str(self.args.rasa_workers)
        self.ours = bot.start()
        return self.ours

    async def start_default_bot(self) -> None:
        if not (self.args.default_bot and "rest" in self.args.transports):
            return
        started = time.monotonic()
        if not default_bot.trained_model(default_bot.CACHE / f"rasa-{default_bot.rasa_version()}"):
            print("training the default rasa init bot (once; cached in .cache/bench/default-bot) ...", flush=True)
        project = await asyncio.to_thread(default_bot.prepare)
        trained = time.monotonic() - started
        self.theirs = default_bot.DefaultBot(project)
        await asyncio.to_thread(self.theirs.start)
        print(f"default bot: {project.relative_to(ROOT)} (ready in {trained:.0f} s), "
              f"up in {self.theirs.started_seconds:.1f} s at {self.theirs.url}", flush=True)

    def our_target(self) -> Target:
        assert self.ours is not None
        pids = {f"RIS3 {name}": process.pid for name, process in self.ours.processes.items()}
        return Target("RIS3", self.ours.url, pids, OUR_SCRIPTS)

    def default_target(self) -> Target:
        assert self.theirs is not None and self.theirs.process is not None
        return Target("default", self.theirs.url, {"default rasa": self.theirs.process.pid}, DEFAULT_BOT_SCRIPTS)

    def server_pids(self) -> frozenset[int]:
        """Every bot server (children of this process, but not part of the client)."""
        pids = [p.pid for p in (self.ours.processes.values() if self.ours else [])]
        if self.theirs is not None and self.theirs.process is not None:
            pids.append(self.theirs.process.pid)
        return frozenset(pids)

    def load(self, target: Target, budget: int | None = None) -> Load:
        a = self.args
        # Each run its own sender ids: a level must not continue the conversations of the level before.
        return Load(target, tuple(a.think), a.quiet, a.timeout, uuid.uuid4().hex[:8], a.seed, budget)

    # ------------------------------------------------------------------ databases

    def tracker_stats(self) -> tuple[int, int]:
        """The tracker database's bytes on disk (with its journal) and its conversations."""
        assert self.ours is not None
        path = self.ours.workdir / "tracker.db"
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
        if not path.exists():
            return size, 0
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
            (conversations,) = db.execute("SELECT COUNT(DISTINCT sender_id) FROM events").fetchone()
        return size, int(conversations)

    def ticket_references(self) -> list[str]:
        assert self.ours is not None
        store = HandoffStore(self.ours.handoff_database_url)
        try:
            return [t.reference for t in store.list()]
        except Exception:
            if self.handoff_tables_exist():
                raise
            return []  # the action server creates the tables with its first ticket
        finally:
            store.close()

    def handoff_tables_exist(self) -> bool:
        assert self.ours is not None
        url = self.ours.handoff_database_url
        if not url.startswith("sqlite:///"):
            return True
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            return False
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
            return bool(db.execute("SELECT 1 FROM sqlite_master WHERE name = 'tickets'").fetchone())

    async def handoff_accounting(self, load: Load, tickets_before: set[str]) -> dict[str, Any]:
        """The handoffs the clients saw confirmed, against the tickets written and the mails received."""
        handoffs = load.handoffs
        confirmed = [h.reference for h in handoffs if h.reference]
        deadline = time.monotonic() + MAIL_WAIT_SECONDS
        while any(r not in self.mailbox.references for r in confirmed) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)  # the action server mails each new ticket at once; give it a moment
        stored = set(await asyncio.to_thread(self.ticket_references))
        new = stored - tickets_before
        return {
            "started": load.handoffs_started,
            "confirmed": len(confirmed),
            "failed": dict(Counter(h.failure for h in handoffs if h.failure)),
            "tickets_created": len(new),
            "lost": sorted(r for r in confirmed if r not in stored),
            "unconfirmed_tickets": len(new - set(confirmed)),
            "mailed": sum(1 for r in confirmed if r in self.mailbox.references),
            "mailed_twice": sorted(r for r in confirmed if self.mailbox.references[r] > 1),
        }

    # ------------------------------------------------------------------ warm-up

    async def warm_up(self) -> None:
        """Our first answer waits for the embedding model; the socket.io channel's first connection too."""
        async with aiohttp.ClientSession() as http:
            if self.ours is not None:
                await _until_answered(http, self.ours.url, "what is smart specialisation?", "Source:")
                warm = self.load(self.our_target())
                hello = Script("warm-up", (Step("smalltalk", say="hi"),))
                await warm.converse("socketio", hello, http, f"bench-{warm.run_id}-warm", random.Random(0),
                                    finish=True)
            if self.theirs is not None:
                await _until_answered(http, self.theirs.url, "hello", "")

    # ------------------------------------------------------------------ load levels

    def user_transports(self, users: int) -> list[str]:
        return [self.args.transports[i % len(self.args.transports)] for i in range(users)]

    async def measure(self, load: Load, users: list[str], handoff_share: float,
                      handoff_every: float | None) -> dict[str, Any]:
        pids = {**load.target.pids, "client": os.getpid()}
        peaks = Peaks(pids, self.server_pids())
        watcher = asyncio.create_task(peaks.watch())
        la_before = proc_stats.load_average()
        await load.run(users, None if self.args.messages else self.args.duration, handoff_share, handoff_every)
        peaks.finish()
        await watcher
        summary = report.load_summary(load)
        summary["processes"] = report.peaks_summary(peaks, load.ended - load.started)
        summary["load_average"] = [la_before[0], proc_stats.load_average()[0]]
        return summary

    async def level(self, users: int) -> dict[str, Any]:
        a = self.args
        transports = self.user_transports(users)
        rest_users = transports.count("rest")
        what = " + ".join(f"{transports.count(t)} {label}" for t, label in (("rest", "REST"), ("socketio", "socket.io"))
                          if t in transports)
        span = f"{a.messages} messages" if a.messages else f"{a.duration:.0f} s"
        print(f"\n== {users} user(s), {span} per bot: RIS3 {what}"
              + (f"; default bot {rest_users} REST" if self.theirs and rest_users else ""), flush=True)
        tickets_before = set(await asyncio.to_thread(self.ticket_references))
        library_before = Counter(LIBRARY_ERRORS.messages)
        ours = self.load(self.our_target(), a.messages)
        result: dict[str, Any] = {"users": users, "RIS3": await self.measure(ours, transports, a.handoff_share,
                                                                              a.handoff_every)}
        result["handoffs"] = await self.handoff_accounting(ours, tickets_before)
        result["socketio_library_errors"] = dict(LIBRARY_ERRORS.messages - library_before)
        if self.theirs is not None and rest_users:
            budget = ours.series_of("rest").messages if a.messages else None
            theirs = self.load(self.default_target(), budget)
            result["default"] = await self.measure(theirs, ["rest"] * rest_users, 0.0, None)
        self.print_level(result)
        return result

    def print_level(self, result: dict[str, Any]) -> None:
        rows = [(f"RIS3 {t}", s) for t, s in result["RIS3"]["transports"].items()]
        if "default" in result:
            rows += [(f"default {t}", s) for t, s in result["default"]["transports"].items()]
        for line in report.series_table(rows):
            print(line)
        for label, s in rows:
            if label.startswith("RIS3"):
                print(report.kinds_line(label, s))
        socket = result["RIS3"]["transports"].get("socketio")
        if socket:
            print(f"  socket.io connect + session: p50 {report._ms(socket['connect_p50_ms'])} ms, "
                  f"p95 {report._ms(socket['connect_p95_ms'])} ms; late reply parts {socket['late_parts']}")
        if result.get("socketio_library_errors"):
            print(f"  socket.io client library errors: {result['socketio_library_errors']}")
        h = result["handoffs"]
        if h["started"] or h["tickets_created"]:
            finished = h["confirmed"] + sum(h["failed"].values())
            print(f"  handoffs: {h['started']} started ({h['started'] - finished} abandoned at the end), "
                  f"{h['confirmed']} confirmed to the clients, {h['tickets_created']} tickets created, "
                  f"{len(h['lost'])} lost, {h['mailed']} mailed" + _handoff_trouble(h))
        for bot in ("RIS3", "default"):
            if bot not in result:
                continue
            errors: Counter[str] = Counter()
            examples: dict[str, str] = {}
            for s in result[bot]["transports"].values():
                errors.update(s["errors"])
                for kind, text in s["error_examples"].items():
                    examples.setdefault(kind, text)
            print(f"  {bot} {report.errors_line(errors, examples)}")
        processes = [(name, p) for name, p in result["RIS3"]["processes"].items()]
        if "default" in result:
            processes += [(f"{name} (its phase)", p) for name, p in result["default"]["processes"].items()
                          if name != "client"]
        for line in report.process_table(processes):
            print(line)
        if "default" in result and "rest" in result["RIS3"]["transports"]:
            ours, theirs = result["RIS3"]["transports"]["rest"], result["default"]["transports"]["rest"]
            our_p, their_p = result["RIS3"]["processes"], result["default"]["processes"]
            ratios = {
                "p50": report.ratio(ours["p50_ms"], theirs["p50_ms"]),
                "p95": report.ratio(ours["p95_ms"], theirs["p95_ms"]),
                "p99": report.ratio(ours["p99_ms"], theirs["p99_ms"]),
                "throughput": report.ratio(ours["throughput"], theirs["throughput"]),
                # the one-user target is for knowledge answers, against the default bot's messages
                "questions p50": report.ratio(
                    ours["by_kind"].get("question", {}).get("p50_ms", math.nan), theirs["p50_ms"]),
                "questions p95": report.ratio(
                    ours["by_kind"].get("question", {}).get("p95_ms", math.nan), theirs["p95_ms"]),
                "peak RSS rasa": report.ratio(
                    our_p["RIS3 rasa"]["peak_rss_mb"], their_p["default rasa"]["peak_rss_mb"]),
                "peak RSS rasa+actions": report.ratio(
                    our_p["RIS3 rasa"]["peak_rss_mb"] + our_p["RIS3 actions"]["peak_rss_mb"],
                    their_p["default rasa"]["peak_rss_mb"]),
            }
            result["ratios_rest"] = ratios
            print("  RIS3 / default bot (REST): " + ", ".join(f"{k} {v}" for k, v in ratios.items()))
        la = result["RIS3"]["load_average"]
        print(f"  load average (1 min) {la[0]:.2f} -> {la[1]:.2f} on {os.cpu_count()} cores", flush=True)

    def print_summary(self, levels: list[dict[str, Any]]) -> None:
        print("\n== summary (latency in ms, p50/p95/p99; msg/s)")
        columns = ("RIS3 REST", "RIS3 socket.io", "default REST", "ratio p50/p95/msg/s")
        print(f"  {'users':>5}  " + "  ".join(f"{c:>22}" for c in columns))
        for result in levels:
            cells = []
            for bot, transport in (("RIS3", "rest"), ("RIS3", "socketio"), ("default", "rest")):
                s = result.get(bot, {}).get("transports", {}).get(transport)
                cells.append("-" if not s else
                             f"{report._ms(s['p50_ms'])}/{report._ms(s['p95_ms'])}/{report._ms(s['p99_ms'])}"
                             f" {s['throughput']:.2f}")
            r = result.get("ratios_rest")
            cells.append(f"{r['p50']}/{r['p95']}/{r['throughput']}" if r else "-")
            print(f"  {result['users']:5d}  " + "  ".join(f"{c:>22}" for c in cells))

    # ------------------------------------------------------------------ soak

    async def soak(self) -> dict[str, Any]:
        a = self.args
        (users,) = a.users
        transports = self.user_transports(users)
        split = ", ".join(f"{transports.count(t)} {t}" for t in TRANSPORTS if t in transports)
        print(f"\n== soak: {users} user(s) ({split})"
              f" for {a.soak:.0f} s, a handoff every {a.handoff_every:.0f} s, a sample every {a.sample_every:.0f} s",
              flush=True)
        load = self.load(self.our_target())
        pids = {**load.target.pids, "client": os.getpid()}
        samples: list[dict[str, Any]] = []
        done = asyncio.Event()
        tickets_before = set(await asyncio.to_thread(self.ticket_references))

        async def take(started: float) -> None:
            now = time.perf_counter()
            trees = await asyncio.to_thread(proc_stats.sample, pids, self.server_pids())
            size, conversations = await asyncio.to_thread(self.tracker_stats)
            tickets = len(await asyncio.to_thread(self.ticket_references))
            since = samples[-1]["at"] if samples else started
            window = [1000 * s for series in load.series.values() for s in series.seconds(since, now)]
            row = {
                "at": now, "t": now - started, "conversations": conversations, "tracker_bytes": size,
                "bytes_per_conversation": size / conversations if conversations else math.nan,
                "tickets": tickets,
                "rss_mb": {name: tree.rss_bytes / report.MB for name, tree in trees.items()},
                "messages": sum(s.messages for s in load.series.values()),
                "errors": sum(sum(s.errors.values()) for s in load.series.values()),
                "p95_ms_interval": report.percentile(window, 0.95),
                "load_average": proc_stats.load_average()[0],
            }
            samples.append(row)
            print_sample(row, header=len(samples) == 1)

        async def sampler() -> None:
            started = time.perf_counter()
            await take(started)
            while True:
                try:
                    await asyncio.wait_for(done.wait(), a.sample_every)
                    break
                except asyncio.TimeoutError:
                    await take(started)
            await take(started)

        watcher = asyncio.create_task(sampler())
        library_before = Counter(LIBRARY_ERRORS.messages)
        await load.run(transports, a.soak, 0.0, a.handoff_every)
        handoffs = await self.handoff_accounting(load, tickets_before)
        done.set()
        await watcher
        summary = report.load_summary(load)
        summary["samples"] = [{k: v for k, v in row.items() if k != "at"} for row in samples]
        summary["handoffs"] = handoffs
        summary["socketio_library_errors"] = dict(LIBRARY_ERRORS.messages - library_before)
        self.print_soak(summary)
        return summary

    def print_soak(self, summary: dict[str, Any]) -> None:
        rows = [(f"RIS3 {t}", s) for t, s in summary["transports"].items()]
        print()
        for line in report.series_table(rows):
            print(line)
        errors: Counter[str] = Counter()
        examples: dict[str, str] = {}
        for s in summary["transports"].values():
            errors.update(s["errors"])
            for kind, text in s["error_examples"].items():
                examples.setdefault(kind, text)
        print(f"  {report.errors_line(errors, examples)}")
        if summary["socketio_library_errors"]:
            print(f"  socket.io client library errors: {summary['socketio_library_errors']}")
        h = summary["handoffs"]
        print(f"  handoffs: {h['confirmed']} confirmed to the clients, {h['tickets_created']} tickets in the handoff "
              f"database, {len(h['lost'])} lost{' ' + str(h['lost']) if h['lost'] else ''}, {h['unconfirmed_tickets']} "
              "tickets the clients "
              f"did not see confirmed, {h['mailed']} mailed" + _handoff_trouble(h))
        first, last = summary["samples"][1 if len(summary["samples"]) > 2 else 0], summary["samples"][-1]
        grown = last["conversations"] - first["conversations"]
        print(f"  tracker database: {last['tracker_bytes'] / report.MB:.1f} MB for {last['conversations']} "
              f"conversations = {last['bytes_per_conversation'] / 1024:.1f} KB per conversation")
        for name in last["rss_mb"]:
            growth = last["rss_mb"][name] - first["rss_mb"][name]
            per = f", {1024 * growth / grown:+.1f} KB per conversation" if grown > 0 else ""
            print(f"  {name}: {first['rss_mb'][name]:.0f} MB at t={first['t']:.0f} s -> {last['rss_mb'][name]:.0f} MB "
                  f"at the end ({growth:+.0f} MB over {grown} conversations{per})")

    # ------------------------------------------------------------------ the run

    async def run(self) -> dict[str, Any]:
        await self.warm_up()
        if self.args.soak:
            return {"mode": "soak", "soak": await self.soak()}
        levels = [await self.level(users) for users in self.args.users]
        self.print_summary(levels)
        return {"mode": "load", "levels": levels}


def _handoff_trouble(h: dict[str, Any]) -> str:
    return (f", failed {h['failed']}" if h["failed"] else "") + (
        f", mailed more than once {h['mailed_twice']}" if h["mailed_twice"] else "")


def print_sample(row: dict[str, Any], header: bool) -> None:
    names = list(row["rss_mb"])
    if header:
        print(f"  {'t s':>6} {'conversations':>13} {'tracker MB':>10} {'KB/conv':>8} {'tickets':>7} "
              + " ".join(f"{n + ' MB':>16}" for n in names)
              + f" {'messages':>8} {'errors':>6} {'p95 ms':>7} {'load':>5}")
    print(f"  {row['t']:6.0f} {row['conversations']:13d} {row['tracker_bytes'] / report.MB:10.2f} "
          f"{row['bytes_per_conversation'] / 1024:8.1f} {row['tickets']:7d} "
          + " ".join(f"{row['rss_mb'][n]:16.0f}" for n in names)
          + f" {row['messages']:8d} {row['errors']:6d} {report._ms(row['p95_ms_interval']):>7} "
          f"{row['load_average']:5.2f}", flush=True)


async def _until_answered(http: aiohttp.ClientSession, url: str, text: str, marker: str) -> None:
    deadline = time.monotonic() + WARM_UP_SECONDS
    while True:
        try:
            async with http.post(f"{url}/webhooks/rest/webhook", json={"sender": "bench-warm-up", "message": text},
                                 timeout=aiohttp.ClientTimeout(total=120)) as response:
                replies = await response.json(content_type=None) if response.status == 200 else []
            if any(marker in (r.get("text") or "") for r in replies):
                return
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the bot at {url} gave no answer to {text!r} within {WARM_UP_SECONDS:.0f} s")
        await asyncio.sleep(1)


def is_ok(results: dict[str, Any]) -> bool:
    runs = [results["soak"]] if results["mode"] == "soak" else [
        r[bot] for r in results["levels"] for bot in ("RIS3", "default") if bot in r]
    if results["mode"] == "soak":
        handoffs = [results["soak"]["handoffs"]]
    else:
        handoffs = [r["handoffs"] for r in results["levels"]]
    errors = sum(sum(s["errors"].values()) for run in runs for s in run["transports"].values())
    missing = sum(len(h["lost"]) + h["confirmed"] - h["mailed"] + len(h["mailed_twice"]) for h in handoffs)
    return errors == 0 and missing == 0


def _without_nan(value: Any) -> Any:
    """A figure nobody measured (a percentile of no replies) as null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nan(v) for v in value]
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 20, 50],
                        help="concurrent users per level (one value with --soak)")
    parser.add_argument("--duration", type=duration, default=60.0, help="seconds per level and bot (60, 2m)")
    parser.add_argument("--messages", type=int, help="instead of --duration: messages per level to our bot")
    parser.add_argument("--transport", dest="transports", nargs="+", default=["both"],
                        choices=["rest", "socketio", "both"], help="transports of our bot's users (default both)")
    parser.add_argument("--no-default-bot", dest="default_bot", action="store_false",
                        help="skip the default rasa init bot and the ratios")
    parser.add_argument("--soak", type=duration, help="one steady run of this length (900, 15m) instead of levels")
    parser.add_argument("--handoff-every", type=duration,
                        help="start a handoff every so many seconds (default 60 with --soak, none otherwise)")
    parser.add_argument("--handoff-share", type=float, default=0.1,
                        help="share of load-level conversations that are handoffs (default 0.1; 0 with --soak)")
    parser.add_argument("--sample-every", type=duration, default=60.0, help="soak: seconds between samples")
    parser.add_argument("--think", type=float, nargs=2, default=[2.0, 8.0], metavar=("MIN", "MAX"),
                        help="seconds a user thinks before each message (uniform; default 2 8)")
    parser.add_argument("--quiet", type=float, default=1.0,
                        help="socket.io: seconds without a further bot message that end a turn (default 1)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for a reply")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-rate-limits", action="store_true",
                        help="run our bot with its default rate limits instead of high ones")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--endpoints", type=Path,
                        help="our Rasa server's endpoints file (e.g. bench/endpoints-workers.yml: PostgreSQL, Redis)")
    parser.add_argument("--rasa-workers", type=int, default=1,
                        help="Sanic workers of our Rasa server (SANIC_WORKERS; Rasa needs a shared lock store)")
    args = parser.parse_args(argv)
    args.transports = list(TRANSPORTS) if "both" in args.transports else list(dict.fromkeys(args.transports))
    if args.soak:
        if len(args.users) != 1:
            parser.error("--soak takes one --users value (e.g. --users 20)")
        args.handoff_every = args.handoff_every or 60.0
        args.handoff_share = 0.0
        args.default_bot = False
    if args.think[0] < 0 or args.think[1] < args.think[0]:
        parser.error("--think MIN MAX with 0 <= MIN <= MAX")
    if any(u < 1 for u in args.users):
        parser.error("--users must be at least 1")
    return args


def print_header(args: argparse.Namespace, bench: Bench) -> None:
    la = proc_stats.load_average()
    print(f"RIS3 load benchmark {datetime.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, "
          f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}, rasa {default_bot.rasa_version()}")
    limits = bench.limits()
    if limits:
        print("rate limits of our instance: per conversation "
              f"{limits['RIS3_RATE_CONVERSATION_PER_MINUTE']}/min burst {limits['RIS3_RATE_CONVERSATION_BURST']}, "
              f"per address {limits['RIS3_RATE_ADDRESS_PER_MINUTE']}/min burst {limits['RIS3_RATE_ADDRESS_BURST']} "
              "(loopback exempt by default); message length limit: the default")
    else:
        print("rate limits of our instance: its defaults (--keep-rate-limits)")
    print(f"users think {args.think[0]:g}-{args.think[1]:g} s before each message and between conversations; "
          f"socket.io quiet period {args.quiet:g} s; reply timeout {args.timeout:g} s; seed {args.seed}", flush=True)


async def main_async(args: argparse.Namespace) -> int:
    bench = Bench(args)
    print_header(args, bench)
    smtp_port = free_port()
    controller = Controller(bench.mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        # Both bots start side by side: each spends most of its start-up loading models.
        await asyncio.gather(bench.start_default_bot(), asyncio.to_thread(bench.start_ours, smtp_port))
        assert bench.ours is not None
        print(f"RIS3 bot: up in {bench.ours.started_seconds:.1f} s at {bench.ours.url} "
              f"(work folder {bench.ours.workdir})", flush=True)
        results = await bench.run()
    finally:
        if bench.ours is not None:
            await asyncio.to_thread(bench.ours.stop)
        if bench.theirs is not None:
            await asyncio.to_thread(bench.theirs.stop)
        controller.stop()
    results["ok"] = is_ok(results)
    results["settings"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    results["rate_limits"] = bench.limits() or "defaults"
    if args.json:
        args.json.write_text(json.dumps(_without_nan(results), indent=2, default=str))
    print("\nresult: " + ("no errors, no lost tickets" if results["ok"] else "FAILED: errors or missing tickets/mails"))
    return 0 if results["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
