"""A real load balancer for the scale-out test: Debian's HAProxy, run in the foreground on loopback with
deploy/haproxy.cfg itself (the file a deployment uses), its addresses given in the environment as
deploy/docker-compose.yml gives them. What the test exercises is that file: health checks, retries on
connection failures only, the sticky socket.io backend, the X-Served-By header."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.runtime import free_port
from bot.settings import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "deploy" / "haproxy.cfg"


def haproxy_binary() -> str:
    """The haproxy executable; without one the test is skipped, but fails in CI, which installs it (.ci/run)."""
    found = shutil.which("haproxy") or next(
        (str(p) for p in (Path("/usr/sbin/haproxy"), Path("/usr/local/sbin/haproxy")) if p.is_file()), None
    )
    if found is None:
        reason = "no haproxy binary (Debian: apt-get install haproxy); the scale-out test needs a real balancer"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@dataclass
class Balancer:
    """HAProxy in front of the Rasa servers (`url`) and, on a second port, the action servers."""

    workdir: Path
    rasa: dict[str, str]
    actions: dict[str, str]
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    @property
    def stats_socket(self) -> Path:
        return self.workdir / "haproxy.sock"

    @property
    def log(self) -> Path:
        return self.workdir / "haproxy.log"

    def environment(self) -> dict[str, str]:
        """The variables deploy/haproxy.cfg reads: two Rasa servers and two action servers."""
        assert len(self.rasa) == 2 and len(self.actions) == 2, "deploy/haproxy.cfg names two of each"
        return {
            "RIS3_LB_STATS_SOCKET": str(self.stats_socket),
            "RIS3_LB_RASA_BIND": f"127.0.0.1:{self.rasa_port}",
            "RIS3_LB_ACTIONS_BIND": f"127.0.0.1:{self.actions_port}",
            **{f"RIS3_LB_RASA_{i}": address for i, address in enumerate(self.rasa.values(), 1)},
            **{f"RIS3_LB_ACTIONS_{i}": address for i, address in enumerate(self.actions.values(), 1)},
        }

    def server_name(self, address: str) -> str:
        """HAProxy's name of the Rasa server at `address` (what X-Served-By says)."""
        return f"rasa{list(self.rasa.values()).index(address) + 1}"

    def start(self, timeout: float = 20.0) -> Balancer:
        binary = haproxy_binary()
        env = {**os.environ, **self.environment()}
        checked = subprocess.run([binary, "-c", "-q", "-f", str(CONFIG)], capture_output=True, text=True, env=env)
        assert checked.returncode == 0, f"haproxy refuses {CONFIG}:\n{checked.stdout}{checked.stderr}"
        with self.log.open("wb") as log:
            # -db: stay in the foreground, so that the test owns the process and its end.
            self.process = subprocess.Popen(
                [binary, "-db", "-f", str(CONFIG)], stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited:\n{self.log.read_text(errors='replace')}")
            # Each Rasa server in the backends rasa, rasa_chat and rasa_telegram; each action server in actions.
            if len(self.servers_up()) == 3 * len(self.rasa) + len(self.actions):
                return self
            time.sleep(0.2)
        raise RuntimeError(f"haproxy does not see all servers up: {self.servers_up()}")

    def _command(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.stats_socket))
            s.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def _stats(self) -> dict[str, dict[str, str]]:
        """HAProxy's `show stat` (its runtime API), by "backend/server"."""
        try:
            table = self._command("show stat")
        except OSError:
            return {}
        lines = table.strip().splitlines()
        if not lines or not lines[0].startswith("# "):
            return {}
        header = lines[0][2:].split(",")
        rows = (dict(zip(header, line.split(","), strict=False)) for line in lines[1:])
        return {
            f"{row['pxname']}/{row['svname']}": row for row in rows if row.get("svname") not in ("FRONTEND", "BACKEND")
        }

    def current_sessions(self, server: str) -> int:
        """Requests a server ("rasa/rasa1") is handling now."""
        return int(self._stats().get(server, {}).get("scur") or 0)

    def servers_up(self) -> set[str]:
        """The servers HAProxy's health checks find up, as "backend/server"."""
        return {name for name, row in self._stats().items() if row.get("status", "").startswith("UP")}

    def wait_down(self, name: str, timeout: float = 20.0) -> float:
        """Waits until HAProxy's health checks mark a Rasa server down; returns how long that took."""
        started = time.monotonic()
        while f"rasa/{name}" in self.servers_up():
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"haproxy still sends to {name} after {timeout:.0f} s")
            time.sleep(0.1)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
