"""deploy/tls-proxy.cfg, the public address, run by Debian's HAProxy on loopback with a certificate made here,
in front of the real Rasa server and the real back office: the widget's files, the demo page pointing the
widget at the public address, REST and the website chat over TLS, the internal routes closed. Also both
HAProxy files pass `haproxy -c`."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import socketio
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.runtime import ACTIONS_VENV, BotProcesses, child_environment, free_port
from bot.settings import PROJECT_ROOT

HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
pytestmark = pytest.mark.skipif(HAPROXY is None and not os.environ.get("CI"), reason="Debian's haproxy not installed")
TLS_CONFIG = PROJECT_ROOT / "deploy" / "tls-proxy.cfg"


def _certificate(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1, with its key, in the one PEM file HAProxy takes."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ris3 test proxy")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = folder / "proxy.pem"
    pem.write_bytes(
        certificate.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pem.chmod(0o600)
    (folder / "ca.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return pem


def _tls_env(pem: Path, port: int, chat: str, backoffice: str) -> dict[str, str]:
    return {**os.environ, "RIS3_TLS_BIND": f"127.0.0.1:{port}", "RIS3_TLS_CERT": str(pem),
            "RIS3_TLS_CHAT": chat, "RIS3_TLS_BACKOFFICE": backoffice}


def test_both_haproxy_files_pass_haproxys_own_check(tmp_path: Path) -> None:
    assert HAPROXY is not None
    env = _tls_env(_certificate(tmp_path), free_port(), "127.0.0.1:5005", "127.0.0.1:8080")
    checked = subprocess.run([HAPROXY, "-c", "-f", str(TLS_CONFIG)], env=env, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    env.update(RIS3_LB_STATS_SOCKET=str(tmp_path / "stats.sock"), RIS3_LB_RASA_BIND="127.0.0.1:5005",
               RIS3_LB_ACTIONS_BIND="127.0.0.1:5055", RIS3_LB_RASA_1="127.0.0.1:5006", RIS3_LB_RASA_2="127.0.0.1:5007",
               RIS3_LB_ACTIONS_1="127.0.0.1:5056", RIS3_LB_ACTIONS_2="127.0.0.1:5057")
    balancer = PROJECT_ROOT / "deploy" / "haproxy.cfg"
    checked = subprocess.run([HAPROXY, "-c", "-f", str(balancer)], env=env, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "exited during start-up"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


@dataclass
class Public:
    url: str
    context: ssl.SSLContext

    def get(self, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict[str, str], str]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60, context=self.context) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()


@pytest.fixture()
def public(deployed_bot: BotProcesses, tmp_path: Path) -> Iterator[Public]:
    """The proxy on a free port with the test's certificate, in front of the bot and a back office."""
    assert HAPROXY is not None
    pem = _certificate(tmp_path)
    tls_port, web_port = free_port(), free_port()
    url = f"https://127.0.0.1:{tls_port}"
    web_env = {
        **child_environment(),
        "RIS3_WEB_HOST": "127.0.0.1", "RIS3_WEB_PORT": str(web_port),
        "RIS3_WEB_SECRET_KEY": Fernet.generate_key().decode(),
        "RIS3_WEB_SECRET_KEY_FILE": str(tmp_path / "web.key"),
        "RIS3_WEB_WIDGET_SERVER": url, "RIS3_WEB_PUBLIC_URL": url,
        "RIS3_HANDOFF_DATABASE_URL": deployed_bot.handoff_database_url,
        "RIS3_METRICS_TOKEN": deployed_bot.env["RIS3_METRICS_TOKEN"],
    }
    with (tmp_path / "web.log").open("wb") as log:
        web = subprocess.Popen([str(ACTIONS_VENV / "bin" / "python"), "-m", "bot", "web"], cwd=PROJECT_ROOT,
                               env=web_env, stdout=log, stderr=subprocess.STDOUT)
    env = _tls_env(pem, tls_port, f"127.0.0.1:{deployed_bot.rasa_port}", f"127.0.0.1:{web_port}")
    with (tmp_path / "haproxy.log").open("wb") as log:
        proxy = subprocess.Popen([HAPROXY, "-db", "-f", str(TLS_CONFIG)], env=env, stdout=log,
                                 stderr=subprocess.STDOUT)
    try:
        _wait_for_port(web_port, web)
        _wait_for_port(tls_port, proxy)
        yield Public(url, ssl.create_default_context(cafile=str(tmp_path / "ca.pem")))
    finally:
        for process in (proxy, web):
            process.terminate()
            process.wait(timeout=20)


