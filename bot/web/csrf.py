"""Cross-site request forgery defence for every state-changing request.

Each POST must carry the session's CSRF token (form field `csrf_token`, or header X-CSRF-Token for the
JSON API). The SameSite=Strict cookie already keeps other sites' requests unauthenticated; the token
also covers browsers without SameSite and a sign-in forced on the manager (login CSRF). A foreign
Origin header is refused before anything else.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from yarl import URL

from bot.web.auth import BEARER_KEY
from bot.web.errors import error_response
from bot.web.handlers import Handler
from bot.web.keys import SETTINGS
from bot.web.sessions import expected_csrf_token

logger = logging.getLogger(__name__)

FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _origin_allowed(request: web.Request, allowed: list[str]) -> bool:
    origin = request.headers.get("Origin")
    # No Origin: a non-browser client or an old browser; the token still has to match.
    if origin is None:
        return True
    if origin.rstrip("/") in allowed:
        return True
    # Compared by host and port only: behind a TLS proxy the request itself arrives as http.
    parsed = URL(origin)
    return parsed.host is not None and parsed.raw_authority.lower() == request.host.lower()


async def _supplied_token(request: web.Request) -> str | None:
    token = request.headers.get(HEADER)
    if token is None and request.content_type in FORM_TYPES:
        # request.post() keeps the parsed form, so the handler reads it again at no cost.
        value = (await request.post()).get(FORM_FIELD)
        token = value if isinstance(value, str) else None
    return token


@web.middleware
async def csrf_protection(request: web.Request, handler: Handler) -> web.StreamResponse:
    # /internal/ and the scripts' API token take a bearer token that no browser sends by itself (bot/web/auth.py,
    # bot/web/internal.py): nothing to forge.
    if request.method in SAFE_METHODS or request.path.startswith("/internal/") or request.get(BEARER_KEY):
        return await handler(request)
    if not _origin_allowed(request, request.app[SETTINGS].allowed_origins):
        logger.warning("back office: %s %s refused, foreign origin", request.method, request.path)
        return error_response(request, 403, "Requests from this origin are not accepted.")
    expected, supplied = await expected_csrf_token(request), await _supplied_token(request)
    if not expected or not supplied or not hmac.compare_digest(expected.encode(), supplied.encode()):
        logger.warning("back office: %s %s refused, missing or wrong CSRF token", request.method, request.path)
        return error_response(request, 403, "The form has expired or was not sent from this site; reload and retry.")
    return await handler(request)
