"""The REST channel (credentials.yml: `bot.channels.rest.RestInput`): POST /webhooks/rest/webhook with
{"sender": "…", "message": "…"} answers with a JSON list of the bot's messages, as Rasa's own channel does,
but checked before anything reaches Rasa:

- with RIS3_REST_TOKEN set, only requests with `Authorization: Bearer <token>` (401 otherwise); unset (the
  embedded default, on loopback), open as before;
- the body is a JSON object (400 otherwise) of at most RIS3_MAX_REQUEST_BYTES (413, from Sanic, unread);
  `sender` is a non-empty string of at most 128 characters (400: no shared "default" conversation),
  `message` a string (400) of at most RIS3_MAX_MESSAGE_CHARS (413 with a reply saying so);
- rate limits per conversation and client address (429 with Retry-After and a reply saying to slow down);
- a `message` beginning with "/" is a payload only when its intent is one the bot's own buttons send
  (bot/user_text.py: `/affirm`, `/deny`, `/answer_fact{…}`, `/add_to_request`), so that tests and clients can
  press a button; anything else ("/restart", "/ask_human") reaches the NLU as the words it is;
- the conversation is "rest:<sender>", so a REST client never reaches a website or Telegram conversation;
  the channel is always "rest" (Rasa's let the client name any), and of `metadata` only the language is kept;
- a message the bot could not answer at all gets an apology with the project manager's contact instead of an
  empty list (bot/channels/unanswered.py).

POST /webhooks/rest/forget with {"sender": "…"} erases that conversation at the user's request (its events, any
ticket's personal data; docs/privacy.md), with the same token and limits, and answers with the confirmation.

Rasa's `?stream=true` variant is not offered. Runs in the Rasa runtime (Python 3.10, rasa 3.6, sanic 21.12).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.bearer import bearer_matches
from bot.channels.backoffice_client import backoffice
from bot.channels.conversation_ids import MAX_SENDER_CHARS, REST, conversation_id, valid_sender
from bot.channels.limits import SLOW_DOWN, TOO_LONG, ChannelGuard, client_address, say
from bot.channels.log_throttle import show_channel_logs
from bot.channels.request_size import LimitedBlueprint
from bot.channels.unanswered import guard
from bot.language import detect
from bot.user_text import button_payload

logger = logging.getLogger(__name__)

TOKEN_ENV = "RIS3_REST_TOKEN"
ERASE_PAYLOAD = "/erase_conversation"  # actions/privacy.py
LANGUAGES = frozenset({"en", "fi"})


class BadRequest(ValueError):
    """The request cannot be processed; the message goes back to the client."""


def read_request(body: bytes) -> tuple[str, str, dict[str, Any]]:
    """(sender, message, metadata) from a REST body, or BadRequest saying what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("the body must be JSON: {\"sender\": \"…\", \"message\": \"…\"}") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object: {\"sender\": \"…\", \"message\": \"…\"}")
    sender, text = data.get("sender"), data.get("message")
    if not valid_sender(sender):
        raise BadRequest(
            f"'sender' must be a non-empty string of at most {MAX_SENDER_CHARS} printable characters"
            " without leading or trailing spaces: it names the conversation"
        )
    if not isinstance(text, str):
        raise BadRequest("'message' must be a string")
    metadata = data.get("metadata")
    language = metadata.get("language") if isinstance(metadata, dict) else None
    return sender, text, ({"language": language} if isinstance(language, str) and language in LANGUAGES else {})


def _reply(sender: str, text: str, status: int, headers: Mapping[str, str] | None = None) -> HTTPResponse:
    return response.json([{"recipient_id": sender, "text": text}], status=status, headers=dict(headers or {}))


def _error(message: str, status: int, headers: Mapping[str, str] | None = None) -> HTTPResponse:
    return response.json({"error": message}, status=status, headers=dict(headers or {}))


class RestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return REST

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> RestInput:
        return cls()

    def __init__(self, token: str | None = None, limits: ChannelGuard | None = None) -> None:
        show_channel_logs()
        self.token = (os.environ.get(TOKEN_ENV) or "").strip() if token is None else token
        self.guard = limits or ChannelGuard()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        handle = guard(on_new_message, lambda message: (message.metadata or {}).get("language"))
        webhook = LimitedBlueprint(self.guard.limits, "ris3_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.listener("before_server_stop")
        async def stop(*_: Any) -> None:
            await backoffice().close()

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if self.token and not bearer_matches(self.token, request.headers.get("authorization")):
                return _error("send Authorization: Bearer <token>", 401, {"WWW-Authenticate": "Bearer"})
            try:
                sender, text, metadata = read_request(request.body or b"")
            except BadRequest as error:
                return _error(str(error), 400)
            # The language only for the channel's own refusals (the bot's replies find theirs in the actions).
            def language() -> str | None:
                return metadata.get("language") or detect(text[:500])

            if self.guard.too_long(text):
                limit = self.guard.limits.max_message_chars
                return _reply(sender, say(TOO_LONG, language(), limit=limit), 413)
            conversation = conversation_id(REST, sender)
            address = client_address(request.ip, request.headers.get("x-forwarded-for"),
                                     self.guard.limits.trusted_proxies)
            wait = self.guard.wait_seconds(conversation, address)
            if wait:
                logger.info("REST: a message of %s refused for %d s (rate limit)", conversation, wait)
                return _reply(sender, say(SLOW_DOWN, language(), seconds=wait), 429, {"Retry-After": str(wait)})
            collector = CollectingOutputChannel()
            message = UserMessage(button_payload(text), collector, conversation, input_channel=REST, metadata=metadata)
            await handle(message)
            # The project manager's replies kept for this conversation come with the answer (docs/handoff.md).
            kept = [{"text": m["text"]} for m in await backoffice().take_kept(conversation, "user_rest")]
            # The client named its conversation `sender`; the prefix is ours.
            return response.json([{**m, "recipient_id": sender} for m in [*collector.messages, *kept]])

        @webhook.route("/forget", methods=["POST"])
        async def forget(request: Request) -> HTTPResponse:
            # The user's erasure over REST: the same action as the widget's menu and /forget (actions/privacy.py).
            if self.token and not bearer_matches(self.token, request.headers.get("authorization")):
                return _error("send Authorization: Bearer <token>", 401, {"WWW-Authenticate": "Bearer"})
            try:
                data = json.loads(request.body or b"")
            except (ValueError, RecursionError):
                return _error("the body must be JSON: {\"sender\": \"…\"}", 400)
            sender = data.get("sender") if isinstance(data, dict) else None
            if not valid_sender(sender):
                return _error(f"'sender' must name the conversation (at most {MAX_SENDER_CHARS} characters)", 400)
            conversation = conversation_id(REST, sender)
            address = client_address(request.ip, request.headers.get("x-forwarded-for"),
                                     self.guard.limits.trusted_proxies)
            wait = self.guard.wait_seconds(conversation, address)
            if wait:
                return _reply(sender, say(SLOW_DOWN, None, seconds=wait), 429, {"Retry-After": str(wait)})
            collector = CollectingOutputChannel()
            await handle(UserMessage(ERASE_PAYLOAD, collector, conversation, input_channel=REST))
            return response.json([{**m, "recipient_id": sender} for m in collector.messages])

        return webhook
