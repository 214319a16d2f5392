"""What the back-office tests share besides fixtures: the test account and a cookie-keeping browser.

A module of its own with a name no other test folder uses: test modules cannot import from
`conftest`, as several folders have one and the first imported would win."""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.web.config import WebSettings

USER = "projektipaallikko"
PASSWORD = secrets.token_urlsafe(12)  # a new one every run: nothing in the repository signs in
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

Client = TestClient[web.Request, web.Application]


def csrf_in(page: str) -> str:
    match = CSRF_FIELD.search(page)
    assert match, "no CSRF token in the page"
    return match.group(1)


@dataclass
class Backoffice:
    """A browser of the back office: keeps cookies, follows no redirect unless told to."""

    client: Client

    async def login_token(self) -> str:
        response = await self.client.get("/inbox/login")
        assert response.status == 200
        return csrf_in(await response.text())

    async def sign_in(self, user: str = USER, password: str = PASSWORD, **extra: str) -> aiohttp.ClientResponse:
        return await self.post_sign_in(await self.login_token(), user, password, **extra)

    async def post_sign_in(
        self,
        token: str,
        user: str = USER,
        password: str = PASSWORD,
        headers: dict[str, str] | None = None,
        **extra: str,
    ) -> aiohttp.ClientResponse:
        """The sign-in form sent with a token already fetched: many can go at once with one session."""
        form = {"user": user, "password": password, "csrf_token": token, **extra}
        return await self.client.post("/inbox/login", data=form, headers=headers, allow_redirects=False)

    async def api_token(self) -> str:
        response = await self.client.get("/api/session")
        assert response.status == 200
        token: str = (await response.json())["csrf_token"]
        return token

    def use_cookie(self, value: str, name: str = "ris3_backoffice") -> None:
        """Replace the client's cookies by this one, as if another browser had copied it."""
        jar = self.client.session.cookie_jar
        jar.clear()
        jar.update_cookies({name: value}, response_url=self.client.make_url("/"))
        assert self.cookie(name) == value

    def cookie(self, name: str = "ris3_backoffice") -> str | None:
        for cookie in self.client.session.cookie_jar:
            if cookie.key == name:
                return cookie.value
        return None


StartBackoffice = Callable[..., Awaitable[Backoffice]]

def postgres_url_in(database_url: str, schema: str, *options: str) -> str:
    """A URL whose connections work in `schema`, with further server settings (`-cname=value`)."""
    return (
        make_url(database_url)
        .update_query_dict({"options": " ".join([f"-csearch_path={schema}", *options])})
        .render_as_string(hide_password=False)
    )


def manager_settings(tmp_path: Path, password_hash: str, **overrides: Any) -> WebSettings:
    """The back office's settings for a test: the manager account USER/PASSWORD, a fresh secret key, plain-http
    cookies (the test client talks http) and a short sign-in delay; `overrides` set the rest."""
    return WebSettings(
        _env_file=None,  # type: ignore[call-arg]
        manager_user=USER,
        manager_password_hash=SecretStr(password_hash),
        secret_key=SecretStr(Fernet.generate_key().decode()),
        secret_key_file=tmp_path / "web-secret.key",
        insecure_cookies=True,
        login_delay_seconds=0.01,
        **overrides,
    )
