"""Signed-in state in an encrypted cookie (aiohttp-session's EncryptedCookieStorage, Fernet).

The cookie holds the user name, a session id and the session's CSRF token; Fernet both encrypts and
authenticates it, and its timestamp plus the session's creation time bound its life to max_age.
A cookie cannot be taken back once issued, so signing out also records the session id as revoked
until the cookie would have expired anyway. That record lives in this process only: a restart (or a
second instance) forgets it, which is acceptable for a few staff and sessions of a few hours. Disabling an
account, changing its roles or its password needs no revocation: every request reads the account again.
"""

from __future__ import annotations

import secrets
import time

import aiohttp_session
from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from bot.web.config import WebSettings

COOKIE_NAME = "ris3_backoffice"
USER, SESSION_ID, CSRF, ACCOUNT_TAG = "user", "sid", "csrf", "account"


class Revocations:
    """Session ids signed out before their cookie expired, each kept until that expiry."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def revoke(self, session_id: str, until: float) -> None:
        self._until[session_id] = until

    def is_revoked(self, session_id: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        # Forgetting expired entries here keeps the record as small as the number of live sessions.
        for expired in [sid for sid, until in self._until.items() if until < now]:
            del self._until[expired]
        return session_id in self._until


def setup_sessions(app: web.Application, settings: WebSettings, key: bytes) -> None:
    """key: a Fernet key as text (urlsafe base64), as load_secret_key returns it."""
    storage = EncryptedCookieStorage(
        # A Fernet object, not the bytes: aiohttp-session would base64-encode bytes a second time.
        Fernet(key),
        cookie_name=COOKIE_NAME,
        max_age=settings.session_max_age_seconds,
        secure=not settings.insecure_cookies,
        httponly=True,
        # Strict: the browser never sends the cookie with a request started from another site.
        samesite="Strict",
    )
    aiohttp_session.setup(app, storage)


async def session_identity(request: web.Request, revocations: Revocations) -> tuple[str, str] | None:
    """The user name and account tag a live session names; whether that account still stands (not disabled,
    same password) is for the caller to check against the accounts (bot/web/staff.py)."""
    session = await aiohttp_session.get_session(request)
    user, session_id, tag = session.get(USER), session.get(SESSION_ID), session.get(ACCOUNT_TAG)
    if not isinstance(user, str) or not isinstance(session_id, str) or not isinstance(tag, str):
        return None
    return None if revocations.is_revoked(session_id) else (user, tag)


async def csrf_token(request: web.Request) -> str:
    """The session's CSRF token; an anonymous session gets one too, for the sign-in form."""
    session = await aiohttp_session.get_session(request)
    token = session.get(CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF] = token
    return token


async def expected_csrf_token(request: web.Request) -> str | None:
    token = (await aiohttp_session.get_session(request)).get(CSRF)
    return token if isinstance(token, str) else None


async def start_session(request: web.Request, user: str, account_tag: str) -> None:
    # A fresh session (new id, new CSRF token) at sign-in: nothing from before it carries over.
    session = await aiohttp_session.new_session(request)
    session[USER] = user
    session[ACCOUNT_TAG] = account_tag
    session[SESSION_ID] = secrets.token_urlsafe(16)
    session[CSRF] = secrets.token_urlsafe(32)


async def end_session(request: web.Request, revocations: Revocations, max_age: int) -> None:
    session = await aiohttp_session.get_session(request)
    session_id = session.get(SESSION_ID)
    if isinstance(session_id, str):
        revocations.revoke(session_id, session.created + max_age)
    session.invalidate()
