"""Two Rasa servers and two action servers on this machine, sharing what a cluster shares: conversations in
PostgreSQL (Rasa's SQL tracker store), conversation locks in Redis (Rasa's Redis lock store), handoff tickets
in PostgreSQL, the website chat's rooms in Redis (RIS3_SOCKETIO_REDIS_URL), and one set of secrets; HAProxy
(deploy/haproxy.cfg) in front of the Rasa servers and, for Rasa's action calls, of the action servers.

Each run gets its own scratch databases, Redis key prefix and socket.io channel, so it never meets another
run (or a developer's bot) on the same PostgreSQL and Redis."""

from __future__ import annotations

import json
import os
import secrets
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.handoff.store import upgrade
from bot.runtime import BotProcesses, StartError
from tests.postgres import POSTGRES_URL, scratch_database, url_of
from tests.scale.balancer import Balancer

REDIS_HOST = os.environ.get("RIS3_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("RIS3_TEST_REDIS_PORT", "6379"))
# How long a conversation stays locked by a server that died holding it (Rasa's TICKET_LOCK_LIFETIME, default
# 60 s): it must exceed the longest turn; shorter here so that the test's retries do not wait a minute.
LOCK_LIFETIME_SECONDS = 15


def redis_command(*args: str, timeout: float = 5.0) -> Any:
    """One Redis command over RESP (the test environment has no Redis client library): the reply decoded."""
    request = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=timeout) as conn:
        conn.sendall(request.encode())
        reader = conn.makefile("rb")

        def read() -> Any:
            line = reader.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:].decode()
            if kind == b"+":
                return rest
            if kind == b"-":
                raise RuntimeError(f"redis: {rest}")
            if kind == b":":
                return int(rest)
            if kind == b"$":
                return None if rest == "-1" else reader.read(int(rest) + 2)[:-2].decode()
            if kind == b"*":
                return None if rest == "-1" else [read() for _ in range(int(rest))]
            raise RuntimeError(f"redis: unexpected reply {line!r}")

        return read()


