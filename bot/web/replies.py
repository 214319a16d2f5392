"""The manager answers in the conversation: replies and closing from the inbox and the JSON API.

Each reply is stored with its delivery jobs in one transaction (bot/handoff/thread_store.py); the outbox
is woken to deliver it at once, and the ticket page and the API show each route's delivery state.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from bot.handoff.models import ThreadMessage, Ticket
from bot.handoff.reference import normalise_reference
from bot.handoff.store import TicketClosed, TicketNotFound
from bot.handoff.thread_senders import email_available
from bot.handoff.validation import InvalidInput
from bot.web.auth import USER_KEY
from bot.web.errors import error_response
from bot.web.keys import HANDOFF_SETTINGS, OUTBOX_WAKE, STORE

logger = logging.getLogger(__name__)

TEXT_PROBLEMS = {
    "empty_message": "The reply is empty.",
    "message_too_long": "The reply is too long (at most 4,000 characters).",
    "invalid_message": "The reply contains characters that cannot be sent.",
}
CLOSED = "This ticket is closed; reopen it to reply."


def thread_json(ticket: Ticket) -> list[dict[str, Any]]:
    return [message.as_dict() for message in ticket.messages]


async def store_reply(request: web.Request, reference: str, text: object, waiting: bool) -> ThreadMessage:
    """Raises TicketNotFound, TicketClosed, InvalidInput."""
    store = request.app[STORE]
    available = email_available(request.app[HANDOFF_SETTINGS])
    message = await asyncio.to_thread(
        store.reply, reference, request[USER_KEY], text if isinstance(text, str) else "", email_available=available,
        waiting=waiting,
    )
    request.app[OUTBOX_WAKE].set()
    logger.info("back office: %s replied on %s (routes %s)", request[USER_KEY], reference,
                [job.route for job in message.jobs])
    return message


async def close_ticket(request: web.Request, reference: str) -> Ticket:
    store = request.app[STORE]
    available = email_available(request.app[HANDOFF_SETTINGS])
    ticket = await asyncio.to_thread(store.close_ticket, reference, request[USER_KEY], email_available=available)
    request.app[OUTBOX_WAKE].set()
    return ticket


async def inbox_reply(request: web.Request) -> web.StreamResponse:
    reference = normalise_reference(request.match_info["reference"])
    form = await request.post()
    try:
        await store_reply(request, reference, form.get("text"), waiting=form.get("waiting") == "1")
    except TicketNotFound:
        return error_response(request, 404, "No ticket with this reference.")
    except TicketClosed:
        return error_response(request, 409, CLOSED)
    except InvalidInput as exc:
        return error_response(request, 422, TEXT_PROBLEMS.get(exc.key, "The reply cannot be sent."))
    raise web.HTTPSeeOther(f"/inbox/tickets/{reference}#thread")


async def api_reply(request: web.Request) -> web.Response:
    reference = normalise_reference(request.match_info["reference"])
    try:
        body = json.loads(await request.text())
    except json.JSONDecodeError as exc:
        return error_response(request, 400, f"the body is not valid JSON: {exc}")
    except UnicodeDecodeError:
        return error_response(request, 400, "the body is not valid UTF-8 text")
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        return error_response(request, 400, 'the body must be a JSON object such as {"text": "…"}')
    waiting = body.get("waiting", False)
    if not isinstance(waiting, bool):
        return error_response(request, 400, '"waiting" must be true or false')
    try:
        message = await store_reply(request, reference, body["text"], waiting)
    except TicketNotFound:
        return error_response(request, 404, "no ticket with this reference")
    except TicketClosed:
        return error_response(request, 409, "the ticket is closed; reopen it to reply")
    except InvalidInput as exc:
        return error_response(request, 422, TEXT_PROBLEMS.get(exc.key, "the reply cannot be sent"))
    return web.json_response({"reference": reference, "status": message.ticket.status, **message.as_dict()}, status=201)
