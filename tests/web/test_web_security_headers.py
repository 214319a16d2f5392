"""What the back office's answers say about where they come from: nothing taken from the Host header,
Strict-Transport-Security exactly when it is served over https, nosniff on every file."""

from __future__ import annotations

import pytest
from web_helpers import Backoffice, StartBackoffice

from bot.web.config import WebSettings

EVIL = "evil.example"
WIDGET_SERVER = "https://chat.kymenlaakso.example:5005"


@pytest.mark.asyncio
async def test_the_demo_pages_never_echo_the_host_header(
    start_backoffice: StartBackoffice, web_settings: WebSettings
) -> None:
    backoffice = await start_backoffice(web_settings.model_copy(update={"widget_server": WIDGET_SERVER}))
    for path in ("/", "/assistant", "/?lang=en"):
        response = await backoffice.client.get(path, headers={"Host": f"{EVIL}:8080"})
        page, csp = await response.text(), response.headers["Content-Security-Policy"]
        assert response.status == 200, path
        assert EVIL not in page and EVIL not in csp, path
        assert f'data-server="{WIDGET_SERVER}"' in page
        assert f"connect-src 'self' {WIDGET_SERVER} wss://chat.kymenlaakso.example:5005;" in csp


@pytest.mark.asyncio
async def test_the_default_widget_server_is_local_whatever_the_host(backoffice: Backoffice) -> None:
    response = await backoffice.client.get("/", headers={"Host": EVIL})
    assert 'data-server="http://localhost:5005"' in await response.text()
    csp = response.headers["Content-Security-Policy"]
    assert "connect-src 'self' http://localhost:5005 ws://localhost:5005;" in csp


@pytest.mark.parametrize(
    "value", ["http://evil.example/x'; script-src *", "javascript:alert(1)", "localhost:5005", "http://a b:5005"]
)
def test_a_widget_server_that_is_not_a_plain_url_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="must be an http or https URL"):
        WebSettings(_env_file=None, widget_server=value)  # type: ignore[call-arg]


@pytest.mark.asyncio
async def test_strict_transport_security_only_when_served_over_https(
    start_backoffice: StartBackoffice, web_settings: WebSettings
) -> None:
    paths = ["/", "/health", "/inbox/login", "/static/backoffice.css", "/static/widget/missing.js"]
    plain = await start_backoffice(web_settings.model_copy(update={"public_url": "http://localhost:8080"}))
    for path in paths:
        response = await plain.client.get(path)
        assert "Strict-Transport-Security" not in response.headers, path

    https = await start_backoffice(web_settings.model_copy(update={"public_url": "https://bot.example.fi"}))
    for path in paths:
        response = await https.client.get(path)
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000", path
    assert WebSettings(_env_file=None, public_url="https://bot.example.fi/").served_over_https  # type: ignore[call-arg]
    assert not WebSettings(_env_file=None).served_over_https  # type: ignore[call-arg]


@pytest.mark.asyncio
async def test_static_files_are_not_sniffed_and_keep_no_page_headers(backoffice: Backoffice) -> None:
    for path in ("/static/backoffice.css", "/static/widget/missing.js"):
        response = await backoffice.client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        # Embedded by the council's pages: no CSP or framing rule of ours on them.
        assert "Content-Security-Policy" not in response.headers, path
        assert "X-Frame-Options" not in response.headers, path
