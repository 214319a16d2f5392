"""The website chat's part of the two-way handoff (docs/handoff.md): the back office pushes the project
manager's reply (POST /webhooks/socketio/push, bearer token) and the channel emits it as a bot_uttered to
every open page of the session, answering whether any was open; with none, the back office keeps the reply
and the channel asks for it at the session's next session_request.

Runs in the Rasa runtime: Python 3.10, sanic 21.12, python-socketio 5.
"""

from __future__ import annotations

import logging
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.bearer import bearer_matches
from bot.channels.backoffice_client import backoffice
from bot.channels.backoffice_link import link_token
from bot.channels.conversation_ids import WEB

logger = logging.getLogger(__name__)

ROUTE = "user_web"
LANGUAGES = ("en", "fi")


def reply_payload(message: dict[str, Any]) -> dict[str, Any]:
    """A kept or pushed message as the widget gets it: a text bubble (never markup), in its language."""
    payload: dict[str, Any] = {"text": str(message.get("text") or "")}
    if message.get("language") in LANGUAGES:
        payload["lang"] = message["language"]
    if isinstance(message.get("reference"), str):
        payload["handoff_reference"] = message["reference"]
    return payload


def add_push_route(blueprint: Blueprint, sio: AsyncServer, namespace: str, event: str) -> None:
    @blueprint.route("/push", methods=["POST"])
    async def push(request: Request) -> HTTPResponse:
        token = link_token()
        if not token:
            return response.json({"error": "no RIS3_PUSH_TOKEN or RIS3_ACTION_TOKEN configured"}, status=503)
        if not bearer_matches(token, request.headers.get("authorization")):
            return response.json({"error": "send Authorization: Bearer <token>"}, status=401)
        try:
            body = request.json
        except Exception:  # sanic's InvalidUsage on a body that is not JSON
            body = None
        conversation = body.get("conversation_id") if isinstance(body, dict) else None
        if not isinstance(conversation, str) or not conversation.startswith(f"{WEB}:") or not isinstance(
            body.get("text"), str
        ):
            return response.json({"error": 'send {"conversation_id": "web:…", "text": "…"}'}, status=400)
        if not any(True for _ in sio.manager.get_participants(namespace, conversation)):
            return response.json({"delivered": False})
        await sio.emit(event, reply_payload(body), room=conversation, namespace=namespace)
        logger.info("web chat: a handoff reply pushed to an open page")
        return response.json({"delivered": True})


async def deliver_kept(sio: AsyncServer, sid: str, conversation: str, namespace: str, event: str) -> None:
    """At a session's session_request: the replies the back office kept while no page was open."""
    for message in await backoffice().take_kept(conversation, ROUTE):
        await sio.emit(event, reply_payload(message), to=sid, namespace=namespace)
