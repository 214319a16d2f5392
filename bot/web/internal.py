"""The back office's internal API for the Rasa server's channels (bot/channels/backoffice_link.py):
messages kept for a conversation, and the manager's Telegram replies. Bearer token only (no session, no
CSRF: no browser holds it); without a configured token the routes answer 503.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from bot.bearer import bearer_matches
from bot.channels.backoffice_link import link_token
from bot.handoff.models import USER_ROUTES
from bot.handoff.store import TicketClosed, TicketNotFound
from bot.handoff.thread_senders import email_available
from bot.handoff.validation import InvalidInput
from bot.web.keys import HANDOFF_SETTINGS, OUTBOX_WAKE, STORE

logger = logging.getLogger(__name__)

INTERNAL_PREFIX = "/internal/"
# The routes a channel may take kept messages of: its own.
TAKEABLE_ROUTES = frozenset({"user_web", "user_rest"})


def _refused(request: web.Request) -> web.Response | None:
    token = link_token()
    if not token:
        return web.json_response({"error": "no RIS3_PUSH_TOKEN or RIS3_ACTION_TOKEN configured"}, status=503)
    if not bearer_matches(token, request.headers.get("Authorization")):
        return web.json_response({"error": "send Authorization: Bearer <token>"}, status=401)
    return None


async def _body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


async def kept_replies(request: web.Request) -> web.Response:
    """POST {"conversation_id", "route"} -> {"messages": [{"text", "reference", "kind", "language"}]},
    each marked delivered as it is handed over."""
    refused = _refused(request)
    if refused is not None:
        return refused
    body = await _body(request)
    conversation, route = (body or {}).get("conversation_id"), (body or {}).get("route")
    if not isinstance(conversation, str) or route not in TAKEABLE_ROUTES or route not in USER_ROUTES:
        return web.json_response({"error": 'send {"conversation_id": "…", "route": "user_web|user_rest"}'}, status=400)
    messages = await asyncio.to_thread(request.app[STORE].take_kept, conversation, route)
    if messages:
        logger.info("back office: %d kept message(s) handed to %s", len(messages), route)
    return web.json_response({"messages": messages})


async def telegram_reply(request: web.Request) -> web.Response:
    """POST {"message_id": <the notification replied to>, "text"} -> 201 {"reference"}; 404 when the
    message is no ticket's notification; 409 closed; 422 bad text."""
    refused = _refused(request)
    if refused is not None:
        return refused
    body = await _body(request) or {}
    message_id, text = body.get("message_id"), body.get("text")
    if not isinstance(message_id, (int, str)) or isinstance(message_id, bool) or not isinstance(text, str):
        return web.json_response({"error": 'send {"message_id": N, "text": "…"}'}, status=400)
    store = request.app[STORE]
    ticket = await asyncio.to_thread(store.ticket_of_telegram_notice, message_id)
    if ticket is None:
        return web.json_response({"error": "not a reply to a ticket's notification"}, status=404)
    available = email_available(request.app[HANDOFF_SETTINGS])
    try:
        await asyncio.to_thread(store.reply, ticket.reference, "telegram", text, email_available=available)
    except TicketNotFound:
        return web.json_response({"error": "not a reply to a ticket's notification"}, status=404)
    except TicketClosed:
        return web.json_response({"error": "the ticket is closed", "reference": ticket.reference}, status=409)
    except InvalidInput as exc:
        return web.json_response({"error": exc.key, "reference": ticket.reference}, status=422)
    request.app[OUTBOX_WAKE].set()
    logger.info("back office: the manager replied on %s in Telegram", ticket.reference)
    return web.json_response({"reference": ticket.reference}, status=201)
