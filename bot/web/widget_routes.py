"""The chat widget's side of the back office: the demo page at `/` and CORS headers on the widget's assets.

The widget's files are built into static/widget/ by `scripts/build_widget.sh`. The demo page embeds them
and points the widget at the Rasa server: `RIS3_WEB_WIDGET_SERVER` (default: this host, port 5005);
`RIS3_WEB_WIDGET_SESSION=persistent` keeps the Rasa session across reloads (needs a Rasa server that joins
socket.io rooms; the default `connection` starts a new Rasa session per connection, the shown history stays)."""

from __future__ import annotations

import html
import os
from urllib.parse import urlsplit

from aiohttp import web

from bot.web.keys import SETTINGS

WIDGET_PREFIX = "/static/widget/"
ASSET_MAX_AGE_SECONDS = 300

DEMO_PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kymenlaakson älykkään erikoistumisen strategia (RIS3)</title>
<link rel="stylesheet" href="/static/widget/demo.css">
</head>
<body>
<header><p class="org">Kymenlaakson liitto · Regional Council of Kymenlaakso</p></header>
<main>
<h1>Kymenlaakson älykkään erikoistumisen strategia (RIS3)</h1>
<p>Älykkään erikoistumisen strategia kertoo, mihin Kymenlaakso keskittää tutkimus-, kehittämis- ja
innovaatiotoimintansa. Kysy strategiasta oikean alakulman chat-avustajalta.</p>
<h2 lang="en">Smart specialisation strategy</h2>
<p lang="en">The smart specialisation strategy sets out where Kymenlaakso focuses its research, development
and innovation. Ask the chat assistant in the lower right corner about the strategy, in Finnish or English.</p>
</main>
<footer><p><a href="/inbox">RIS3 assistant back office</a> (project manager's inbox)</p></footer>
<script src="/static/widget/widget.js" data-server="{server}" data-lang="{lang}" data-session="{session}"></script>
</body>
</html>
"""


def widget_server(request: web.Request) -> str:
    configured = os.environ.get("RIS3_WEB_WIDGET_SERVER", "").strip().rstrip("/")
    if configured:
        return configured
    host = request.url.host or "127.0.0.1"
    return f"{request.scheme}://{host}:5005"


def _csp(server: str) -> str:
    parts = urlsplit(server)
    origin = f"{parts.scheme}://{parts.netloc}"
    socket = ("wss" if parts.scheme == "https" else "ws") + f"://{parts.netloc}"
    return (
        f"default-src 'self'; connect-src 'self' {origin} {socket}; img-src 'self' https: data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )


async def demo_page(request: web.Request) -> web.Response:
    """A plain page about the strategy with the widget on it."""
    server = widget_server(request)
    lang = "en" if request.query.get("lang") == "en" else "fi"
    # "connection" until the Rasa server joins socket.io rooms again (see widget/README.md).
    session = "persistent" if os.environ.get("RIS3_WEB_WIDGET_SESSION") == "persistent" else "connection"
    body = DEMO_PAGE.format(server=html.escape(server, quote=True), lang=lang, session=session)
    response = web.Response(text=body, content_type="text/html")
    response.headers["Content-Security-Policy"] = _csp(server)
    return response


async def _widget_cors(request: web.Request, response: web.StreamResponse) -> None:
    """Widget assets may be fetched by the council's pages: allowed origins get CORS headers."""
    if not request.path.startswith(WIDGET_PREFIX):
        return
    response.headers.setdefault("Cache-Control", f"public, max-age={ASSET_MAX_AGE_SECONDS}")
    response.headers["Vary"] = "Origin"
    origin = request.headers.get("Origin", "").rstrip("/")
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    if origin and origin in request.app[SETTINGS].allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin


def setup_widget(app: web.Application) -> None:
    app.router.add_get("/", demo_page)
    app.on_response_prepare.append(_widget_cors)
