"""How large a request body the back office reads: aiohttp's 1 MiB everywhere, except on the routes whose handler
is marked with `large_bodies` (the Knowledge page's uploads of a new source version: a saved page or a PDF such as
the 1.5 MB brochure), which take up to RIS3_KNOWLEDGE_UPLOAD_MAX_BYTES.

The larger limit is given after sign-in and the role check (only an editor's upload may be large) and before the
CSRF check, which reads the form. A body over its route's limit gets a 413 that says the limit, in the caller's form
(JSON under /api, a page elsewhere): at once when Content-Length declares it, else when reading passes the limit.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from aiohttp import web

from bot.web.errors import error_response
from bot.web.handlers import Handler
from bot.web.keys import SETTINGS

logger = logging.getLogger(__name__)

_LARGE = "_takes_large_bodies"
H = TypeVar("H")


def large_bodies(handler: H) -> H:
    """Marks a handler whose route reads bodies up to the knowledge upload limit."""
    setattr(handler, _LARGE, True)
    return handler


def takes_large_bodies(handler: Any) -> bool:
    return bool(getattr(handler, _LARGE, False))


def body_limit(request: web.Request) -> int:
    """The largest body this request's route reads."""
    if takes_large_bodies(request.match_info.handler):
        return request.app[SETTINGS].knowledge_upload_max_bytes
    return request.client_max_size


def _too_large(request: web.Request, limit: int) -> web.Response:
    logger.warning("back office: %s %s refused, body over %d bytes", request.method, request.path, limit)
    return error_response(
        request, 413, f"The request is larger than this address accepts ({limit:,} bytes); send a smaller one."
    )


@web.middleware
async def body_limits(request: web.Request, handler: Handler) -> web.StreamResponse:
    limit = body_limit(request)
    declared = request.content_length
    if declared is not None and declared > limit:
        return _too_large(request, limit)
    if limit != request.client_max_size:
        # A copy of the request with the larger limit; it shares the session and what earlier middlewares stored.
        request = request.clone(client_max_size=limit)
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        # A chunked body (no Content-Length) that passed the limit while it was read.
        return _too_large(request, limit)
