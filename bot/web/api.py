"""The inbox as JSON, for scripts and a future front end: the same session and CSRF rules as the pages."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from bot.handoff.models import TICKET_STATUSES, Ticket
from bot.handoff.reference import normalise_reference
from bot.handoff.store import TicketNotFound
from bot.web.auth import USER_KEY
from bot.web.errors import error_response
from bot.web.keys import STORE
from bot.web.replies import close_ticket, thread_json
from bot.web.sessions import csrf_token

logger = logging.getLogger(__name__)

STATUS_HINT = f"status must be one of {', '.join(TICKET_STATUSES)}"


def ticket_json(ticket: Ticket, with_thread: bool = False) -> dict[str, Any]:
    result = {
        **ticket.as_dict(),
        "updated_at": ticket.updated_at.isoformat(),
        "status_changed_by": ticket.status_changed_by,
        "notifications": [
            {"kind": job.kind, "status": job.status, "attempts": job.attempts, "last_error": job.last_error}
            for job in ticket.jobs
        ],
    }
    if with_thread:
        result["thread"] = thread_json(ticket)
    return result


async def session_info(request: web.Request) -> web.Response:
    """Who is signed in and the CSRF token a script must send in X-CSRF-Token with each POST."""
    return web.json_response({"user": request[USER_KEY], "csrf_token": await csrf_token(request)})


async def list_tickets(request: web.Request) -> web.Response:
    status = request.query.get("status")
    if status is not None and status not in TICKET_STATUSES:
        return error_response(request, 422, STATUS_HINT)
    tickets = await asyncio.to_thread(request.app[STORE].list, status)
    return web.json_response({"tickets": [ticket_json(ticket) for ticket in tickets]})


async def get_ticket(request: web.Request) -> web.Response:
    ticket = await asyncio.to_thread(request.app[STORE].thread, normalise_reference(request.match_info["reference"]))
    if ticket is None:
        return error_response(request, 404, "no ticket with this reference")
    return web.json_response(ticket_json(ticket, with_thread=True))


async def set_status(request: web.Request) -> web.Response:
    reference = normalise_reference(request.match_info["reference"])
    try:
        body = json.loads(await request.text())
    except json.JSONDecodeError as exc:
        # The decoder's message names the position only, never the content.
        return error_response(request, 400, f"the body is not valid JSON: {exc}")
    except UnicodeDecodeError:
        return error_response(request, 400, "the body is not valid UTF-8 text")
    if not isinstance(body, dict):
        return error_response(request, 400, 'the body must be a JSON object such as {"status": "answered"}')
    status = body.get("status")
    if not isinstance(status, str) or status not in TICKET_STATUSES:
        return error_response(request, 422, STATUS_HINT)
    store = request.app[STORE]
    try:
        if status == "closed":  # the user is told, and the bot is in charge again
            await close_ticket(request, reference)
        else:
            await asyncio.to_thread(store.set_status, reference, status, request[USER_KEY])
    except TicketNotFound:
        return error_response(request, 404, "no ticket with this reference")
    logger.info("back office: %s marked %s %s (API)", request[USER_KEY], reference, status)
    # Read back with its notifications: set_status returns the ticket without them.
    ticket = await asyncio.to_thread(store.thread, reference)
    if ticket is None:  # deleted between the two calls; nothing in the back office deletes tickets
        return error_response(request, 404, "no ticket with this reference")
    return web.json_response(ticket_json(ticket, with_thread=True))
