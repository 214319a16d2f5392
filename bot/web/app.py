"""The back office's aiohttp application: routes, middlewares and the background work."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiohttp import web

from bot.channels.backoffice_link import KEPT_REPLIES_PATH, TELEGRAM_REPLY_PATH
from bot.handoff.config import HandoffSettings
from bot.handoff.store import HandoffStore
from bot.metrics.backoffice import setup_metrics
from bot.web import api, auth, inbox, internal, replies
from bot.web.account_store import AccountStore
from bot.web.accounts_page import setup_accounts
from bot.web.background import background_tasks
from bot.web.body_limits import body_limits
from bot.web.config import WebSettings
from bot.web.csrf import csrf_protection
from bot.web.database_health import DatabaseHealth
from bot.web.errors import store_errors
from bot.web.health import health
from bot.web.insights import setup_insights
from bot.web.keys import (
    ACCOUNT,
    ACCOUNTS,
    HANDOFF_SETTINGS,
    HEALTH,
    OUTBOX_WAKE,
    PASSWORD_CHECKS,
    REVOCATIONS,
    ROUTES,
    SETTINGS,
    SIGN_IN_LIMITS,
    STORE,
)
from bot.web.knowledge import setup_knowledge
from bot.web.password_checks import PasswordChecks
from bot.web.passwords import ManagerAccount
from bot.web.privacy_requests import setup_privacy_requests
from bot.web.review import setup_review
from bot.web.roles import enforce_roles
from bot.web.route_status import RouteStatus
from bot.web.secret_key import load_secret_key
from bot.web.security_headers import security_headers
from bot.web.sessions import Revocations, setup_sessions
from bot.web.sign_in_limits import SignInLimits
from bot.web.widget_routes import setup_widget

logger = logging.getLogger(__name__)

# Public files. The chat widget (built in its own issue) puts its assets under static/widget/.
STATIC_DIR = Path(__file__).resolve().parent / "static"


def _account(settings: WebSettings) -> ManagerAccount:
    password_hash = settings.manager_password_hash.get_secret_value() if settings.manager_password_hash else ""
    if not (settings.manager_user and password_hash):
        logger.warning(
            "back office: RIS3_WEB_MANAGER_USER or RIS3_WEB_MANAGER_PASSWORD_HASH not set, nobody can sign in"
        )
    elif not password_hash.startswith("$argon2"):
        logger.warning(
            "back office: RIS3_WEB_MANAGER_PASSWORD_HASH is not an argon2 hash (see `bot web hash-password`)"
        )
    return ManagerAccount(settings.manager_user, password_hash)


def _routes(app: web.Application) -> None:
    setup_widget(app)  # the demo page at / and CORS on the widget assets
    app.router.add_get("/health", health)

    app.router.add_get(auth.LOGIN_PATH, auth.login_form)
    app.router.add_post(auth.LOGIN_PATH, auth.login)
    app.router.add_post("/inbox/logout", auth.logout)
    app.router.add_get("/inbox", inbox.ticket_list)
    app.router.add_get("/inbox/tickets/{reference}", inbox.ticket_page)
    app.router.add_get("/inbox/tickets/{reference}/deliveries", inbox.deliveries)
    app.router.add_post("/inbox/tickets/{reference}/status", inbox.change_status)
    app.router.add_post("/inbox/tickets/{reference}/replies", replies.inbox_reply)

    app.router.add_get("/api/session", api.session_info)
    app.router.add_get("/api/tickets", api.list_tickets)
    app.router.add_get("/api/tickets/{reference}", api.get_ticket)
    app.router.add_post("/api/tickets/{reference}/status", api.set_status)
    app.router.add_post("/api/tickets/{reference}/replies", replies.api_reply)

    # For the Rasa server's channels, behind the shared token (docs/handoff.md).
    app.router.add_post(KEPT_REPLIES_PATH, internal.kept_replies)
    app.router.add_post(TELEGRAM_REPLY_PATH, internal.telegram_reply)

    setup_insights(app)  # /inbox/insights, /api/insights, /api/insights.csv (docs/insights.md)
    setup_review(app)  # /inbox/review, /api/review (docs/review.md)
    setup_knowledge(app)  # /inbox/knowledge, /api/knowledge (docs/knowledge.md); uses the Review desk
    setup_metrics(app)  # /metrics behind RIS3_METRICS_TOKEN (docs/operations.md)
    setup_privacy_requests(app)  # /inbox/privacy, /api/privacy (docs/privacy.md)
    setup_accounts(app)  # /inbox/accounts, /api/accounts (docs/staff.md)

    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)


def create_app(settings: WebSettings | None = None, handoff_settings: HandoffSettings | None = None) -> web.Application:
    settings = settings or WebSettings()
    handoff_settings = handoff_settings or HandoffSettings()
    # Outermost first: headers on every answer, then the session, then who is signed in, then what their roles
    # let them open (bot/web/roles.py), then how large a body the route reads (bot/web/body_limits.py), then CSRF.
    app = web.Application(middlewares=[security_headers])
    setup_sessions(app, settings, load_secret_key(settings))
    app.middlewares.extend([auth.require_sign_in, enforce_roles, body_limits, csrf_protection, store_errors])

    app[SETTINGS] = settings
    app[HANDOFF_SETTINGS] = handoff_settings
    # The store connects lazily; its migrations run at start-up in background_tasks.
    app[STORE] = HandoffStore(handoff_settings.database_url)
    app[HEALTH] = DatabaseHealth(app[STORE])
    app[OUTBOX_WAKE] = asyncio.Event()
    app[ROUTES] = RouteStatus.of(handoff_settings)
    app[ACCOUNT] = _account(settings)
    # On the ticket store's engine: the accounts live in the same database (revision 0005).
    app[ACCOUNTS] = AccountStore(app[STORE].engine)
    app[REVOCATIONS] = Revocations()
    app[SIGN_IN_LIMITS] = SignInLimits(settings)
    app[PASSWORD_CHECKS] = PasswordChecks(settings.password_check_concurrency, settings.password_check_queue)

    _routes(app)
    app.cleanup_ctx.append(background_tasks)
    app.on_cleanup.append(_close_password_checks)
    return app


async def _close_password_checks(app: web.Application) -> None:
    app[PASSWORD_CHECKS].close()
