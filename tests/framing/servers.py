"""The three servers as `make up` and `bin/bot web` start them (default settings, SQLite), on free ports: for
the framing tests and bench/http_framing_table.py."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from bot.runtime import ACTIONS_VENV, BotProcesses, child_environment, free_port
from bot.settings import PROJECT_ROOT
from tests.conftest import post_message


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    valid: bytes  # a request the server answers with 2xx, for pipelining and liveness


def start_backoffice(bot: BotProcesses, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    env = {
        **child_environment(),
        "RIS3_HANDOFF_DATABASE_URL": bot.handoff_database_url,
        "RIS3_RASA_URL": bot.url,
        "RIS3_WEB_PORT": str(port),
        "RIS3_WEB_SECRET_KEY": Fernet.generate_key().decode(),
    }
    log = (workdir / "backoffice.log").open("ab")
    process = subprocess.Popen(
        [str(ACTIONS_VENV / "bin" / "python"), "-m", "bot", "web"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (workdir / "backoffice.log").read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return process
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError((workdir / "backoffice.log").read_text())


@contextlib.contextmanager
def running_servers() -> Iterator[dict[str, Server]]:
    workdir = Path(tempfile.mkdtemp(prefix="ris3-framing-"))
    with BotProcesses() as bot:
        bot.start()
        deadline = time.monotonic() + 120
        while "Source:" not in str(post_message(bot.url, "framing-warm-up", "what is smart specialisation?")):
            assert time.monotonic() < deadline, "the bot gives no sourced answer"
            time.sleep(1)
        port = free_port()
        backoffice = start_backoffice(bot, port, workdir)
        try:
            yield {
                "rasa": Server("rasa", bot.rasa_port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                "actions": Server("actions", bot.action_port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"),
                "backoffice": Server("backoffice", port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"),
            }
        finally:
            backoffice.terminate()
            try:
                backoffice.wait(20)
            except subprocess.TimeoutExpired:
                backoffice.kill()
