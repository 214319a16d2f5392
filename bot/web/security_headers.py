"""Response headers that keep the back office's pages from being framed, sniffed or cached."""

from __future__ import annotations

from collections.abc import MutableMapping

from aiohttp import web

from bot.web.handlers import Handler

HEADERS = {
    # Only our own scripts, styles and forms; no inline script, so an escaping slip could not run either.
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
PRIVATE_PREFIXES = ("/inbox", "/api")


def _apply(request: web.Request, headers: MutableMapping[str, str]) -> None:
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
