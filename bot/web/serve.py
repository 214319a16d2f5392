"""Running the back office (`bot web`) and making the manager's password hash (`bot web hash-password`)."""

from __future__ import annotations

import getpass
import logging
import sys
import warnings

from aiohttp import web
from pydantic import ValidationError

from bot.http_framing.aiohttp_server import guarded_event_loop
from bot.web.app import create_app
from bot.web.config import WebSettings, describe_errors
from bot.web.passwords import hash_password
from bot.web.secret_key import SecretKeyError


def run(host: str | None = None, port: int | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiohttp-session 2.12 keys requests with strings, which aiohttp flags on every request: noise, not news.
    warnings.filterwarnings("ignore", message="It is recommended to use web.RequestKey", category=UserWarning)
    try:
        settings = WebSettings()
    except ValidationError as exc:
        print(f"web: bad setting\n{describe_errors(exc)}", file=sys.stderr)
        return 1
    host, port = host or settings.host, port or settings.port
    try:
        app = create_app(settings)
    except SecretKeyError as exc:
        print(f"web: {exc}", file=sys.stderr)
        return 1
    # Every request's framing is checked before aiohttp reads it (docs/security.md, "The HTTP layer").
    web.run_app(app, host=host, port=port, loop=guarded_event_loop())
    return 0


def read_password() -> str:
    """From the terminal (asked twice, not echoed) or the first line of a pipe."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    # Only the line break is removed: spaces may belong to the password.
    return sys.stdin.readline().rstrip("\r\n")


def print_password_hash() -> int:
    try:
        print(hash_password(read_password()))
    except ValueError as exc:
        print(f"hash-password: {exc}", file=sys.stderr)
        return 1
    print("set it as RIS3_WEB_MANAGER_PASSWORD_HASH (quote it: it contains $ signs)", file=sys.stderr)
    return 0
