"""deploy/haproxy.cfg routes Telegram's webhook to one Rasa server (the second only when the first is down)
and round-robins REST: run by Debian's HAProxy on loopback in front of two stand-in servers that say who they
are (the real servers behind this file are tested in tests/scale/)."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.runtime import free_port
from bot.settings import PROJECT_ROOT
from tests.scale.balancer import haproxy_binary


class _Named(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = self.server.name.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


def _server(name: str) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Named)
    server.name = name  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture()
def balancer(tmp_path: Path) -> Iterator[tuple[str, http.server.ThreadingHTTPServer]]:
    first, second = _server("rasa-one"), _server("rasa-two")
    port = free_port()
    env = {**os.environ, "RIS3_LB_STATS_SOCKET": str(tmp_path / "stats.sock"),
           "RIS3_LB_RASA_BIND": f"127.0.0.1:{port}", "RIS3_LB_ACTIONS_BIND": f"127.0.0.1:{free_port()}",
           "RIS3_LB_RASA_1": f"127.0.0.1:{first.server_port}", "RIS3_LB_RASA_2": f"127.0.0.1:{second.server_port}",
           "RIS3_LB_ACTIONS_1": f"127.0.0.1:{free_port()}", "RIS3_LB_ACTIONS_2": f"127.0.0.1:{free_port()}"}
    with (tmp_path / "haproxy.log").open("wb") as log:
        proxy = subprocess.Popen([haproxy_binary(), "-db", "-f", str(PROJECT_ROOT / "deploy" / "haproxy.cfg")],
                                 env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        # Both servers checked up (two checks a second apart) before the first request.
        while {_post(url, "/webhooks/rest/webhook") for _ in range(4)} != {"rasa-one", "rasa-two"}:
            assert time.monotonic() < deadline and proxy.poll() is None, (tmp_path / "haproxy.log").read_text()
            time.sleep(0.5)
        yield url, first
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        for server in (first, second):
            server.shutdown()


def _post(url: str, path: str) -> str:
    try:
        with urllib.request.urlopen(urllib.request.Request(url + path, data=b"{}"), timeout=5) as response:
            return response.read().decode()
    except OSError:
        return ""


def test_telegram_goes_to_one_server_and_rest_to_both(balancer: tuple[str, http.server.ThreadingHTTPServer]) -> None:
    url, first = balancer
    assert {_post(url, "/webhooks/telegram/webhook") for _ in range(10)} == {"rasa-one"}
    assert {_post(url, "/webhooks/rest/webhook") for _ in range(10)} == {"rasa-one", "rasa-two"}
    # The first server goes down: once the checks see it, Telegram's updates go to the second.
    first.shutdown()
    first.server_close()
    deadline = time.monotonic() + 15
    while _post(url, "/webhooks/telegram/webhook") != "rasa-two":
        assert time.monotonic() < deadline
        time.sleep(0.5)
