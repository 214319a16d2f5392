"""Signing in and out: nothing under /inbox or /api without it, one generic error for wrong credentials,
a session cookie that scripts and other sites cannot use."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from pydantic import SecretStr
from web_helpers import PASSWORD, USER, Backoffice, StartBackoffice

from bot.cli import main as bot_main
from bot.handoff.models import Ticket
from bot.web.config import WebSettings
from bot.web.passwords import hash_password
from bot.web.secret_key import SecretKeyError, load_secret_key

PAGES = ["/inbox", "/inbox?status=closed", "/inbox/tickets/RIS3-7K2Q"]
API_GETS = ["/api/session", "/api/tickets", "/api/tickets?status=new", "/api/tickets/RIS3-7K2Q", "/api/nothing-here"]


@pytest.mark.asyncio
async def test_pages_redirect_to_the_sign_in_page(backoffice: Backoffice) -> None:
    for path in PAGES:
        response = await backoffice.client.get(path, allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"].startswith("/inbox/login?next="), path
    for path in ["/inbox/logout", "/inbox/tickets/RIS3-7K2Q/status"]:
        response = await backoffice.client.post(path, data={"status": "closed"}, allow_redirects=False)
        assert response.status == 302, path


@pytest.mark.asyncio
async def test_the_api_answers_401_without_a_session(backoffice: Backoffice) -> None:
    for path in API_GETS:
        response = await backoffice.client.get(path)
        assert response.status == 401, path
        assert (await response.json()) == {"error": "Sign in first."}
    response = await backoffice.client.post("/api/tickets/RIS3-7K2Q/status", json={"status": "closed"})
    assert response.status == 401


@pytest.mark.asyncio
async def test_a_wrong_password_gives_401_and_no_session(
    backoffice: Backoffice, make_ticket: Callable[..., Ticket]
) -> None:
    make_ticket()
    wrong_password = await backoffice.sign_in(password=PASSWORD + "x")
    wrong_password_page = await wrong_password.text()
    assert wrong_password.status == 401
    assert "Wrong user name or password." in wrong_password_page
    assert "Maija" not in wrong_password_page

    # An unknown name reads exactly like a wrong password: the page does not tell which names exist.
    wrong_user = await backoffice.sign_in(user="someone-else")
    assert wrong_user.status == 401
    assert "Wrong user name or password." in await wrong_user.text()

    assert (await backoffice.client.get("/inbox", allow_redirects=False)).status == 302
    assert (await backoffice.client.get("/api/tickets")).status == 401


@pytest.mark.asyncio
async def test_the_right_password_shows_the_tickets(backoffice: Backoffice, make_ticket: Callable[..., Ticket]) -> None:
    ticket = make_ticket()
    response = await backoffice.sign_in()
    assert response.status == 303
    assert response.headers["Location"] == "/inbox"
    page = await backoffice.client.get("/inbox")
    text = await page.text()
    assert page.status == 200
    assert ticket.reference in text and "Maija Meikäläinen" in text
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.asyncio
async def test_signing_in_needs_the_forms_csrf_token(backoffice: Backoffice) -> None:
    await backoffice.login_token()  # a session with a token exists, but the form does not send it
    form = {"user": USER, "password": PASSWORD}
    assert (await backoffice.client.post("/inbox/login", data=form)).status == 403
    form["csrf_token"] = "forged"
    assert (await backoffice.client.post("/inbox/login", data=form)).status == 403
    assert (await backoffice.client.get("/inbox", allow_redirects=False)).status == 302


@pytest.mark.asyncio
async def test_sign_in_returns_to_the_page_asked_for_but_never_elsewhere(backoffice: Backoffice) -> None:
    response = await backoffice.sign_in(next="/inbox?status=closed")
    assert response.headers["Location"] == "/inbox?status=closed"
    for target in ["https://evil.example/", "//evil.example/inbox", "/inbox/../../x\\y", "/api/tickets"]:
        response = await backoffice.sign_in(next=target)
        assert response.status == 303
        assert response.headers["Location"] == "/inbox", target


@pytest.mark.asyncio
async def test_the_session_cookie_is_httponly_strict_and_expires(backoffice: Backoffice) -> None:
    response = await backoffice.sign_in()
    (cookie,) = [c for c in response.headers.getall("Set-Cookie") if c.startswith("ris3_backoffice=")]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"] == "SameSite=Strict"
    assert attributes["max-age"] == "Max-Age=28800"
    assert "secure" not in attributes  # the test settings allow plain http


@pytest.mark.asyncio
async def test_the_session_cookie_is_secure_unless_told_otherwise(
    start_backoffice: StartBackoffice, web_settings: WebSettings
) -> None:
    secure = await start_backoffice(web_settings.model_copy(update={"insecure_cookies": False}))
    response = await secure.client.get("/inbox/login")
    (cookie,) = response.headers.getall("Set-Cookie")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


@pytest.mark.asyncio
async def test_signing_out_ends_the_session_even_for_a_copied_cookie(signed_in: Backoffice) -> None:
    copied = signed_in.cookie()
    assert copied
    page = await (await signed_in.client.get("/inbox")).text()
    response = await signed_in.client.post(
        "/inbox/logout", data={"csrf_token": await signed_in.api_token()}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/inbox/login"
    assert "Sign out" in page
    assert (await signed_in.client.get("/inbox", allow_redirects=False)).status == 302

    # The cookie someone copied before the sign-out is refused too, although it has not expired.
    signed_in.use_cookie(copied)
    assert (await signed_in.client.get("/inbox", allow_redirects=False)).status == 302
    assert (await signed_in.client.get("/api/tickets")).status == 401


@pytest.mark.asyncio
async def test_signing_out_needs_the_csrf_token(signed_in: Backoffice) -> None:
    response = await signed_in.client.post("/inbox/logout", allow_redirects=False)
    assert response.status == 403
    assert (await signed_in.client.get("/inbox", allow_redirects=False)).status == 200


@pytest.mark.asyncio
async def test_a_tampered_cookie_is_no_session(signed_in: Backoffice) -> None:
    cookie = signed_in.cookie()
    assert cookie
    signed_in.use_cookie(cookie)  # the helper itself keeps a session working
    assert (await signed_in.client.get("/inbox", allow_redirects=False)).status == 200
    middle = len(cookie) // 2
    tampered = cookie[:middle] + ("A" if cookie[middle] != "A" else "B") + cookie[middle + 1 :]
    signed_in.use_cookie(tampered)
    assert (await signed_in.client.get("/inbox", allow_redirects=False)).status == 302


@pytest.mark.asyncio
async def test_a_post_from_a_foreign_origin_is_refused(backoffice: Backoffice) -> None:
    form = {"user": USER, "password": PASSWORD, "csrf_token": await backoffice.login_token()}
    response = await backoffice.client.post(
        "/inbox/login", data=form, headers={"Origin": "https://evil.example"}, allow_redirects=False
    )
    assert response.status == 403
    own = f"http://{backoffice.client.host}:{backoffice.client.port}"
    response = await backoffice.client.post("/inbox/login", data=form, headers={"Origin": own}, allow_redirects=False)
    assert response.status == 303


@pytest.mark.asyncio
async def test_nobody_signs_in_without_a_configured_account(
    start_backoffice: StartBackoffice, web_settings: WebSettings
) -> None:
    unset = await start_backoffice(web_settings.model_copy(update={"manager_user": "", "manager_password_hash": None}))
    assert (await unset.sign_in(user="", password="")).status == 401
    assert (await unset.sign_in()).status == 401


def test_hash_password_prints_an_argon2_hash_of_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("pitkä salasana \n"))
    assert bot_main(["web", "hash-password"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("$argon2id$")
    assert PasswordHasher().verify(printed, "pitkä salasana ")  # only the line break is dropped


def test_hash_password_refuses_an_empty_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert bot_main(["web", "hash-password"]) == 1


def test_the_session_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = WebSettings(_env_file=None, secret_key_file=tmp_path / "var" / "web-secret.key")  # type: ignore[call-arg]
    first = load_secret_key(settings)
    assert load_secret_key(settings) == first
    mode = stat.S_IMODE(os.stat(settings.secret_key_file).st_mode)
    assert mode == 0o600

    with pytest.raises(SecretKeyError, match="RIS3_WEB_SECRET_KEY is not a Fernet key"):
        load_secret_key(settings.model_copy(update={"secret_key": SecretStr("too-short")}))


def test_allowed_origins_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIS3_WEB_ALLOWED_ORIGINS", "https://www.kymenlaakso.fi/, https://example.org")
    assert WebSettings(_env_file=None).allowed_origins == [  # type: ignore[call-arg]
        "https://www.kymenlaakso.fi",
        "https://example.org",
    ]


@pytest.mark.asyncio
async def test_sign_ins_are_logged_without_passwords(backoffice: Backoffice, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.web")
    await backoffice.sign_in(password="väärä-salasana")
    await backoffice.sign_in(user="väärä-salasana")  # a password typed into the name field
    await backoffice.sign_in()
    assert f"failed sign-in for {USER} from" in caplog.text
    assert "failed sign-in for an unknown user name from" in caplog.text
    assert f"{USER} signed in from" in caplog.text
    assert "väärä-salasana" not in caplog.text and PASSWORD not in caplog.text


@pytest.mark.asyncio
async def test_a_failed_sign_in_is_answered_late(start_backoffice: StartBackoffice, web_settings: WebSettings) -> None:
    slow = await start_backoffice(web_settings.model_copy(update={"login_delay_seconds": 0.3}))
    started = time.perf_counter()
    assert (await slow.sign_in(password="wrong")).status == 401
    assert time.perf_counter() - started >= 0.3


@pytest.mark.asyncio
async def test_a_session_expires(start_backoffice: StartBackoffice, web_settings: WebSettings) -> None:
    short = await start_backoffice(web_settings.model_copy(update={"session_max_age_seconds": 1}))
    assert (await short.sign_in()).status == 303
    assert (await short.client.get("/api/tickets")).status == 200
    cookie = short.cookie()
    assert cookie
    await asyncio.sleep(2.2)
    short.use_cookie(cookie)  # kept by a client that ignores the cookie's own expiry
    assert (await short.client.get("/api/tickets")).status == 401


@pytest.mark.asyncio
async def test_a_new_password_ends_older_sessions(start_backoffice: StartBackoffice, web_settings: WebSettings) -> None:
    before = await start_backoffice()
    assert (await before.sign_in()).status == 303
    cookie = before.cookie()
    assert cookie
    # The same key, a new password hash: as after a restart with RIS3_WEB_MANAGER_PASSWORD_HASH changed.
    changed = web_settings.model_copy(update={"manager_password_hash": SecretStr(hash_password("uusi salasana"))})
    after = await start_backoffice(changed)
    after.use_cookie(cookie)
    assert (await after.client.get("/api/tickets")).status == 401
    assert (await after.sign_in(password="uusi salasana")).status == 303
