"""The Bot API client and `bot telegram set-webhook`, against the loopback stand-in (no Rasa needed)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.channels.log_throttle import ThrottledLog
from bot.channels.telegram_api import BotApi, DelayedSends, TelegramConfig, load_credentials, webhook_report
from bot.cli import main
from bot.runtime import PROJECT_ROOT, RASA_VENV, free_port
from tests.telegram.telegram_standin import (
    BOT_USERNAME,
    SECRET,
    TOKEN,
    FakeBotApi,
    message_update,
    new_group_chat,
    new_private_chat,
)


def config_for(api: FakeBotApi, token: str = TOKEN) -> TelegramConfig:
    return TelegramConfig(token=token, secret=SECRET, api_base=api.base_url, bot_username=api.username)


@pytest.mark.asyncio
async def test_one_session_shared_and_closed(telegram_api: FakeBotApi) -> None:
    client = BotApi(config_for(telegram_api))
    assert client._session is None  # nothing opened before the first call
    chat = new_private_chat()
    await client.call("sendMessage", {"chat_id": chat, "text": "one"}, chat_id=chat)
    session = client._session
    await client.call("sendMessage", {"chat_id": chat, "text": "two"}, chat_id=chat)
    assert client._session is session and session is not None
    await client.close()
    assert session.closed
    assert [c.text for c in telegram_api.replies(chat)] == ["one", "two"]


@pytest.mark.asyncio
async def test_429_is_retried_after_retry_after(telegram_api: FakeBotApi) -> None:
    client = BotApi(config_for(telegram_api))
    chat = new_private_chat()
    telegram_api.fail_with_429("sendMessage", chat, retry_after=1, times=2)
    started = time.monotonic()
    result = await client.call("sendMessage", {"chat_id": chat, "text": "after the wait"}, chat_id=chat)
    await client.close()
    assert result is not None and result["text"] == "after the wait"
    assert time.monotonic() - started >= 2.0  # waited 1 s twice
    assert [c.status for c in telegram_api.calls_for("sendMessage", chat)] == [429, 429, 200]


@pytest.mark.asyncio
async def test_429_asking_too_long_a_wait_gives_up(telegram_api: FakeBotApi, caplog: pytest.LogCaptureFixture) -> None:
    client = BotApi(config_for(telegram_api), max_retry_wait=0.5)
    chat = new_private_chat()
    telegram_api.fail_with_429("sendMessage", chat, retry_after=30)
    with caplog.at_level(logging.WARNING):
        assert await client.call("sendMessage", {"chat_id": chat, "text": "x"}, chat_id=chat) is None
    await client.close()
    assert str(chat) in caplog.text and "429" in caplog.text


@pytest.mark.asyncio
async def test_errors_are_logged_with_the_chat_id_only(
    telegram_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    chat = new_private_chat()
    private_text = "my phone is 044 123 4567"
    with caplog.at_level(logging.WARNING):
        client = BotApi(config_for(telegram_api, token="1:wrong-token"))
        assert await client.call("sendMessage", {"chat_id": chat, "text": private_text}, chat_id=chat) is None
        await client.close()
        unreachable = TelegramConfig(token=TOKEN, secret=SECRET, api_base=f"http://127.0.0.1:{free_port()}")
        client = BotApi(unreachable, backoff=0.01)
        assert await client.call("sendMessage", {"chat_id": chat, "text": private_text}, chat_id=chat) is None
        await client.close()
    assert caplog.text.count(str(chat)) == 2
    assert "401" in caplog.text and "ClientConnectorError" in caplog.text
    for secret in (private_text, "wrong-token", TOKEN, TOKEN.split(":")[1]):
        assert secret not in caplog.text


# --- transient errors (issue 12, item 4) ----------------------------------------------------------
@pytest.mark.asyncio
async def test_server_errors_are_retried_with_backoff(
    telegram_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: one 500 from the Bot API and the reply was lost."""
    client = BotApi(config_for(telegram_api), backoff=0.2)
    chat = new_private_chat()
    telegram_api.fail_with(500, "sendMessage", chat)
    telegram_api.fail_with(502, "sendMessage", chat)
    with caplog.at_level(logging.INFO, logger="bot.channels.telegram_api"):
        result = await client.call("sendMessage", {"chat_id": chat, "text": "after two failures"}, chat_id=chat)
    await client.close()
    assert result is not None and result["text"] == "after two failures"
    calls = telegram_api.calls_for("sendMessage", chat)
    assert [c.status for c in calls] == [500, 502, 200]
    assert calls[1].at - calls[0].at >= 0.19 and calls[2].at - calls[1].at >= 0.39  # 0.2 s, then 0.4 s
    assert "retrying" in caplog.text and "sent after 2 retries" in caplog.text


