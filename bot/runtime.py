"""Starting the real Rasa server and action server as child processes, for end-to-end tests,
benchmarks and tools that need a running bot. Each instance gets its own ports, endpoints file
and tracker database, so it never touches a bot the user is running."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import PROJECT_ROOT

RASA_VENV = Path(os.environ.get("RIS3_RASA_VENV", PROJECT_ROOT / ".venv-rasa"))
ACTIONS_VENV = Path(os.environ.get("RIS3_ACTIONS_VENV", PROJECT_ROOT / ".venv-actions"))
MODEL = PROJECT_ROOT / "models" / "ris3.tar.gz"


def _reap(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Waits for a terminated server; one whose graceful shutdown drags on (Sanic waits for open
    connections) is killed with its workers."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class StartError(RuntimeError):
    """A server did not come up; the message carries the tail of its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_environment() -> dict[str, str]:
    """The environment the servers and Rasa commands run with: no telemetry, no hub look-ups."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(PROJECT_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        RASA_TELEMETRY_ENABLED="false",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        TOKENIZERS_PARALLELISM="false",
    )
    env.setdefault("RIS3_EMBEDDING_MODEL", str(PROJECT_ROOT / ".cache" / "models" / "multilingual-e5-small"))
    return env


@dataclass
class BotProcesses:
    rasa_port: int = field(default_factory=free_port)
    action_port: int = field(default_factory=free_port)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ris3-bot-")))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Extra environment for both servers (e.g. RIS3_HANDOFF_DATABASE_URL for a test database).
    env: dict[str, str] = field(default_factory=dict)
    started_seconds: float = 0.0
    _launched: float = field(default=0.0, init=False, repr=False)
    # Rasa's HTTP API (trackers, /status) answers only with this token: conversations hold what users typed.
    api_token: str = field(default_factory=lambda: secrets.token_hex(24))
    # What Rasa sends to the action server, which refuses requests without it (bot/action_server.py).
    action_token: str = field(default_factory=lambda: secrets.token_hex(24))
    # Signs the website chat's session ids (bot/channels/conversation_ids.py); kept across a restart.
    chat_secret: str = field(default_factory=lambda: secrets.token_hex(24))
    # Which servers `start` runs. A scale-out runs several Rasa servers and action servers, each instance
    # started alone: ("rasa",) with an `endpoints` file naming the action servers, or ("actions",).
    parts: tuple[str, ...] = ("actions", "rasa")
    # The caller's endpoints file (PostgreSQL tracker store, Redis lock store, action servers behind a
    # balancer) in place of the one written into the workdir (SQLite, this instance's action server).
    endpoints: Path | None = None
    # Where the written endpoints file sends Rasa's action calls (a recording proxy in front of the action
    # server); default this instance's action server.
    action_url: str | None = None

    @property
    def handoff_database_url(self) -> str:
        return self.env.get("RIS3_HANDOFF_DATABASE_URL") or f"sqlite:///{self.workdir / 'handoff.db'}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def api_url(self, path: str) -> str:
        """A URL of Rasa's HTTP API, e.g. api_url("/conversations/x/tracker"), with the token."""
        return f"{self.url}{path}{'&' if '?' in path else '?'}token={self.api_token}"

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def _spawn(self, name: str, args: list[str]) -> None:
        with self.log(name).open("wb") as log:
            self.processes[name] = subprocess.Popen(
                args,
                cwd=PROJECT_ROOT,
                env={
                    **child_environment(),
                    "RIS3_ACTION_TOKEN": self.action_token,
                    "RIS3_CHAT_SECRET": self.chat_secret,
                    **self.env,
                },
                # Tracker and handoff databases hold personal data: files for this user only.
                umask=0o077,
                stdout=log,
                stderr=subprocess.STDOUT,
                # A group of its own: Sanic's worker manager, when a shutdown drags on, kills its whole
                # process group, which would otherwise be ours (the test run, the benchmark).
                start_new_session=True,
            )

    def _wait(self, name: str, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise StartError(f"{name} exited during start-up:\n{self.tail(name)}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise StartError(f"{name} did not answer at {url} within {timeout:.0f} s:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 40) -> str:
        try:
            return "\n".join(self.log(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self, timeout: float = 240.0) -> BotProcesses:
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> BotProcesses:
        """Spawns the servers of `parts` without waiting for them, so that several instances start at once."""
        if "rasa" in self.parts and not MODEL.is_file():
            raise StartError(f"no trained model at {MODEL}: run `make setup` first")
        self._launched = time.monotonic()
        # Tickets of this instance go to its own database unless one is given.
        self.env.setdefault("RIS3_HANDOFF_DATABASE_URL", self.handoff_database_url)
        endpoints = self.endpoints
        if endpoints is None:
            endpoints = self.workdir / "endpoints.yml"
            action_url = self.action_url or f"http://127.0.0.1:{self.action_port}/webhook"
            endpoints.write_text(
                f'action_endpoint:\n  url: "{action_url}"\n'
                '  headers:\n    Authorization: Bearer ${RIS3_ACTION_TOKEN}\n'
                f'tracker_store:\n  type: bot.tracker_store.LeanSQLTrackerStore\n  dialect: "sqlite"\n'
                f'  db: "{self.workdir / "tracker.db"}"\n'
            )
        if "actions" in self.parts:
            self._spawn(
                "actions",
                [str(ACTIONS_VENV / "bin" / "python"), "-m", "bot.action_server", "--actions", "actions",
                 "-p", str(self.action_port)],
            )
        if "rasa" in self.parts:
            self._spawn(
                "rasa",
                [str(RASA_VENV / "bin" / "python"), "-m", "bot.rasa_server", "run", "--enable-api",
                 f"--auth-token={self.api_token}",
                 "-p", str(self.rasa_port),
                 "-m", str(MODEL), "--endpoints", str(endpoints), "--credentials", "credentials.yml"],
            )
        return self

    def wait_ready(self, timeout: float = 240.0) -> BotProcesses:
        """Waits until the launched servers answer; stops them all if one does not."""
        try:
            if "actions" in self.processes:
                self._wait("actions", f"http://127.0.0.1:{self.action_port}/health", timeout)
            if "rasa" in self.processes:
                self._wait("rasa", self.api_url("/status"), timeout)
        except StartError:
            self.stop()
            raise
        self.started_seconds = time.monotonic() - self._launched
        return self

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            _reap(process)
        self.processes.clear()

    def stop_one(self, name: str, grace: float = 20.0) -> list[str]:
        """Stops one server (a test of what happens while it is down); returns its command for `restart`."""
        process = self.processes[name]
        process.terminate()
        _reap(process, grace)
        return [str(a) for a in process.args]  # type: ignore[union-attr]

    def kill(self, name: str) -> list[str]:
        """Kills one server with its workers at once, as a crash or an out-of-memory kill would: no graceful
        shutdown, requests in flight are cut. Returns its command for `restart`."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # its own process group: the server and its Sanic workers
        process.wait()
        # The workers die a moment after the server: until they are gone their listening sockets may still
        # take a connection and then drop it, which a caller timing "after the kill" would count as a
        # message sent to a dead server.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.01)
        return [str(a) for a in process.args]  # type: ignore[union-attr]

    def restart(self, name: str, args: list[str], timeout: float = 240.0) -> None:
        self._spawn(name, args)
        url = self.api_url("/status") if name == "rasa" else f"http://127.0.0.1:{self.action_port}/health"
        self._wait(name, url, timeout)

    def __enter__(self) -> BotProcesses:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


if __name__ == "__main__":
    with BotProcesses() as bot:
        print(f"bot up at {bot.url} in {bot.started_seconds:.1f} s; Ctrl-C stops it", file=sys.stderr)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