def require_redis() -> None:
    try:
        assert redis_command("PING") == "PONG"
    except (OSError, AssertionError) as exc:
        reason = f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT} (set RIS3_TEST_REDIS_HOST/PORT): {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def delete_keys(prefix: str) -> None:
    cursor = "0"
    while True:
        cursor, keys = redis_command("SCAN", cursor, "MATCH", f"{prefix}*", "COUNT", "1000")
        if keys:
            redis_command("DEL", *keys)
        if cursor == "0":
            return


# Rasa's own `redis` lock store is not safe across servers (bot/lock_store.py says why); this one is.
LOCK_STORE = "bot.lock_store.AtomicRedisLockStore"


def endpoints(tracker_db: str, actions_url: str, lock_prefix: str, lock_store: str = LOCK_STORE) -> str:
    """The Rasa servers' endpoints file: what docs/deploy.md and deploy/ describe, on loopback."""
    pg = make_url(POSTGRES_URL)
    password = f'\n  password: "{pg.password}"' if pg.password else ""
    return f"""action_endpoint:
  url: "{actions_url}/webhook"
  headers:
    Authorization: Bearer ${{RIS3_ACTION_TOKEN}}
tracker_store:
  type: bot.tracker_store.LeanSQLTrackerStore
  dialect: "postgresql"
  url: "{pg.host or "127.0.0.1"}"
  port: {pg.port or 5432}
  db: "{tracker_db}"
  username: "{pg.username or "postgres"}"{password}
lock_store:
  type: {lock_store}
  url: "{REDIS_HOST}"
  port: {REDIS_PORT}
  db: 0
  key_prefix: "{lock_prefix}"
"""


@dataclass
class Cluster:
    rasa: list[BotProcesses]
    actions: list[BotProcesses]
    balancer: Balancer
    handoff_database_url: str
    tracker_database_url: str
    workers: int
    lock_prefix: str
    started_seconds: float = 0.0

    @property
    def url(self) -> str:
        return self.balancer.url

    def locked(self, conversation: str) -> bool:
        """Whether a server holds or awaits a ticket of the conversation now (the lock store's Redis key)."""
        return bool(redis_command("EXISTS", f"{self.lock_prefix}:lock:{conversation}"))

    def name_of(self, server: BotProcesses) -> str:
        return self.balancer.server_name(f"127.0.0.1:{server.rasa_port}")

    def tracker(self, conversation: str) -> dict[str, Any]:
        """A conversation as the tracker store has it, read through any Rasa server (the API needs the token)."""
        server = next(s for s in self.rasa if s.processes.get("rasa") and s.processes["rasa"].poll() is None)
        url = server.api_url(f"/conversations/{urllib.request.quote(conversation, safe=':')}/tracker")
        with urllib.request.urlopen(url, timeout=30) as response:
            return dict(json.loads(response.read()))


def rss_megabytes(server: BotProcesses, name: str) -> list[int]:
    """Resident memory of a server's processes (the server, then its Sanic workers), in MB: for the report."""
    group = server.processes[name].pid  # each server runs in a process group of its own (bot/runtime.py)
    sizes: list[tuple[int, int]] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:  # pgrp
                status = (stat.parent / "status").read_text()
                kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
                sizes.append((int(stat.parent.name), kb // 1024))
        except (OSError, ValueError, IndexError, StopIteration):
            continue
    return [mb for _, mb in sorted(sizes)]


def post(url: str, sender: str, text: str, timeout: float = 90.0) -> tuple[list[dict[str, Any]], str]:
    """A REST message: (the replies, the X-Served-By header of the balancer, '' straight to a server)."""
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return list(json.loads(response.read())), response.headers.get("X-Served-By", "")


def text_of(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def _warm(server: BotProcesses, deadline: float) -> None:
    """The first answers load the action server's embedding model and Rasa's pipeline: before any timing."""
    while True:
        try:
            replies, _ = post(server.url, f"warm-{secrets.token_hex(4)}", "what is smart specialisation?")
            if "Source:" in text_of(replies):
                return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise StartError(f"{server.url} gives no sourced answer:\n{server.tail('rasa')}")
        time.sleep(1)


@contextmanager
def running_cluster(workers: int = 2, timeout: float = 240.0) -> Iterator[Cluster]:
    """Two Rasa servers (each with `workers` Sanic workers) and two action servers behind HAProxy."""
    require_redis()
    started = time.monotonic()
    run = secrets.token_hex(4)
    with ExitStack() as stack:
        _, tracker_db = stack.enter_context(scratch_database("ris3_scale_tracker"))
        _, handoff_db = stack.enter_context(scratch_database("ris3_scale_handoff"))
        handoff_url = url_of(handoff_db)
        upgrade(handoff_url)  # a deployment migrates once before starting servers (docs/deploy.md)
        lock_prefix = f"ris3scale{run}"  # Rasa takes alphanumeric prefixes only
        stack.callback(delete_keys, lock_prefix)
        workdir = Path(tempfile.mkdtemp(prefix="ris3-scale-"))
        shared = {
            "api_token": secrets.token_hex(24),
            "action_token": secrets.token_hex(24),
            "chat_secret": secrets.token_hex(24),
        }
        env = {
            "RIS3_HANDOFF_DATABASE_URL": handoff_url,
            "RIS3_TRACKER_DATABASE_URL": url_of(tracker_db),
            "RIS3_SOCKETIO_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
            "RIS3_SOCKETIO_REDIS_CHANNEL": f"ris3-scale-{run}",
            "SANIC_WORKERS": str(workers),
            "TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME_SECONDS),
            "RIS3_WIDGET_ALLOWED_ORIGINS": "http://127.0.0.1:*, http://localhost:*",
            # The load part sends one conversation's messages back to back, as fast as they are answered (up to
            # ~20 a second): the limits are set far above that, so a 429 cannot stand in for a lost message.
            "RIS3_RATE_CONVERSATION_BURST": "10000",
            "RIS3_RATE_CONVERSATION_PER_MINUTE": "600000",
        }
        actions = [
            BotProcesses(parts=("actions",), env=dict(env), workdir=_sub(workdir, f"actions{i}"), **shared)
            for i in (1, 2)
        ]
        balancer = Balancer(
            workdir,
            rasa={},
            actions={f"actions{i}": f"127.0.0.1:{a.action_port}" for i, a in enumerate(actions, 1)},
        )
        endpoints_file = workdir / "endpoints.yml"
        endpoints_file.write_text(endpoints(tracker_db, balancer.actions_url, lock_prefix))
        rasa = [
            BotProcesses(
                parts=("rasa",), endpoints=endpoints_file, env=dict(env), workdir=_sub(workdir, f"rasa{i}"), **shared
            )
            for i in (1, 2)
        ]
        balancer.rasa = {f"rasa{i}": f"127.0.0.1:{r.rasa_port}" for i, r in enumerate(rasa, 1)}
        for server in (*actions, *rasa):
            stack.callback(server.stop)
            server.launch()
        for server in (*actions, *rasa):
            server.wait_ready(timeout)
        stack.callback(balancer.stop)
        balancer.start()
        deadline = time.monotonic() + timeout
        for server in rasa:
            _warm(server, deadline)
        yield Cluster(
            rasa=rasa,
            actions=actions,
            balancer=balancer,
            handoff_database_url=handoff_url,
            tracker_database_url=url_of(tracker_db),
            workers=workers,
            lock_prefix=lock_prefix,
            started_seconds=time.monotonic() - started,
        )


def _sub(parent: Path, name: str) -> Path:
    path = parent / name
    path.mkdir(mode=0o700)
    return path