@pytest.mark.asyncio
async def test_a_long_retry_after_queues_the_reply_and_sends_it_when_due(
    telegram_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: a 429 asking for more than the inline wait (60 s in production) dropped the reply. Now the
    call returns at once, the reply waits in the queue with the chat's later replies behind it, in order."""
    client = BotApi(config_for(telegram_api), max_retry_wait=0.2, delayed=DelayedSends())
    chat, other = new_private_chat(), new_private_chat()
    telegram_api.fail_with_429("sendMessage", chat, retry_after=1.5)
    with caplog.at_level(logging.INFO, logger="bot.channels.telegram_api"):
        started = time.monotonic()
        assert await client.call("sendMessage", {"chat_id": chat, "text": "first"}, chat_id=chat) is None
        assert await client.call("sendMessage", {"chat_id": chat, "text": "second"}, chat_id=chat) is None
        assert time.monotonic() - started < 1.0  # nobody waited for the 429's retry_after
        # Another chat is not held up.
        assert await client.call("sendMessage", {"chat_id": other, "text": "elsewhere"}, chat_id=other) is not None
        assert len(client.delayed) == 2  # type: ignore[arg-type]
        await asyncio.wait_for(_until(lambda: len(telegram_api.replies(chat)) == 2), 10)
    await client.close()
    sent = telegram_api.replies(chat)
    assert [c.text for c in sent] == ["first", "second"]
    limited = [c for c in telegram_api.calls_for("sendMessage", chat) if c.status == 429]
    assert len(limited) == 1 and sent[0].at - limited[0].at >= 1.45  # when due, not before
    assert "delayed" in caplog.text and "sent after 1 retry" in caplog.text
    assert "late, after the chat's earlier delayed replies" in caplog.text  # "second": never refused itself


@pytest.mark.asyncio
async def test_the_queue_of_delayed_replies_is_bounded_and_gives_up(
    telegram_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    client = BotApi(config_for(telegram_api), max_retry_wait=0.0,
                    delayed=DelayedSends(per_chat=2, total=3, max_retries=2, retry_delay=0.05))
    chat, second, third = new_private_chat(), new_private_chat(), new_private_chat()
    telegram_api.fail_with_429("sendMessage", chat, retry_after=0.3, times=10)  # never gets through
    telegram_api.fail_with_429("sendMessage", second, retry_after=5, times=1)
    with caplog.at_level(logging.INFO, logger="bot.channels.telegram_api"):
        for text in ("a", "b", "c"):  # the third is one too many for the chat
            await client.call("sendMessage", {"chat_id": chat, "text": text}, chat_id=chat)
        assert "dropped: the queue of delayed replies is full (2 for this chat, 2 in all)" in caplog.text
        await client.call("sendMessage", {"chat_id": second, "text": "d"}, chat_id=second)
        assert len(client.delayed) == 3  # type: ignore[arg-type]
        telegram_api.fail_with_429("sendMessage", third, retry_after=5, times=1)
        await client.call("sendMessage", {"chat_id": third, "text": "e"}, chat_id=third)  # one too many in all
        assert len(client.delayed) == 3 and not client.delayed.holds(third)  # type: ignore[arg-type, union-attr]
        # The chat's two: tried twice more each, then given up.
        await asyncio.wait_for(_until(lambda: not client.delayed.holds(chat)), 10)  # type: ignore[union-attr]
    assert "given up after 2 retries" in caplog.text
    assert telegram_api.replies(chat) == [] and telegram_api.replies(third) == []
    with caplog.at_level(logging.WARNING, logger="bot.channels.telegram_api"):
        await client.close()  # "d" was still waiting: lost, and said so
    assert "1 delayed reply not sent: the server is stopping" in caplog.text
    assert telegram_api.replies(second) == []


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.02)


def test_throttled_log_says_one_line_per_interval_with_the_count_left_out(caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    log = ThrottledLog(logging.getLogger("tests.throttle"), interval=60, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="tests.throttle"):
        assert log.log("refused requests", logging.WARNING, "refused from %s", "a")
        assert not any(log.log("refused requests", logging.WARNING, "refused from %s", "b") for _ in range(99))
        assert log.log("repeated updates", logging.INFO, "update %s again", 7)  # another kind: its own line
        now[0] += 61
        assert log.log("refused requests", logging.WARNING, "refused from %s", "c")
        log.log("refused requests", logging.WARNING, "refused from %s", "d")
        log.flush()
    assert [r.getMessage() for r in caplog.records] == [
        "refused from a", "update 7 again", "refused from c (and 99 more like it in the last 61 s)",
        "1 more refused requests not logged in the last 60 s",
    ]


# --- bot telegram status (issue 12, item 7) ---------------------------------------------------------
def test_status_shows_the_webhooks_state(
    telegram_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RIS3_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("RIS3_TELEGRAM_SECRET", SECRET)
    monkeypatch.setenv("RIS3_TELEGRAM_API_BASE", telegram_api.base_url)
    url = "https://ris3.example.fi/webhooks/telegram/webhook"
    assert main(["telegram", "set-webhook", "--url", url]) == 0
    capsys.readouterr()
    assert main(["telegram", "status"]) == 0
    out = capsys.readouterr().out
    assert f"webhook: {url}" in out and "pending updates: 0" in out and "last error: none" in out
    assert "allowed updates: message, callback_query" in out and TOKEN not in out
    # The secret changed at the bot but not at Telegram: Telegram's deliveries are refused.
    telegram_api.set_webhook_info(pending_update_count=12, last_error_date=int(time.time()) - 120,
                                  last_error_message="Wrong response from the webhook: 403 Forbidden")
    try:
        assert main(["telegram", "status"]) == 3
        out = capsys.readouterr().out
        assert "pending updates: 12" in out and "(2 min ago): Wrong response from the webhook: 403 Forbidden" in out
        assert "set-webhook` again" in out
    finally:
        telegram_api.set_webhook_info(pending_update_count=0, last_error_date=None, last_error_message=None)
    monkeypatch.setenv("RIS3_TELEGRAM_TOKEN", "1:not-the-stand-ins-token")
    assert main(["telegram", "status"]) == 1
    assert "401" in capsys.readouterr().err
    monkeypatch.delenv("RIS3_TELEGRAM_TOKEN")
    assert main(["telegram", "status"]) == 2


def test_status_report_without_a_webhook_and_with_an_old_error() -> None:
    lines, healthy = webhook_report({"url": "", "pending_update_count": 0})
    assert not healthy and "not set" in lines[0]
    old_error = {"url": "https://x.example/hook", "pending_update_count": 0, "last_error_date": 1_000_000,
                 "last_error_message": "Connection refused", "max_connections": 40}
    lines, healthy = webhook_report(old_error, now=1_000_000 + 3 * 3600)
    assert healthy and "last error: 1970-01-12 13:46:40 UTC (3 h ago): Connection refused" in lines
    assert "max connections: 40" in lines


def test_set_webhook_registers_url_secret_and_update_types(
    telegram_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RIS3_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("RIS3_TELEGRAM_SECRET", SECRET)
    monkeypatch.setenv("RIS3_TELEGRAM_API_BASE", telegram_api.base_url)
    before = len(telegram_api.calls_for("setWebhook"))
    url = "https://ris3.example.fi/webhooks/telegram/webhook"
    assert main(["telegram", "set-webhook", "--url", url]) == 0
    calls = telegram_api.calls_for("setWebhook")[before:]
    assert len(calls) == 1 and calls[0].token_ok
    assert calls[0].body == {
        "url": url, "secret_token": SECRET, "allowed_updates": ["message", "callback_query"],
        "drop_pending_updates": False,
    }
    output = capsys.readouterr()
    assert "webhook set" in output.out and TOKEN not in output.out + output.err


def test_set_webhook_refuses_without_secret_or_https(
    telegram_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RIS3_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("RIS3_TELEGRAM_API_BASE", telegram_api.base_url)
    monkeypatch.delenv("RIS3_TELEGRAM_SECRET", raising=False)
    before = len(telegram_api.calls_for("setWebhook"))
    assert main(["telegram", "set-webhook", "--url", "https://ris3.example.fi/webhooks/telegram/webhook"]) == 2
    assert "RIS3_TELEGRAM_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("RIS3_TELEGRAM_SECRET", SECRET)
    assert main(["telegram", "set-webhook", "--url", "http://ris3.example.fi/webhooks/telegram/webhook"]) == 2
    assert "https" in capsys.readouterr().err
    monkeypatch.setenv("RIS3_TELEGRAM_TOKEN", "1:not-the-stand-ins-token")
    assert main(["telegram", "set-webhook", "--url", "https://ris3.example.fi/webhooks/telegram/webhook"]) == 1
    assert "401" in capsys.readouterr().err
    assert len(telegram_api.calls_for("setWebhook")) == before + 1  # only the last one reached the API


def test_credentials_yml_entry_leaves_the_values_to_the_environment() -> None:
    entry = load_credentials(PROJECT_ROOT / "credentials.yml")
    assert entry is not None and not any(entry.values())  # never a token in the repository


CHANNEL_SERVER = """
import logging, sys
from pathlib import Path
from sanic import Sanic
from bot.channels.telegram import TelegramInput
from bot.channels.telegram_api import load_credentials

logging.basicConfig(level=logging.INFO)
logging.getLogger("bot.channels").setLevel(logging.DEBUG)

async def echo(message):  # stands in for the Rasa agent
    await message.output_channel.send_text_message(message.sender_id, "echo: " + message.text)

app = Sanic("telegram_channel_only")
channel = TelegramInput.from_credentials(load_credentials(Path("credentials.yml")))
app.blueprint(channel.blueprint(echo), url_prefix="/webhooks/" + channel.url_prefix())
app.run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False, motd=False)
"""


@contextlib.contextmanager
def channel_server(tmp_path: Path, telegram_env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """The channel alone on a Sanic server in the Rasa runtime (Python 3.10, sanic 21.12, aiohttp 3.9),
    configured from credentials.yml and telegram_env, echoing each message instead of asking Rasa; the
    server is stopped with SIGINT as Ctrl-C does. Yields (base URL of the channel, log file)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIS3_TELEGRAM_")}
    env.update(telegram_env, PYTHONPATH=str(PROJECT_ROOT))
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(RASA_VENV / "bin" / "python"), "-c", CHANNEL_SERVER, str(port)],
                                  cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/webhooks/telegram"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.2)
        yield base, log
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def post(url: str, update: dict, secret: str | None = SECRET) -> int:
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_unconfigured_channel_loads_in_the_rasa_runtime_and_answers_503(tmp_path: Path) -> None:
    """`make up` without Telegram: the channel loads from credentials.yml with no RIS3_TELEGRAM_* set,
    and its webhook answers 503."""
    with channel_server(tmp_path, {}) as (base, log):
        with urllib.request.urlopen(f"{base}/", timeout=5) as response:
            assert json.loads(response.read()) == {"status": "not configured"}
        assert post(f"{base}/webhook", {"update_id": 1}) == 503
    assert "Telegram channel not configured" in log.read_text(errors="replace")


@pytest.fixture()
def own_api() -> Iterator[FakeBotApi]:
    """A stand-in of its own (the shared one must see no getMe: the bot of the e2e tests never asks)."""
    api = FakeBotApi().start()
    yield api
    api.stop()


def test_channel_asks_getme_once_for_groups_only_and_closes_its_session(own_api: FakeBotApi, tmp_path: Path) -> None:
    """Without a configured username: no call at start-up nor for private chats; one getMe at the first
    group message; the shared HTTP session is closed when the server stops."""
    telegram_api = own_api
    env = {"RIS3_TELEGRAM_TOKEN": TOKEN, "RIS3_TELEGRAM_SECRET": SECRET,
           "RIS3_TELEGRAM_API_BASE": telegram_api.base_url}
    private, group = new_private_chat(), new_group_chat()
    get_me_before = len(telegram_api.calls_for("getMe"))
    with channel_server(tmp_path, env) as (base, log):
        assert telegram_api.calls_for(chat_id=private) == [] and len(telegram_api.calls_for("getMe")) == get_me_before
        assert post(f"{base}/webhook", message_update(private, "hello")) == 200
        telegram_api.wait_for(lambda _: bool(telegram_api.replies(private)))
        assert len(telegram_api.calls_for("getMe")) == get_me_before
        for text in ("not for the bot", f"@{BOT_USERNAME} are you there?", f"@{BOT_USERNAME} still there?"):
            assert post(f"{base}/webhook", message_update(group, text)) == 200
        telegram_api.wait_for(lambda _: len(telegram_api.replies(group)) == 2)
        assert [c.text for c in telegram_api.replies(group)] == ["echo: are you there?", "echo: still there?"]
        assert len(telegram_api.calls_for("getMe")) == get_me_before + 1
    text = log.read_text(errors="replace")
    assert "Telegram channel closed" in text and "Unclosed" not in text, text[-2000:]


OUTPUT_CHANNEL = """
import asyncio, json, sys
from bot.channels.telegram import TelegramOutput
from bot.channels.telegram_api import BotApi, TelegramConfig
from bot.channels.telegram_updates import CallbackPayloads

token, base, chat, reply_to, thread, text_file = sys.argv[1:]

async def main():
    api = BotApi(TelegramConfig(token=token, secret="x", api_base=base))
    output = TelegramOutput(api, CallbackPayloads(), reply_to_message_id=int(reply_to), thread_id=int(thread))
    buttons = [{"title": "Short", "payload": "/affirm"},
               {"title": "Long", "payload": "/answer_fact" + json.dumps({"fact_id": "x" * 80})}]
    text = open(text_file, encoding="utf-8").read()
    await output.send_response(chat, {"text": text, "buttons": buttons})
    await api.close()

asyncio.run(main())
"""


def test_output_channel_in_the_rasa_runtime_splits_a_long_reply(telegram_api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """TelegramOutput as the Rasa server runs it (Python 3.10, aiohttp 3.9): a 10 000-character reply
    goes as several messages cut between paragraphs, the first quoting the user's message, every one in the
    forum topic of the user's message (before: only the first, by its quote), the keyboard under the last, a
    payload over 64 bytes as a short key."""
    paragraph = "The strategy's priorities are logistics, renewable energy and digital services. " * 6
    text = "\n\n".join([paragraph.strip()] * 40)[:10_000].rstrip()
    (tmp_path / "reply.txt").write_text(text, encoding="utf-8")
    chat = new_private_chat()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", OUTPUT_CHANNEL, TOKEN, telegram_api.base_url, str(chat), "31",
         "55", str(tmp_path / "reply.txt")],
        cwd=PROJECT_ROOT, env=env, check=True, timeout=120,
    )
    parts = telegram_api.replies(chat)
    assert len(parts) == 3 and all(len(p.text) <= 4096 for p in parts)
    assert "\n\n".join(p.text for p in parts) == text
    assert [("reply_parameters" in p.body) for p in parts] == [True, False, False]
    assert parts[0].body["reply_parameters"]["message_id"] == 31
    assert [p.thread_id for p in parts] == [55, 55, 55]
    assert [("reply_markup" in p.body) for p in parts] == [False, False, True]
    data = [b["callback_data"] for b in parts[-1].buttons]
    assert data[0] == "/affirm" and data[1].startswith("#p:") and len(data[1].encode()) <= 64
    assert all("parse_mode" not in p.body for p in parts)