def test_the_public_address_serves_the_widget_and_the_chat_over_tls(
    public: Public, deployed_bot: BotProcesses
) -> None:
    status, headers, script = public.get("/static/widget/widget.js")
    assert status == 200 and "socket" in script
    assert headers.get("strict-transport-security", "").startswith("max-age=")
    status, _, page = public.get("/")
    # The demo page's widget talks to the public address, never to a port of Rasa's own.
    assert status == 200 and f'data-server="{public.url}"' in page

    token = deployed_bot.env["RIS3_REST_TOKEN"]
    question = {"sender": "tls-check", "message": "What are the priorities of the strategy?"}
    assert public.get("/webhooks/rest/webhook", question)[0] == 401
    status, _, body = public.get("/webhooks/rest/webhook", question, token)
    assert status == 200 and "Source:" in body

    assert asyncio.run(_chat_over_wss(public)).count("Source:") == 1


async def _chat_over_wss(public: Public) -> str:
    replies: asyncio.Queue[dict] = asyncio.Queue()
    confirmed: asyncio.Queue[str] = asyncio.Queue()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=public.context)) as session:
        client = socketio.AsyncClient(reconnection=False, http_session=session)
        client.on("bot_uttered", replies.put)
        client.on("session_confirm", confirmed.put)
        await client.connect(public.url, headers={"Origin": "http://localhost:8000"}, transports=["websocket"])
        try:
            await client.emit("session_request", {"session_id": None})
            session_id = await asyncio.wait_for(confirmed.get(), 30)
            await client.emit("user_uttered", {"message": "Who is the project manager?", "session_id": session_id})
            first = await asyncio.wait_for(replies.get(), 60)
            return str(first.get("text", ""))
        finally:
            await client.disconnect()


@pytest.mark.parametrize(
    "path",
    ["/metrics", "/internal/conversations/replies", "/webhooks/socketio/push", "/conversations/x/tracker",
     "/status", "/model/parse"],
)
def test_internal_routes_are_closed_at_the_public_address(
    public: Public, deployed_bot: BotProcesses, path: str
) -> None:
    status, _, _ = public.get(path, {"x": 1}, deployed_bot.env["RIS3_METRICS_TOKEN"])
    assert status == 403


def test_oversized_and_chunked_bodies_stop_at_the_proxy(public: Public) -> None:
    host, port = public.url.removeprefix("https://").split(":")
    big = b"a" * 100_000

    def status_of(headers: dict[str, str], body: bytes) -> int:
        # The proxy answers from the headers and closes while the body is still on its way: the client's write
        # may then fail, and the status is read from what the proxy sent before closing.
        head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": host, **headers}.items())
        if "Transfer-Encoding" not in headers:
            head += f"Content-Length: {len(body)}\r\n"
        raw = socket.create_connection((host, int(port)), timeout=30)
        with public.context.wrap_socket(raw, server_hostname=host) as tls:
            with contextlib.suppress(OSError):
                tls.sendall(f"POST /webhooks/rest/webhook HTTP/1.1\r\n{head}\r\n".encode() + body)
            received = b""
            with contextlib.suppress(OSError):
                while b"\r\n" not in received:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    received += chunk
        return int(received.split(b" ", 2)[1])

    assert status_of({"Content-Type": "application/json"}, big) == 413
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big)
    assert status_of({"Content-Type": "application/json", "Transfer-Encoding": "chunked"}, chunked) == 411


def test_plain_http_gets_no_answer_from_the_tls_port(public: Public) -> None:
    plain = public.url.replace("https://", "http://") + "/"
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(plain, timeout=10).read()
