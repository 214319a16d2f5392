"""Error answers in the form the caller reads: JSON under /api, a small HTML page elsewhere."""

from __future__ import annotations

import html
import logging

from aiohttp import web

from bot.handoff.store import StoreUnavailable
from bot.web.handlers import Handler

logger = logging.getLogger(__name__)


def is_api(request: web.Request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(request: web.Request, status: int, message: str) -> web.Response:
    if is_api(request):
        return web.json_response({"error": message}, status=status)
    # The message is ours, but escaping it costs nothing and keeps it safe should that ever change.
    text = html.escape(message)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{status} · RIS3 back office</title></head><body><h1>{status}</h1><p>{text}</p></body></html>"
    )
    return web.Response(status=status, text=page, content_type="text/html")


@web.middleware
async def store_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A database outage answers 503 on every page instead of a traceback."""
    try:
        return await handler(request)
    except StoreUnavailable as exc:
        logger.warning("back office: %s", exc)
        return error_response(request, 503, "The ticket database is unavailable; try again in a moment.")
