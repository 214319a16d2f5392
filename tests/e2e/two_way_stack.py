"""The real processes of the two-way handoff for the end-to-end, browser and benchmark runs: the Rasa server
and action server (bot.runtime.BotProcesses), the back office as `bot web` in a process of its own on the
same handoff database, a local SMTP server and the Telegram Bot API stand-in, all wired with one shared
push token. The project manager signs in to the back office's API like a script does."""

from __future__ import annotations

import http.cookiejar
import json
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet

from bot.handoff.store import HandoffStore
from bot.runtime import ACTIONS_VENV, BotProcesses, child_environment, free_port
from bot.settings import PROJECT_ROOT
from bot.web.passwords import hash_password
from tests.conftest import Mailbox, post_message
from tests.telegram.telegram_standin import BOT_USERNAME, SECRET, TOKEN, FakeBotApi

MANAGER_USER = "petri"
MANAGER_CHAT = 5550001
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
REFERENCE = re.compile(r"RIS3-[0-9A-Z]{4}")


@dataclass
class Manager:
    """The project manager's session at the back office (cookies, CSRF token), over plain HTTP."""

    url: str
    password: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)
    csrf: str = ""

    def _open(self, path: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        request = urllib.request.Request(self.url + path, data=data, headers=headers or {})
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def sign_in(self) -> Manager:
        _, page = self._open("/inbox/login")
        match = CSRF_FIELD.search(page)
        assert match, page[:300]
        form = urllib.parse.urlencode({"user": MANAGER_USER, "password": self.password, "csrf_token": match[1]})
        status, _ = self._open("/inbox/login", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200, status  # the redirect to the inbox, followed
        status, body = self._open("/api/session")
        assert status == 200, body
        self.csrf = json.loads(body)["csrf_token"]
        return self

    def reply(self, reference: str, text: str) -> dict[str, Any]:
        status, body = self._open(
            f"/api/tickets/{reference}/replies",
            json.dumps({"text": text}).encode(),
            {"Content-Type": "application/json", "X-CSRF-Token": self.csrf},
        )
        assert status == 201, body
        return dict(json.loads(body))

    def ticket(self, reference: str) -> dict[str, Any]:
        status, body = self._open(f"/api/tickets/{reference}")
        assert status == 200, body
        return dict(json.loads(body))


@dataclass
class TwoWayStack:
    workdir: Path
    mailbox: Mailbox = field(default_factory=Mailbox)
    smtp_port: int = field(default_factory=free_port)
    backoffice_port: int = field(default_factory=free_port)
    push_token: str = field(default_factory=lambda: secrets.token_hex(24))
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    # Kept across restarts of the back office, as in production: the manager stays signed in.
    secret_key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    telegram: FakeBotApi = field(default_factory=FakeBotApi)
    bot: BotProcesses | None = None
    backoffice: subprocess.Popen[bytes] | None = None
    _smtp: Controller | None = None
    _password_hash: str = ""

    @property
    def backoffice_url(self) -> str:
        return f"http://127.0.0.1:{self.backoffice_port}"

    def _shared_env(self) -> dict[str, str]:
        return {
            "RIS3_PUSH_TOKEN": self.push_token,
            "RIS3_HANDOFF_SMTP_HOST": "127.0.0.1",
            "RIS3_HANDOFF_SMTP_PORT": str(self.smtp_port),
            "RIS3_HANDOFF_SMTP_FROM": "ris3-bot@example.fi",
            "RIS3_HANDOFF_MANAGER_EMAIL": "project.manager@example.fi",
            "RIS3_HANDOFF_TELEGRAM_TOKEN": TOKEN,
            "RIS3_HANDOFF_TELEGRAM_API_BASE": self.telegram.base_url,
            "RIS3_HANDOFF_MANAGER_CHAT_ID": str(MANAGER_CHAT),
            "RIS3_TELEGRAM_TOKEN": TOKEN,
            "RIS3_TELEGRAM_SECRET": SECRET,
            "RIS3_TELEGRAM_API_BASE": self.telegram.base_url,
            "RIS3_TELEGRAM_BOT_USERNAME": BOT_USERNAME,
            "RIS3_HANDOFF_BACKOFF_BASE_SECONDS": "1",
            "RIS3_HANDOFF_BACKOFF_MAX_SECONDS": "2",
        }

    def start_smtp(self) -> None:
        self._smtp = Controller(self.mailbox, hostname="127.0.0.1", port=self.smtp_port)
        self._smtp.start()

    def stop_smtp(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None

    def start(self) -> TwoWayStack:
        self.telegram.start()
        self.start_smtp()
        self._password_hash = hash_password(self.password)
        self.bot = BotProcesses(
            env={
                **self._shared_env(),
                "RIS3_BACKOFFICE_URL": self.backoffice_url,
                "RIS3_WIDGET_ALLOWED_ORIGINS": "http://127.0.0.1:*, http://localhost:*",
                "RIS3_RATE_CONVERSATION_BURST": "30",
                "RIS3_TELEGRAM_MAX_RETRY_WAIT": "2",
            }
        ).start()
        self.start_backoffice()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the first answer waits for the embedding model
            replies = post_message(self.bot.url, "two-way-warm-up", "what is smart specialisation?")
            if any("Source:" in (r.get("text") or "") for r in replies):
                break
            time.sleep(1)
        return self

    def start_backoffice(self, timeout: float = 60) -> None:
        assert self.bot is not None
        env = {
            **child_environment(),
            **self._shared_env(),
            "RIS3_HANDOFF_DATABASE_URL": self.bot.handoff_database_url,
            "RIS3_RASA_URL": self.bot.url,
            "RIS3_WEB_PORT": str(self.backoffice_port),
            "RIS3_WEB_MANAGER_USER": MANAGER_USER,
            "RIS3_WEB_MANAGER_PASSWORD_HASH": self._password_hash,
            "RIS3_WEB_SECRET_KEY": self.secret_key,
            "RIS3_WEB_INSECURE_COOKIES": "1",
            "RIS3_WEB_WIDGET_SERVER": self.bot.url,
            "RIS3_WEB_OUTBOX_INTERVAL_SECONDS": "1",
            "RIS3_WEB_LOGIN_DELAY_SECONDS": "0",
        }
        log = (self.workdir / "backoffice.log").open("ab")
        self.backoffice = subprocess.Popen(
            [str(ACTIONS_VENV / "bin" / "python"), "-c", "import sys; from bot.web.serve import run; sys.exit(run())"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, umask=0o077, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.backoffice.poll() is not None:
                raise RuntimeError(f"the back office exited:\n{self.backoffice_log()}")
            try:
                with urllib.request.urlopen(f"{self.backoffice_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the back office did not answer:\n{self.backoffice_log()}")

    def stop_backoffice(self) -> None:
        if self.backoffice is not None and self.backoffice.poll() is None:
            self.backoffice.terminate()
            try:
                self.backoffice.wait(20)
            except subprocess.TimeoutExpired:
                self.backoffice.kill()
                self.backoffice.wait(5)
        self.backoffice = None

    def backoffice_log(self) -> str:
        try:
            return "\n".join((self.workdir / "backoffice.log").read_text(errors="replace").splitlines()[-40:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        self.stop_backoffice()
        if self.bot is not None:
            self.bot.stop()
        self.stop_smtp()
        self.telegram.stop()

    def manager(self) -> Manager:
        return Manager(self.backoffice_url, self.password).sign_in()

    def store(self) -> HandoffStore:
        assert self.bot is not None
        return HandoffStore(self.bot.handoff_database_url)

    def mails_to(self, address: str) -> list[Message]:
        return [m for m in self.mailbox.messages if m["To"] == address]


def wait_until(predicate: Any, timeout: float = 30.0, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


if __name__ == "__main__":  # a stack to try by hand
    import tempfile

    stack = TwoWayStack(Path(tempfile.mkdtemp(prefix="ris3-two-way-"))).start()
    assert stack.bot is not None
    print(f"bot {stack.bot.url}, back office {stack.backoffice_url} (user {MANAGER_USER}, password "
          f"{stack.password})", file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    finally:
        stack.stop()
