"""The chat widget's side of the back office: the demo pages and CORS headers on the widget's assets.

The widget's files are built into static/widget/ by `scripts/build_widget.sh`. The back office also answers
/favicon.ico (browsers ask for it on every page). The demo site has two pages,
`/` (about the strategy) and `/assistant` (about the assistant), so that going from one to the other shows
the conversation continuing. They embed the widget and point it at the Rasa server configured as
`RIS3_WEB_WIDGET_SERVER` (default http://localhost:5005); nothing on the page comes from the request's
Host header, which the client chooses."""

from __future__ import annotations

import html
import struct
import zlib
from functools import lru_cache
from urllib.parse import urlsplit

from aiohttp import web

from bot.web.keys import SETTINGS
from bot.web.widget_topics import TOPICS_PATH, topics

WIDGET_PREFIX = "/static/widget/"
ASSET_MAX_AGE_SECONDS = 300

PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/static/widget/demo.css">
</head>
<body>
<header><p class="org">Kymenlaakson liitto · Regional Council of Kymenlaakso</p>
<nav aria-label="Sivut / Pages"><a href="/{query}"{home_current}>Strategia</a>
<a href="/assistant{query}"{assistant_current}>Chat-avustaja</a></nav></header>
<main>
{main}
</main>
<footer><p><a href="/inbox">RIS3 assistant back office</a> (project manager's inbox)</p></footer>
<script src="/static/widget/widget.js" data-server="{server}" data-lang="{lang}"></script>
</body>
</html>
"""

# The pages' own text is only an invitation to ask: every fact comes from the bot, which cites knowledge/.
HOME = (
    "Kymenlaakson älykkään erikoistumisen strategia (RIS3)",
    """<h1>Kymenlaakson älykkään erikoistumisen strategia (RIS3)</h1>
<p>Älykkään erikoistumisen strategia kertoo, mihin Kymenlaakso keskittää tutkimus-, kehittämis- ja
innovaatiotoimintansa. Kysy strategiasta oikean alakulman chat-avustajalta.</p>
<h2 lang="en">Smart specialisation strategy</h2>
<p lang="en">The smart specialisation strategy sets out where Kymenlaakso focuses its research, development
and innovation. Ask the chat assistant in the lower right corner about the strategy, in Finnish or English.</p>""",
)
ASSISTANT = (
    "RIS3-avustaja · Kymenlaakson liitto",
    """<h1>RIS3-avustaja</h1>
<p>Avustaja vastaa kysymyksiin strategian painopisteistä, aikataulusta, hankkeesta ja yhteyshenkilöistä,
ja kertoo jokaisen vastauksen lähteen. Jos se ei osaa vastata, se välittää kysymyksesi hankkeen
projektipäällikölle. Keskustelu jatkuu, kun siirryt sivulta toiselle.</p>
<h2 lang="en">The RIS3 assistant</h2>
<p lang="en">The assistant answers questions about the strategy's priorities, timeline, project and contacts,
and names the source of every answer. When it cannot answer, it passes your question to the project's
project manager. The conversation goes on as you move from page to page.</p>""",
)


def widget_server(request: web.Request) -> str:
    return request.app[SETTINGS].widget_server


def _csp(server: str) -> str:
    parts = urlsplit(server)
    origin = f"{parts.scheme}://{parts.netloc}"
    socket = ("wss" if parts.scheme == "https" else "ws") + f"://{parts.netloc}"
    return (
        f"default-src 'self'; connect-src 'self' {origin} {socket}; img-src 'self' https: data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )


def _page(request: web.Request, title: str, main: str, current: str) -> web.Response:
    server = widget_server(request)
    lang = "en" if request.query.get("lang") == "en" else "fi"
    marks = {name: ' aria-current="page"' if name == current else "" for name in ("home", "assistant")}
    body = PAGE.format(
        server=html.escape(server, quote=True),
        lang=lang,
        title=title,
        main=main,
        query="?lang=en" if lang == "en" else "",
        home_current=marks["home"],
        assistant_current=marks["assistant"],
    )
    response = web.Response(text=body, content_type="text/html")
    response.headers["Content-Security-Policy"] = _csp(server)
    return response


async def demo_page(request: web.Request) -> web.Response:
    """A plain page about the strategy with the widget on it."""
    return _page(request, *HOME, current="home")


async def assistant_page(request: web.Request) -> web.Response:
    """The demo site's second page, to show the conversation following the user."""
    return _page(request, *ASSISTANT, current="assistant")


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


FAVICON_SIZE = 32
FAVICON_COLOUR = (0x00, 0x5A, 0x8C)  # the widget's default accent


def _png(size: int, pixel: list[list[tuple[int, int, int, int]]]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(c for rgba in row for c in rgba) for row in pixel)
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


@lru_cache(maxsize=1)
def favicon() -> bytes:
    """The site's icon as an ICO file holding one PNG: a speech bubble (a disc with three dots) in the widget's
    colour. Drawn here rather than kept as a binary file; browsers ask for /favicon.ico on every page load."""
    size, centre, radius = FAVICON_SIZE, (FAVICON_SIZE - 1) / 2, FAVICON_SIZE / 2 - 1
    dots = [(centre + dx, centre) for dx in (-8, 0, 8)]
    rows = []
    for y in range(size):
        row = []
        for x in range(size):
            if any((x - dx) ** 2 + (y - dy) ** 2 <= 2.6**2 for dx, dy in dots):
                row.append((255, 255, 255, 255))
            elif (x - centre) ** 2 + (y - centre) ** 2 <= radius**2 or (x < 10 and y > 22 and x + 2 > 32 - y):
                row.append((*FAVICON_COLOUR, 255))
            else:
                row.append((0, 0, 0, 0))
        rows.append(row)
    png = _png(size, rows)
    # ICONDIR (reserved, type 1 = icon, one image) and its ICONDIRENTRY (width, height, colours, reserved,
    # planes, bits per pixel, size, offset of the image).
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), 22) + png


async def favicon_route(_: web.Request) -> web.Response:
    response = web.Response(body=favicon(), content_type="image/x-icon")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def setup_widget(app: web.Application) -> None:
    app.router.add_get("/", demo_page)
    app.router.add_get("/favicon.ico", favicon_route)
    app.router.add_get("/assistant", assistant_page)
    app.router.add_get(TOPICS_PATH, topics)  # before the static files' route, which would answer 404
    app.on_response_prepare.append(_widget_cors)
