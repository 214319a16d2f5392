"""Typed keys for what the application shares between its handlers (aiohttp's AppKey)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.handoff.config import HandoffSettings
from bot.handoff.store import HandoffStore
from bot.web.account_store import AccountStore
from bot.web.config import WebSettings
from bot.web.database_health import DatabaseHealth
from bot.web.password_checks import PasswordChecks
from bot.web.passwords import ManagerAccount
from bot.web.route_status import RouteStatus
from bot.web.sessions import Revocations
from bot.web.sign_in_limits import SignInLimits

SETTINGS = web.AppKey("settings", WebSettings)
HANDOFF_SETTINGS = web.AppKey("handoff_settings", HandoffSettings)
STORE = web.AppKey("store", HandoffStore)
# The account in the settings (RIS3_WEB_MANAGER_USER), built in beside the staff accounts (bot/web/staff.py).
ACCOUNT = web.AppKey("account", ManagerAccount)
ACCOUNTS = web.AppKey("accounts", AccountStore)
REVOCATIONS = web.AppKey("revocations", Revocations)
SIGN_IN_LIMITS = web.AppKey("sign_in_limits", SignInLimits)
PASSWORD_CHECKS = web.AppKey("password_checks", PasswordChecks)
HEALTH = web.AppKey("health", DatabaseHealth)
# Set when a reply or a closing is stored: the outbox delivers it at once instead of at its next round.
OUTBOX_WAKE = web.AppKey("outbox_wake", asyncio.Event)
# The handoff's notification routes as last tried (bot/web/route_status.py), for the inbox.
ROUTES = web.AppKey("routes", RouteStatus)
