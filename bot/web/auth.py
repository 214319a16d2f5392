"""Signing the project manager in and out, and keeping everyone else out of /inbox and /api."""

from __future__ import annotations

import asyncio
import logging
import re

from aiohttp import web
from yarl import URL

from bot.web.errors import error_response, is_api
from bot.web.handlers import Handler
from bot.web.keys import ACCOUNT, REVOCATIONS, SETTINGS
from bot.web.sessions import csrf_token, end_session, signed_in_user, start_session
from bot.web.templates import render

logger = logging.getLogger(__name__)

LOGIN_PATH = "/inbox/login"
HOME_PATH = "/inbox"
USER_KEY = web.RequestKey("user", str)
# Where a sign-in may send the browser afterwards: only back to a page of the inbox, never elsewhere.
_SAFE_NEXT = re.compile(r"^/inbox(?:[/?][^\\]*)?$")


def _protected(path: str) -> bool:
    if path == LOGIN_PATH:
        return False
    return any(path == prefix or path.startswith(prefix + "/") for prefix in ("/inbox", "/api"))


def _safe_next(value: object) -> str:
    if isinstance(value, str) and _SAFE_NEXT.match(value) and "//" not in value:
        return value
    return HOME_PATH


@web.middleware
async def require_sign_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _protected(request.path):
        return await handler(request)
    user = await signed_in_user(request, request.app[REVOCATIONS], request.app[ACCOUNT].tag)
    if user is None:
        if is_api(request):
            return error_response(request, 401, "Sign in first.")
        raise web.HTTPFound(URL(LOGIN_PATH).with_query(next=request.path_qs))
    request[USER_KEY] = user
    return await handler(request)


async def _login_page(
    request: web.Request, next_path: object, *, error: str | None, status: int, user: str = ""
) -> web.Response:
    context = {
        "csrf_token": await csrf_token(request),
        "next": _safe_next(next_path),
        "error": error,
        "user_name": user,
        "signed_in": None,
    }
    return render("login.html", context, status=status)


async def login_form(request: web.Request) -> web.StreamResponse:
    if await signed_in_user(request, request.app[REVOCATIONS], request.app[ACCOUNT].tag) is not None:
        raise web.HTTPFound(HOME_PATH)
    return await _login_page(request, request.query.get("next"), error=None, status=200)


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    user, password = str(form.get("user", "")), str(form.get("password", ""))
    account = request.app[ACCOUNT]
    # argon2 takes tens of milliseconds of CPU on purpose: not on the event loop.
    if await asyncio.to_thread(account.check, user, password):
        await start_session(request, account.user, account.tag)
        logger.info("back office: %s signed in from %s", account.user, request.remote)
        raise web.HTTPSeeOther(_safe_next(form.get("next")))
    # The name is logged only when it is the manager's: a password typed into the wrong field stays out.
    who = account.user if account.configured and user == account.user else "an unknown user name"
    logger.warning("back office: failed sign-in for %s from %s", who, request.remote)
    await asyncio.sleep(request.app[SETTINGS].login_delay_seconds)
    # One message for a wrong name and a wrong password: the page does not tell which one exists.
    return await _login_page(request, form.get("next"), error="Wrong user name or password.", status=401, user=user)


async def logout(request: web.Request) -> web.StreamResponse:
    user = request.get(USER_KEY)
    await end_session(request, request.app[REVOCATIONS], request.app[SETTINGS].session_max_age_seconds)
    logger.info("back office: %s signed out", user)
    raise web.HTTPSeeOther(LOGIN_PATH)
