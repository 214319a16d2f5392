"""Signing staff in and out, and keeping everyone else out of /inbox and /api. What a signed-in account may
open is for the role check that follows (bot/web/roles.py); this middleware tells it who the account is and
which roles it holds now."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import re

from aiohttp import web
from yarl import URL

from bot.bearer import bearer_matches
from bot.handoff.store import StoreUnavailable
from bot.web.account_store import EDITOR, MANAGER
from bot.web.client_address import address_key, client_address
from bot.web.errors import error_response, is_api
from bot.web.handlers import Handler
from bot.web.identity import ROLES_KEY, USER_KEY
from bot.web.keys import ACCOUNT, ACCOUNTS, PASSWORD_CHECKS, REVOCATIONS, SETTINGS, SIGN_IN_LIMITS
from bot.web.password_checks import PasswordChecksBusy
from bot.web.roles import landing
from bot.web.sessions import csrf_token, end_session, session_identity, start_session
from bot.web.sign_in_limits import TooManyAttempts
from bot.web.staff import StaffAccount, check_sign_in, current_account
from bot.web.templates import render

logger = logging.getLogger(__name__)

LOGIN_PATH = "/inbox/login"
HOME_PATH = "/inbox"
# Set when the request carried the scripts' API token: no session, so no CSRF token to check.
BEARER_KEY = web.RequestKey("bearer", bool)
# Where a sign-in may send the browser afterwards: only back to a page of the inbox, never elsewhere.
_SAFE_NEXT = re.compile(r"^/inbox(?:[/?][^\\]*)?$")
# A sign-in turned away because the password checks are all busy may come back this soon.
BUSY_RETRY_SECONDS = 2
# The scripts' API token reaches what it reached before accounts had roles: the tickets, Review, Insights and
# privacy requests under /api, not the accounts.
SCRIPT_ROLES = frozenset({MANAGER, EDITOR})
ACCOUNTS_DOWN = "The account database is unavailable; try again in a moment."


def _protected(path: str) -> bool:
    if path == LOGIN_PATH:
        return False
    return any(path == prefix or path.startswith(prefix + "/") for prefix in ("/inbox", "/api"))


def _safe_next(value: object) -> str:
    if isinstance(value, str) and _SAFE_NEXT.match(value) and "//" not in value:
        return value
    return HOME_PATH


def _asked_for(value: object) -> str | None:
    return value if isinstance(value, str) and _safe_next(value) == value else None


async def signed_in_account(request: web.Request) -> StaffAccount | None:
    """The account of the request's session as it is now; None when there is none or it no longer stands.
    Raises StoreUnavailable when the accounts cannot be read (the built-in account then still works)."""
    identity = await session_identity(request, request.app[REVOCATIONS])
    if identity is None:
        return None
    user, tag = identity
    return await asyncio.to_thread(current_account, request.app[ACCOUNTS], request.app[ACCOUNT], user, tag)


def _script_token_ok(request: web.Request) -> bool:
    configured = request.app[SETTINGS].api_token
    token = configured.get_secret_value() if configured else ""
    return bool(token) and bearer_matches(token, request.headers.get("Authorization"))


@web.middleware
async def require_sign_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _protected(request.path):
        return await handler(request)
    if is_api(request) and _script_token_ok(request):
        request[USER_KEY] = request.app[ACCOUNT].user or "api"
        request[ROLES_KEY] = SCRIPT_ROLES
        request[BEARER_KEY] = True
        return await handler(request)
    try:
        account = await signed_in_account(request)
    except StoreUnavailable as exc:
        logger.warning("back office: %s", exc)
        return error_response(request, 503, ACCOUNTS_DOWN)
    if account is None:
        if is_api(request):
            return error_response(request, 401, "Sign in first.")
        raise web.HTTPFound(URL(LOGIN_PATH).with_query(next=request.path_qs))
    request[USER_KEY] = account.user
    request[ROLES_KEY] = account.roles
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
    try:
        account = await signed_in_account(request)
    except StoreUnavailable:
        account = None  # the form then, which answers 503 itself if the accounts are still away
    if account is not None:
        raise web.HTTPFound(landing(request.app, account.roles, _asked_for(request.query.get("next"))))
    return await _login_page(request, request.query.get("next"), error=None, status=200)


def _too_many(refused: TooManyAttempts) -> str:
    minutes = refused.minutes
    return f"Too many attempts; try again in {minutes} minute{'' if minutes == 1 else 's'}."


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    user, password = str(form.get("user", "")), str(form.get("password", ""))
    builtin, settings = request.app[ACCOUNT], request.app[SETTINGS]
    address = client_address(request, settings.trusted_proxies)
    # Refused before the password is hashed: a locked-out guess costs no CPU.
    try:
        attempt = request.app[SIGN_IN_LIMITS].attempt(address_key(address), user)
    except TooManyAttempts as refused:
        logger.warning("back office: sign-in from %s refused, too many failed attempts", address)
        page = await _login_page(request, form.get("next"), error=_too_many(refused), status=429, user=user)
        page.headers["Retry-After"] = str(math.ceil(refused.retry_after))
        return page
    with attempt:
        try:
            # argon2 takes tens of milliseconds of CPU on purpose: not on the event loop.
            outcome = await request.app[PASSWORD_CHECKS].run(
                functools.partial(check_sign_in, request.app[ACCOUNTS], builtin, user, password)
            )
        except StoreUnavailable as exc:
            attempt.abandoned()
            logger.warning("back office: sign-in from %s failed: %s", address, exc)
            return await _login_page(request, form.get("next"), error=ACCOUNTS_DOWN, status=503, user=user)
        except PasswordChecksBusy:
            attempt.abandoned()
            logger.warning("back office: sign-in from %s turned away, too many at once", address)
            message = "Too many sign-ins at once; try again in a moment."
            page = await _login_page(request, form.get("next"), error=message, status=503, user=user)
            page.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
            return page
        if outcome.account is not None:
            attempt.succeeded()
    account = outcome.account
    if account is not None:
        await start_session(request, account.user, account.tag)
        roles = ", ".join(sorted(account.roles))
        logger.info("back office: %s signed in from %s (roles: %s)", account.user, address, roles)
        raise web.HTTPSeeOther(landing(request.app, account.roles, _asked_for(form.get("next"))))
    # The name is logged only when it is an account's: a password typed into the wrong field stays out.
    who = user if outcome.known_name else "an unknown user name"
    logger.warning("back office: failed sign-in for %s from %s", who, address)
    await asyncio.sleep(settings.login_delay_seconds)
    # One message for a wrong name and a wrong password: the page does not tell which one exists.
    return await _login_page(request, form.get("next"), error="Wrong user name or password.", status=401, user=user)


async def logout(request: web.Request) -> web.StreamResponse:
    user = request.get(USER_KEY)
    await end_session(request, request.app[REVOCATIONS], request.app[SETTINGS].session_max_age_seconds)
    logger.info("back office: %s signed out", user)
    raise web.HTTPSeeOther(LOGIN_PATH)
