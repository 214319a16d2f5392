"""The manager's inbox: tickets by status, one ticket with its transcript and thread, its status buttons."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.handoff.models import TICKET_STATUSES
from bot.handoff.reference import normalise_reference
from bot.handoff.store import TicketNotFound
from bot.handoff.thread_senders import email_available
from bot.web.auth import USER_KEY
from bot.web.errors import error_response
from bot.web.keys import HANDOFF_SETTINGS, ROUTES, STORE
from bot.web.replies import close_ticket
from bot.web.sessions import csrf_token
from bot.web.templates import render

logger = logging.getLogger(__name__)

STATUS_LABELS = {"new": "New", "answered": "Answered", "waiting": "Waiting for the user", "closed": "Closed"}
# The buttons a ticket page offers, by the ticket's status: what it can move to next. Close tells the user.
ACTIONS = {
    "new": [("answered", "Mark answered"), ("closed", "Close")],
    "answered": [("waiting", "Mark waiting for the user"), ("closed", "Close")],
    "waiting": [("answered", "Mark answered"), ("closed", "Close")],
    "closed": [("new", "Reopen")],
}
ROUTE_LABELS = {
    "user_web": "website chat",
    "user_telegram": "Telegram",
    "user_rest": "REST (with the next message)",
    "user_email": "e-mail",
    "manager_email": "e-mail to you",
    "manager_telegram": "Telegram to you",
    "manager_webhook": "webhook",
}
DELIVERY_LABELS = {
    "pending": "waiting to be sent",
    "held": "kept until the user is back",
    "sent": "delivered",
    "failed": "failed",
}


async def _context(request: web.Request, **values: object) -> dict[str, object]:
    return {"signed_in": request[USER_KEY], "csrf_token": await csrf_token(request), **values}


async def ticket_list(request: web.Request) -> web.StreamResponse:
    status = request.query.get("status", "new")
    if status not in TICKET_STATUSES:
        return error_response(request, 400, f"Unknown status; use one of {', '.join(TICKET_STATUSES)}.")
    tickets = await asyncio.to_thread(request.app[STORE].list, status)
    # Newest first: the manager works from what just came in.
    tickets.sort(key=lambda ticket: ticket.created_at, reverse=True)
    context = await _context(request, status=status, labels=STATUS_LABELS, tickets=tickets, routes=request.app[ROUTES])
    return render("inbox.html", context)


async def ticket_page(request: web.Request) -> web.StreamResponse:
    reference = normalise_reference(request.match_info["reference"])
    ticket = await asyncio.to_thread(request.app[STORE].thread, reference)
    if ticket is None:
        return error_response(request, 404, "No ticket with this reference.")
    context = await _context(
        request,
        ticket=ticket,
        labels=STATUS_LABELS,
        actions=ACTIONS.get(ticket.status, []),
        routes=ROUTE_LABELS,
        deliveries=DELIVERY_LABELS,
        user_email=email_available(request.app[HANDOFF_SETTINGS]),
    )
    return render("ticket.html", context)


# Delivery states that may still change by themselves (the outbox is at work): the ticket page asks again.
UNSETTLED = ("pending",)


async def deliveries(request: web.Request) -> web.StreamResponse:
    """The state of each route of the ticket's thread messages, as the ticket page shows it, for its script
    (static/ticket.js) to update the page after a reply without a reload."""
    reference = normalise_reference(request.match_info["reference"])
    ticket = await asyncio.to_thread(request.app[STORE].thread, reference)
    if ticket is None:
        return error_response(request, 404, "No ticket with this reference.")
    jobs = [job for message in ticket.messages for job in message.jobs]
    return web.json_response({
        "deliveries": [
            {
                "id": job.id,
                "status": job.status,
                "text": f"{ROUTE_LABELS.get(job.route, job.route)}: {DELIVERY_LABELS.get(job.status, job.status)}"
                + (f" ({job.last_error})" if job.last_error else ""),
            }
            for job in jobs
        ],
        "settled": not any(job.status in UNSETTLED for job in jobs),
    })


async def change_status(request: web.Request) -> web.StreamResponse:
    reference = normalise_reference(request.match_info["reference"])
    status = (await request.post()).get("status")
    if not isinstance(status, str) or status not in TICKET_STATUSES:
        return error_response(request, 422, f"Unknown status; use one of {', '.join(TICKET_STATUSES)}.")
    try:
        if status == "closed":  # the user is told, and the bot is in charge again
            await close_ticket(request, reference)
        else:
            await asyncio.to_thread(request.app[STORE].set_status, reference, status, request[USER_KEY])
    except TicketNotFound:
        return error_response(request, 404, "No ticket with this reference.")
    logger.info("back office: %s marked %s %s", request[USER_KEY], reference, status)
    # Post/redirect/get: reloading the ticket page afterwards does not send the form again.
    raise web.HTTPSeeOther(f"/inbox/tickets/{reference}")
