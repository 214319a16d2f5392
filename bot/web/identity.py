"""What the sign-in middleware learns about a request's account, for the handlers and the role check."""

from __future__ import annotations

from aiohttp import web

# The account's user name: what every change records (a reply's author, a review decision, a privacy action).
USER_KEY = web.RequestKey("user", str)
# Its roles as they are now, read from the accounts on each request (bot/web/staff.py).
ROLES_KEY = web.RequestKey("roles", frozenset)
