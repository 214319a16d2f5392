"""The Accounts page (/inbox/accounts, administrators only; bot/web/roles.py): the staff accounts, a new one,
changing roles, disabling and enabling, setting a new password. /api/accounts lists them as JSON.

Every change names the administrator who made it (changed_by) and takes effect on the account's next request:
each request reads the account again (bot/web/staff.py). A refused change answers 422 with the reason on the
page and the form as it was typed, except the password.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.web.account_store import (
    ADMIN,
    ROLE_LABELS,
    ROLES,
    AccountError,
    AccountNotFound,
    AccountRecord,
    check_roles,
    check_user_name,
)
from bot.web.errors import error_response
from bot.web.identity import USER_KEY
from bot.web.keys import ACCOUNT, ACCOUNTS, PASSWORD_CHECKS
from bot.web.password_checks import PasswordChecksBusy
from bot.web.passwords import hash_password, password_problem
from bot.web.sessions import csrf_token, start_session
from bot.web.staff import tag_of
from bot.web.templates import render

logger = logging.getLogger(__name__)

PAGE = "/inbox/accounts"


def setup_accounts(app: web.Application) -> None:
    app.router.add_get(PAGE, accounts_page)
    app.router.add_post(PAGE, create_account)
    app.router.add_post(PAGE + "/{user}/roles", change_roles)
    app.router.add_post(PAGE + "/{user}/disable", functools.partial(change_disabled, disabled=True))
    app.router.add_post(PAGE + "/{user}/enable", functools.partial(change_disabled, disabled=False))
    app.router.add_post(PAGE + "/{user}/password", change_password)
    app.router.add_get("/api/accounts", api_accounts)


def account_json(record: AccountRecord) -> dict[str, Any]:
    # Never the hash.
    return {
        "user": record.user,
        "roles": record.role_list,
        "disabled": record.disabled,
        "created_at": record.created_at.isoformat(),
        "created_by": record.created_by,
        "changed_at": record.changed_at.isoformat(),
        "changed_by": record.changed_by,
    }


async def _page(request: web.Request, *, status: int = 200, error: str | None = None, **form: Any) -> web.Response:
    store = request.app[ACCOUNTS]
    accounts = await asyncio.to_thread(store.list)
    builtin = request.app[ACCOUNT]
    saved = request.query.get("saved", "")
    context = {
        "signed_in": request[USER_KEY],
        "csrf_token": await csrf_token(request),
        "accounts": accounts,
        "roles": ROLES,
        "role_labels": ROLE_LABELS,
        # The settings' account, unless an account of the same name replaces it.
        "builtin": builtin.user if builtin.configured and all(a.user != builtin.user for a in accounts) else None,
        "admin_exists": any(ADMIN in a.roles and not a.disabled for a in accounts),
        "saved": saved if any(a.user == saved for a in accounts) else None,
        "error": error,
        "form": {"user": "", "roles": [], **form},
    }
    return render("accounts.html", context, status=status)


async def accounts_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _saved(user: str) -> web.HTTPSeeOther:
    # Post/redirect/get: a reload does not send the form again.
    return web.HTTPSeeOther(f"{PAGE}?saved={user}#account-{user}")


def _roles(form: MultiDictProxy[Any]) -> list[object]:
    return list(form.getall("roles", []))


async def _new_hash(request: web.Request, form: MultiDictProxy[Any], user: str) -> str:
    """The hash of the form's new password; raises AccountError with what is wrong with it."""
    password, again = form.get("password"), form.get("password_again")
    if not isinstance(password, str) or not isinstance(again, str):
        raise AccountError("Type the new password twice.")
    if password != again:
        raise AccountError("The two passwords differ.")
    problem = password_problem(password, user)
    if problem:
        raise AccountError(problem)
    # argon2 on the sign-ins' own threads: hashing costs what a sign-in does, and a burst waits its turn there.
    return await request.app[PASSWORD_CHECKS].run(functools.partial(hash_password, password))


async def create_account(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    user = form.get("user")
    user = user.strip() if isinstance(user, str) else ""
    roles = _roles(form)
    by = request[USER_KEY]
    try:
        if user == request.app[ACCOUNT].user:
            raise AccountError(f"{user} is the account from the settings; choose another name.")
        check_user_name(user)
        check_roles(roles)
        password_hash = await _new_hash(request, form, user)
        await asyncio.to_thread(request.app[ACCOUNTS].add, user, password_hash, roles, by)
    except AccountError as exc:
        return await _page(request, status=422, error=str(exc), user=user, roles=[str(r) for r in roles])
    except PasswordChecksBusy:
        return error_response(request, 503, "The server is busy checking passwords; try again in a moment.")
    logger.info("back office: %s created the account %s (roles: %s)", by, user, ", ".join(map(str, roles)))
    raise _saved(user)


async def change_roles(request: web.Request) -> web.StreamResponse:
    user, by = request.match_info["user"], request[USER_KEY]
    roles = _roles(await request.post())
    try:
        record = await asyncio.to_thread(request.app[ACCOUNTS].set_roles, user, roles, by)
    except AccountNotFound as exc:
        return error_response(request, 404, str(exc))
    except AccountError as exc:
        return await _page(request, status=422, error=str(exc))
    logger.info("back office: %s set the roles of %s to %s", by, user, ", ".join(record.role_list))
    raise _saved(user)


async def change_disabled(request: web.Request, *, disabled: bool) -> web.StreamResponse:
    user, by = request.match_info["user"], request[USER_KEY]
    try:
        if disabled and user == by:
            raise AccountError("You cannot disable your own account; another administrator can.")
        await asyncio.to_thread(request.app[ACCOUNTS].set_disabled, user, disabled, by)
    except AccountNotFound as exc:
        return error_response(request, 404, str(exc))
    except AccountError as exc:
        return await _page(request, status=422, error=str(exc))
    logger.info("back office: %s %s the account %s", by, "disabled" if disabled else "enabled", user)
    raise _saved(user)


async def change_password(request: web.Request) -> web.StreamResponse:
    user, by = request.match_info["user"], request[USER_KEY]
    form = await request.post()
    try:
        if await asyncio.to_thread(request.app[ACCOUNTS].get, user) is None:
            return error_response(request, 404, f"No account named {user}.")
        password_hash = await _new_hash(request, form, user)
        record = await asyncio.to_thread(request.app[ACCOUNTS].set_password, user, password_hash, by)
    except AccountNotFound as exc:
        return error_response(request, 404, str(exc))
    except AccountError as exc:
        return await _page(request, status=422, error=f"{user}: {exc}")
    except PasswordChecksBusy:
        return error_response(request, 503, "The server is busy checking passwords; try again in a moment.")
    # The account's sessions end with the old password (their tag names it); one's own goes on with the new tag.
    if user == by:
        await start_session(request, user, tag_of(record))
    logger.info("back office: %s set a new password for %s", by, user)
    raise _saved(user)


async def api_accounts(request: web.Request) -> web.Response:
    accounts = await asyncio.to_thread(request.app[ACCOUNTS].list)
    builtin = request.app[ACCOUNT]
    return web.json_response({
        "accounts": [account_json(record) for record in accounts],
        "settings_account": builtin.user if builtin.configured else None,
    })
