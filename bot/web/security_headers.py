"""Response headers that keep the back office's pages from being framed, sniffed or cached."""

from __future__ import annotations

from collections.abc import MutableMapping

from aiohttp import web

from bot.web.handlers import Handler
from bot.web.keys import SETTINGS

HEADERS = {
    # Only our own scripts, styles and forms; no inline script, so an escaping slip could not run either.
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
NOSNIFF = ("X-Content-Type-Options", "nosniff")
# A year: browsers that once reached the back office over https keep to https. Sent only when its public
# URL is https, as an http-only deployment would otherwise lock its users out.
HSTS = ("Strict-Transport-Security", "max-age=31536000")
PRIVATE_PREFIXES = ("/inbox", "/api")


def _apply(request: web.Request, headers: MutableMapping[str, str]) -> None:
    # Every answer, the widget's files too: a script or style is never run as another type.
    headers.setdefault(*NOSNIFF)
    if request.app[SETTINGS].served_over_https:
        headers.setdefault(*HSTS)
    # Widget assets are embedded in the council's pages: the page headers are not theirs to carry.
    if request.path.startswith("/static/"):
        return
    for name, value in HEADERS.items():
        headers.setdefault(name, value)
    if request.path.startswith(PRIVATE_PREFIXES):
        # Tickets hold personal data: no copy in the browser's or a proxy's cache.
        headers["Cache-Control"] = "no-store"


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _apply(request, exc.headers)
        raise
    _apply(request, response.headers)
    return response
