"""Who may open what: one table of path prefixes and the roles allowed there, enforced by one middleware after
sign-in, so that no route can be forgotten. Anything under /inbox or /api that the table does not name is
refused (a new page is closed until it is added here); tests/web/test_web_roles.py walks every route.

The roles (docs/staff.md): manager, the tickets and the personal data they hold; editor, knowledge and Review;
admin, the accounts. Insights (no personal data), the session and signing out are for every signed-in account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from bot.web.account_store import ADMIN, EDITOR, MANAGER, ROLES
from bot.web.errors import error_response, is_api
from bot.web.handlers import Handler
from bot.web.identity import ROLES_KEY, USER_KEY
from bot.web.sessions import csrf_token
from bot.web.templates import NAVIGATION, Navigation, render

logger = logging.getLogger(__name__)

ANYONE = frozenset(ROLES)


@dataclass(frozen=True)
class Rule:
    prefix: str
    roles: frozenset[str]
    # Exact: this path only (the ticket list at /inbox is not everything under /inbox).
    exact: bool = False

    def matches(self, path: str) -> bool:
        if path == self.prefix:
            return True
        # "/api/insights" covers /api/insights/… and /api/insights.csv, never /api/insightsX.
        return not self.exact and path.startswith((self.prefix + "/", self.prefix + "."))


def _rule(prefix: str, *roles: str, exact: bool = False) -> Rule:
    return Rule(prefix, frozenset(roles), exact)


# The first rule that matches decides.
POLICY: tuple[Rule, ...] = (
    _rule("/inbox", MANAGER, exact=True),  # the ticket list
    _rule("/inbox/tickets", MANAGER),
    _rule("/api/tickets", MANAGER),
    _rule("/inbox/privacy", MANAGER),  # finding, exporting and erasing a person's data
    _rule("/api/privacy", MANAGER),
    _rule("/inbox/review", EDITOR),
    _rule("/api/review", EDITOR),
    _rule("/inbox/knowledge", EDITOR),
    _rule("/api/knowledge", EDITOR),
    _rule("/inbox/accounts", ADMIN),
    _rule("/api/accounts", ADMIN),
    _rule("/inbox/insights", *ANYONE),  # counts and questions, no personal data
    _rule("/api/insights", *ANYONE),
    _rule("/api/session", *ANYONE, exact=True),
    _rule("/inbox/logout", *ANYONE, exact=True),
)

# The pages of the navigation, in its order; the first an account may open is where it lands after sign-in.
PAGES: tuple[tuple[str, str], ...] = (
    ("/inbox", "Tickets"),
    ("/inbox/review", "Review"),
    ("/inbox/knowledge", "Knowledge"),
    ("/inbox/accounts", "Accounts"),
    ("/inbox/insights", "Insights"),
    ("/inbox/privacy", "Privacy"),
)


def allowed_roles(path: str) -> frozenset[str]:
    """The roles that may open this path; none for a path under /inbox or /api that the table does not name."""
    for rule in POLICY:
        if rule.matches(path):
            return rule.roles
    return frozenset()


def may_open(roles: frozenset[str], path: str) -> bool:
    return bool(roles & allowed_roles(path))


def _registered(app: web.Application, path: str) -> bool:
    # Only pages this back office has: a page named in the table but built elsewhere shows once it is added.
    return any(resource.canonical == path for resource in app.router.resources())


def navigation(app: web.Application, roles: frozenset[str]) -> Navigation:
    links = tuple((path, label) for path, label in PAGES if may_open(roles, path) and _registered(app, path))
    return Navigation(links, links[0][0] if links else "/inbox/insights")


def landing(app: web.Application, roles: frozenset[str], asked_for: str | None = None) -> str:
    """Where an account goes after signing in: the page it asked for when it may open it, else its first page."""
    if asked_for is not None and may_open(roles, asked_for.split("?", 1)[0]):
        return asked_for
    return navigation(app, roles).home


async def forbidden(request: web.Request) -> web.StreamResponse:
    if is_api(request):
        return error_response(request, 403, "your account's roles do not include this part of the API")
    # A page with the navigation, so that the way to what the account may open is one click away.
    context = {
        "signed_in": request[USER_KEY],
        "csrf_token": await csrf_token(request),
        "message": "Your account may not open this page: its roles do not include it.",
    }
    return render("forbidden.html", context, status=403)


@web.middleware
async def enforce_roles(request: web.Request, handler: Handler) -> web.StreamResponse:
    """After require_sign_in: a request it let through carries the account's roles (ROLES_KEY). Requests without
    them (public pages, /internal/ and /metrics with their own tokens) pass untouched."""
    roles = request.get(ROLES_KEY)
    if roles is None:
        return await handler(request)
    # For base.html; each request runs in a task of its own, so this reaches only this request's pages.
    # Reset afterwards: the requests of one keep-alive connection share a task.
    token = NAVIGATION.set(navigation(request.app, roles))
    try:
        if not may_open(roles, request.path):
            logger.warning("back office: %s %s refused to %s (roles: %s)", request.method, request.path,
                           request[USER_KEY], ", ".join(sorted(roles)) or "none")
            return await forbidden(request)
        return await handler(request)
    finally:
        NAVIGATION.reset(token)
