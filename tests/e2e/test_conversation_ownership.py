"""Nobody reads or steers another person's conversation: against the real Rasa server and action server.

Before: REST's `sender` was taken as the conversation id as it came, so a REST client that sent another
channel's id (a website chat session, a Telegram chat id) got that user's handoff summary back and could
confirm the ticket; clients without a sender shared one conversation; the action server ran any action for
anyone who could reach it."""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from bot.handoff.store import HandoffStore, upgrade
from bot.runtime import BotProcesses
from tests.conftest import post_message
from tests.e2e.test_web_chat import ChatSocket, conversation_of

NAME, EMAIL = "Maija Omistaja", "maija.omistaja@example.fi"


def _text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _tickets_named(bot: BotProcesses, name: str) -> list[Any]:
    upgrade(bot.handoff_database_url)  # the schema, if no ticket was ever written
    store = HandoffStore(bot.handoff_database_url)
    try:
        return [t for t in store.list() if t.name == name]
    finally:
        store.close()


@pytest.mark.asyncio
async def test_a_rest_client_cannot_reach_a_website_conversation(bot_stack: BotProcesses) -> None:
    # A website user fills in the handoff form up to its summary ...
    chat = await ChatSocket(bot_stack.url).connect()
    try:
        session_id = await chat.session()
        assert "name" in (await chat.say("I want to talk to a real person", session_id)).lower()
        await chat.say(NAME, session_id)
        await chat.say(EMAIL, session_id)
        await chat.say("When is the next funding call?", session_id)
        summary = await chat.say("yes", session_id)  # consent (typed: "/affirm" is a payload only from a button)
        assert NAME in summary and EMAIL in summary
    finally:
        await chat.close()

    # ... and a REST client tries every id it could know or guess for that conversation.
    conversation = conversation_of(session_id)
    for sender in (session_id, conversation, conversation.split(":", 1)[1], "default"):
        for message in ("/affirm", "/affirm"):
            reply = _text(post_message(bot_stack.url, sender, message))
            assert NAME not in reply and EMAIL not in reply, sender
    assert _tickets_named(bot_stack, NAME) == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"message": "hello"}', "sender"),
        (b'{"sender": "", "message": "hello"}', "sender"),
        (b'{"sender": null, "message": "hello"}', "sender"),
        (b'{"sender": 42, "message": "hello"}', "sender"),
        (b'{"sender": "' + b"x" * 129 + b'", "message": "hello"}', "sender"),
        (b'{"sender": "me", "message": 42}', "message"),
        (b'{"sender": "me", "message": ["a"]}', "message"),
        (b'{"sender": "me"}', "message"),
        (b'["sender", "message"]', "object"),
        (b'"hello"', "object"),
        (b"null", "object"),
        (b"[" * 20000, "JSON"),
    ],
    ids=["no-sender", "empty-sender", "null-sender", "number-sender", "long-sender", "number-message",
         "list-message", "no-message", "list", "string", "null", "nested"],
)
def test_rest_requests_without_a_conversation_or_text_are_refused(
    bot_stack: BotProcesses, body: bytes, error: str
) -> None:
    status, answer = _post(bot_stack.url, body)
    assert status == 400 and error in answer["error"]


def test_two_rest_clients_without_a_sender_no_longer_share_a_conversation(bot_stack: BotProcesses) -> None:
    # Before, both landed in the conversation "default": the second read the first one's details.
    status, _ = _post(bot_stack.url, b'{"message": "My name is Aino Virtanen, I want to talk to a person"}')
    assert status == 400
    replies = post_message(bot_stack.url, f"other-{uuid.uuid4().hex[:8]}", "/affirm")
    assert "Aino Virtanen" not in _text(replies)


def test_replies_name_the_clients_own_sender(bot_stack: BotProcesses) -> None:
    sender = f"me-{uuid.uuid4().hex[:8]}"
    replies = post_message(bot_stack.url, sender, "who is the project manager?")
    assert replies and all(r["recipient_id"] == sender for r in replies)


def _action_call(name: str) -> bytes:
    """A request as an attacker would forge it: a ticket with a made-up name, question and transcript."""
    slots = {
        "handoff_name": "Forged Person",
        "handoff_contact": "forged@example.fi",
        "handoff_question": "forged question",
        "handoff_consent": True,
        "handoff_confirm": True,
        "language": "en",
    }
    tracker = {"sender_id": "forged", "slots": slots, "events": [], "latest_message": {}, "active_loop": {}}
    return json.dumps({"next_action": name, "sender_id": "forged", "tracker": tracker, "domain": {},
                       "version": "3.6.21"}).encode()


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token-0000000000", "Basic Zm9vOmJhcg==", "Bearer "])
def test_the_action_server_refuses_requests_without_rasas_token(
    bot_stack: BotProcesses, authorization: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    for path, body in (("/webhook", _action_call("action_submit_handoff")), ("/actions", None)):
        request = urllib.request.Request(f"http://127.0.0.1:{bot_stack.action_port}{path}", data=body, headers=headers)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401
    assert _tickets_named(bot_stack, "Forged Person") == []
    # Rasa, which has the token, still gets its actions run (every answer is one).
    assert "Tolmunen" in _text(post_message(bot_stack.url, f"ok-{uuid.uuid4().hex[:8]}", "who is the project manager?"))


def test_the_action_server_listens_on_loopback_only(bot_stack: BotProcesses) -> None:
    # An address of this machine that is not loopback, if it has one: nothing listens there.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = probe.getsockname()[0]
        except OSError:
            address = ""
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.read().splitlines()[1:]]
    port_hex = f"{bot_stack.action_port:04X}"
    local = [row[1] for row in rows if row[1].endswith(f":{port_hex}") and row[3] == "0A"]  # 0A: listening
    assert local == ["0100007F:" + port_hex], local  # 127.0.0.1, not 0.0.0.0
    if address and not address.startswith("127."):
        with pytest.raises(OSError):
            socket.create_connection((address, bot_stack.action_port), timeout=5).close()


def test_trackers_are_private_files(bot_stack: BotProcesses) -> None:
    post_message(bot_stack.url, f"perm-{uuid.uuid4().hex[:8]}", "hello")
    mode = (bot_stack.workdir / "tracker.db").stat().st_mode & 0o777
    assert mode == 0o600, oct(mode)
    assert re.fullmatch(r"0o700", oct(bot_stack.workdir.stat().st_mode & 0o777))
