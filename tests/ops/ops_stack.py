"""What the operations tests share: a bot started as a deployment runs it (REST behind RIS3_REST_TOKEN,
metrics behind RIS3_METRICS_TOKEN), a REST conversation that carries the token, and a whole handoff.

A module with a name no other test folder uses (test modules cannot import from `conftest`)."""

from __future__ import annotations

import json
import re
import secrets
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

from bot.runtime import BotProcesses

REFERENCE = re.compile(r"RIS3-[0-9A-Z]{4}")


def deployment_env(**extra: str) -> dict[str, str]:
    return {
        "RIS3_REST_TOKEN": secrets.token_hex(24),
        "RIS3_METRICS_TOKEN": secrets.token_hex(24),
        "RIS3_WIDGET_ALLOWED_ORIGINS": "http://127.0.0.1:*, http://localhost:*",
        "RIS3_RATE_CONVERSATION_BURST": "30",
        **extra,
    }


def http(url: str, token: str | None = None, body: dict | None = None, timeout: float = 60.0) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@dataclass
class RestChat:
    bot: BotProcesses
    sender: str = field(default_factory=lambda: f"ops-{uuid.uuid4().hex[:8]}")

    def say(self, message: str) -> str:
        status, body = http(
            f"{self.bot.url}/webhooks/rest/webhook",
            self.bot.env["RIS3_REST_TOKEN"],
            {"sender": self.sender, "message": message},
        )
        assert status == 200, (status, body)
        return "\n".join(reply.get("text") or "" for reply in json.loads(body))


def hand_off(chat: RestChat, name: str, email: str, question: str) -> str:
    """A whole handoff in English over REST; returns the ticket's reference."""
    chat.say(question)
    assert "name" in chat.say("I'd like to talk to a real person").lower()
    assert "reach you" in chat.say(name)
    assert question in chat.say(email)
    chat.say("/affirm")  # the question as it was
    assert name in chat.say("/affirm")  # consent; the summary follows
    done = chat.say("/affirm")
    reference = REFERENCE.search(done)
    assert reference, done
    return reference.group(0)


def start_bot(**extra_env: str) -> BotProcesses:
    """A bot whose REST channel and metrics need their tokens; the first answer loads the model."""
    bot = BotProcesses(env=deployment_env(**extra_env)).start()
    try:
        RestChat(bot).say("what is smart specialisation?")
    except BaseException:
        bot.stop()
        raise
    return bot
