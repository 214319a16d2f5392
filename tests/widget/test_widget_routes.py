"""The back office serves the widget: the demo page at /, the assets with CORS for allowed origins."""

from __future__ import annotations

import gzip
import struct
import urllib.request

from widget_helpers import ALLOWED_ORIGIN, ServedApp


def fetch(url: str, origin: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Origin": origin} if origin else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def test_demo_page_embeds_the_widget(backoffice_app: ServedApp, widget_server: str) -> None:
    status, headers, body = fetch(backoffice_app.url + "/")
    page = body.decode()
    assert status == 200 and '<html lang="fi">' in page
    assert f'<script src="/static/widget/widget.js" data-server="{widget_server}"' in page
    assert "RIS3 assistant back office" in page  # the link to the inbox
    csp = headers["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:5999 ws://127.0.0.1:5999" in csp and "script-src" not in csp
    assert "http" not in page.split("<script", 1)[0].replace('href="/', "")  # no third-party asset


def test_widget_assets_are_public_with_cors_for_allowed_origins(backoffice_app: ServedApp) -> None:
    for name, kind in [("widget.js", "javascript"), ("widget.css", "css"), ("socket.io.min.js", "javascript")]:
        status, headers, _ = fetch(f"{backoffice_app.url}/static/widget/{name}", origin=ALLOWED_ORIGIN)
        assert status == 200 and kind in headers["Content-Type"]
        assert headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN and "Origin" in headers["Vary"]
        assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert "Content-Security-Policy" not in headers
        assert headers["X-Content-Type-Options"] == "nosniff"
    _, headers, _ = fetch(f"{backoffice_app.url}/static/widget/widget.js", origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in headers


def test_widget_assets_are_sent_gzipped_to_browsers_that_accept_it(backoffice_app: ServedApp) -> None:
    sizes = {}
    for name in ("widget.js", "widget.css", "socket.io.min.js"):
        url = f"{backoffice_app.url}/static/widget/{name}"
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            sent = response.read()
        plain = fetch(url)[2]  # without Accept-Encoding: the file itself
        assert gzip.decompress(sent) == plain
        sizes[name] = len(sent)
    print(f"widget download, gzipped as sent: {sizes} total {sum(sizes.values())} bytes")
    # Measured with the language offer, the feedback buttons and the privacy notice and menu: 7,085 + 2,360
    # bytes, 24,059 in all (before them: 5,061 + ~1,900). The budget keeps the next addition honest.
    assert sizes["widget.js"] + sizes["widget.css"] < 10_000
    assert sum(sizes.values()) < 26_000


def test_the_back_office_has_a_favicon(backoffice_app: ServedApp) -> None:
    # Browsers ask for /favicon.ico on every page load; a 404 there filled the console of the demo pages.
    status, headers, body = fetch(backoffice_app.url + "/favicon.ico")
    assert status == 200 and headers["Content-Type"] == "image/x-icon"
    reserved, kind, images = struct.unpack("<HHH", body[:6])
    assert (reserved, kind, images) == (0, 1, 1)
    width, height, _, _, _, bits, size, offset = struct.unpack("<BBBBHHII", body[6:22])
    png = body[offset : offset + size]
    assert (width, height, bits) == (32, 32, 32) and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", png[16:24]) == (32, 32)  # the PNG's own size (IHDR)
    assert "max-age" in headers["Cache-Control"]
