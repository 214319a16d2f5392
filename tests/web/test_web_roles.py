"""Roles on every route: walking the application's own routes, each role gets its pages or 403 as the issue's
table says, and nobody signed in gets the sign-in page (302) or 401. A route added later is walked too: one the
expectations below do not name is expected closed to every role (the policy's default)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import pytest_asyncio
from pydantic import SecretStr
from web_helpers import PASSWORD, USER, Backoffice, StartBackoffice

from bot.handoff.config import HandoffSettings
from bot.handoff.store import HandoffStore
from bot.web.account_store import AccountStore, LastAdmin
from bot.web.config import WebSettings
from bot.web.roles import may_open

# The table, written out again here rather than read from bot/web/roles.py: the test checks the app
# against what was asked for, not against itself. (prefix, exact, roles)
EXPECTED: list[tuple[str, bool, set[str]]] = [
    ("/inbox", True, {"manager"}),
    ("/inbox/tickets", False, {"manager"}),
    ("/api/tickets", False, {"manager"}),
    ("/inbox/privacy", False, {"manager"}),
    ("/api/privacy", False, {"manager"}),
    ("/inbox/review", False, {"editor"}),
    ("/api/review", False, {"editor"}),
    ("/inbox/knowledge", False, {"editor"}),
    ("/api/knowledge", False, {"editor"}),
    ("/inbox/accounts", False, {"admin"}),
    ("/api/accounts", False, {"admin"}),
    ("/inbox/insights", False, {"manager", "editor", "admin"}),
    ("/api/insights", False, {"manager", "editor", "admin"}),
    ("/api/session", True, {"manager", "editor", "admin"}),
    ("/inbox/logout", True, {"manager", "editor", "admin"}),
]
ROLE_ACCOUNTS = {"manager": "mona", "editor": "eero", "admin": "aino"}
SAMPLE = {"reference": "RIS3-7K2Q", "group": "g1", "user": "nobody"}
ROLE_REFUSAL = "roles do not include"
CSRF_REFUSAL = "The form has expired"


def expected_roles(path: str) -> set[str]:
    for prefix, exact, roles in EXPECTED:
        if path == prefix or (not exact and path.startswith((prefix + "/", prefix + "."))):
            return roles
    return set()


def protected(path: str) -> bool:
    return path != "/inbox/login" and any(path == p or path.startswith(p + "/") for p in ("/inbox", "/api"))


def concrete(canonical: str) -> str:
    if canonical == "/static":
        return "/static/backoffice.css"
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), "x"), canonical)


@pytest.fixture
def accounts(store: HandoffStore, database_url: str, password_hash: str) -> Iterator[AccountStore]:
    account_store = AccountStore.open(database_url)
    for role, user in ROLE_ACCOUNTS.items():
        account_store.add(user, password_hash, [role], by="test")
    yield account_store
    account_store.close()


@pytest_asyncio.fixture
async def offices(start_backoffice: StartBackoffice, accounts: AccountStore) -> dict[str, Backoffice]:
    """One signed-in browser per role, and one signed out ("nobody")."""
    browsers = {"nobody": await start_backoffice()}
    for role, user in ROLE_ACCOUNTS.items():
        office = await start_backoffice()
        response = await office.sign_in(user)
        assert response.status == 303, await response.text()
        browsers[role] = office
    return browsers


def routes(office: Backoffice) -> list[tuple[str, str]]:
    found = []
    for route in office.client.app.router.routes():  # type: ignore[union-attr]
        if route.method == "HEAD" or route.resource is None:
            continue
        found.append((route.method, concrete(route.resource.canonical)))
    return sorted(set(found))


@pytest.mark.asyncio
async def test_every_route_answers_each_role_as_the_table_says(offices: dict[str, Backoffice]) -> None:
    walked = routes(offices["nobody"])
    assert ("GET", "/inbox/accounts") in walked and ("POST", "/api/tickets/RIS3-7K2Q/replies") in walked
    tokens = {role: await offices[role].api_token() for role in ROLE_ACCOUNTS}
    for method, path in walked:
        if path == "/inbox/logout":
            continue  # signing out would end the browser's session; tested below
        anonymous = await offices["nobody"].client.request(method, path, allow_redirects=False)
        if protected(path):
            if path.startswith("/api"):
                assert anonymous.status == 401, (method, path)
            else:
                assert anonymous.status == 302, (method, path)
                assert anonymous.headers["Location"].startswith("/inbox/login?next="), (method, path)
        for role in ROLE_ACCOUNTS:
            client = offices[role].client
            # POSTs go without their CSRF token: the role check comes first, and a request it lets through is
            # then stopped by the CSRF check (its own message) before it changes anything.
            headers = {"Accept": "application/json"} if method == "GET" else {}
            answer = await client.request(method, path, headers=headers, allow_redirects=False)
            body = (await answer.read()).decode(errors="replace")
            where = (role, method, path, answer.status)
            if not protected(path):
                assert ROLE_REFUSAL not in body, where
                continue
            if role in expected_roles(path):
                if method == "POST":
                    assert answer.status == 403 and CSRF_REFUSAL in body, where
                else:
                    assert answer.status not in (401, 403) and ROLE_REFUSAL not in body, where
                    assert not answer.headers.get("Location", "").startswith("/inbox/login"), where
            else:
                assert answer.status == 403 and ROLE_REFUSAL in body, where
                if path.startswith("/api"):
                    assert answer.content_type == "application/json", where
                else:
                    assert answer.content_type == "text/html" and "Sign out" in body, where
                # With the CSRF token the answer is the same: refused for the role, not for the form.
                if method == "POST":
                    again = await client.post(path, headers={"X-CSRF-Token": tokens[role]}, allow_redirects=False)
                    assert again.status == 403 and ROLE_REFUSAL in await again.text(), where


def test_the_policy_agrees_with_the_table_and_closes_what_it_does_not_name() -> None:
    paths = [prefix for prefix, _, _ in EXPECTED] + [
        "/inbox/tickets/RIS3-7K2Q/status", "/api/insights.csv", "/inbox/somewhere-new", "/api/new-thing",
        "/api/sessionx", "/inbox/insightsx", "/inboxes", "/inbox/logout/x",
    ]
    for path in paths:
        for role in ROLE_ACCOUNTS:
            assert may_open(frozenset({role}), path) == (role in expected_roles(path)), (role, path)


@pytest.mark.asyncio
async def test_each_role_lands_on_a_page_it_may_open(
    start_backoffice: StartBackoffice, accounts: AccountStore
) -> None:
    for user, home in (("mona", "/inbox"), ("eero", "/inbox/review"), ("aino", "/inbox/accounts")):
        office = await start_backoffice()
        assert (await office.sign_in(user)).headers["Location"] == home
        # A page asked for is honoured only when the role may open it.
        office = await start_backoffice()
        assert (await office.sign_in(user, next="/inbox/insights")).headers["Location"] == "/inbox/insights"
        office = await start_backoffice()
        assert (await office.sign_in(user, next="/inbox?status=closed")).headers["Location"] == (
            "/inbox?status=closed" if user == "mona" else home
        )
        # Signed in, the sign-in page sends the account home.
        assert (await office.client.get("/inbox/login", allow_redirects=False)).headers["Location"] == home


@pytest.mark.asyncio
async def test_the_navigation_shows_only_what_the_account_may_open(offices: dict[str, Backoffice]) -> None:
    expected = {
        "manager": ({"/inbox", "/inbox/insights", "/inbox/privacy"}, "/inbox/insights"),
        "editor": ({"/inbox/review", "/inbox/knowledge", "/inbox/insights"}, "/inbox/insights"),
        "admin": ({"/inbox/accounts", "/inbox/insights"}, "/inbox/accounts"),
    }
    for role, (links, page) in expected.items():
        html = await (await offices[role].client.get(page)).text()
        nav = re.search(r'<nav class="sections"[^>]*>(.*?)</nav>', html, re.S)
        assert nav, role
        assert set(re.findall(r'href="([^"]+)"', nav.group(1))) == links, role
    # The refusal page offers the way back.
    refused = await offices["editor"].client.get("/inbox")
    assert refused.status == 403
    assert 'href="/inbox/review"' in await refused.text()


@pytest.mark.asyncio
async def test_the_settings_account_has_every_role_until_an_administrator_exists(
    start_backoffice: StartBackoffice, store: HandoffStore, database_url: str, password_hash: str
) -> None:
    office = await start_backoffice()
    assert (await office.sign_in(USER)).status == 303
    for path in ("/inbox", "/inbox/review", "/inbox/accounts", "/inbox/privacy"):
        assert (await office.client.get(path)).status == 200, path
    accounts = AccountStore.open(database_url)
    try:
        accounts.add("aino", password_hash, ["admin"], by="test")
        # Its next request already has the project manager's role only.
        assert (await office.client.get("/inbox")).status == 200
        assert (await office.client.get("/inbox/accounts")).status == 403
        assert (await office.client.get("/inbox/review")).status == 403
        # The last administrator stays: disabling it would leave nobody to manage the accounts.
        with pytest.raises(LastAdmin):
            accounts.set_disabled("aino", True, by="test")
    finally:
        accounts.close()


@pytest.mark.asyncio
async def test_a_change_of_roles_counts_from_the_next_request(
    offices: dict[str, Backoffice], accounts: AccountStore
) -> None:
    editor = offices["editor"].client
    assert (await editor.get("/inbox/review")).status == 200
    assert (await editor.get("/inbox")).status == 403
    accounts.set_roles("eero", ["manager"], by="aino")
    assert (await editor.get("/inbox/review")).status == 403
    assert (await editor.get("/inbox")).status == 200
    assert (await (await editor.get("/api/session")).json())["user"] == "eero"


@pytest.mark.asyncio
async def test_disabling_an_account_ends_its_sessions_and_its_sign_ins(
    offices: dict[str, Backoffice], accounts: AccountStore
) -> None:
    manager = offices["manager"]
    assert (await manager.client.get("/inbox")).status == 200
    accounts.set_disabled("mona", True, by="aino")
    assert (await manager.client.get("/inbox", allow_redirects=False)).status == 302
    assert (await manager.client.get("/api/tickets")).status == 401
    refused = await manager.sign_in("mona")
    assert refused.status == 401 and "Wrong user name or password." in await refused.text()
    accounts.set_disabled("mona", False, by="aino")
    assert (await manager.sign_in("mona")).status == 303


@pytest.mark.asyncio
async def test_a_new_password_ends_the_accounts_other_sessions(
    offices: dict[str, Backoffice], accounts: AccountStore, password_hash: str
) -> None:
    editor = offices["editor"]
    from bot.web.passwords import hash_password

    accounts.set_password("eero", hash_password("a-whole-new-password"), by="aino")
    assert (await editor.client.get("/inbox/review", allow_redirects=False)).status == 302
    assert (await editor.sign_in("eero", PASSWORD)).status == 401
    assert (await editor.sign_in("eero", "a-whole-new-password")).status == 303


@pytest.mark.asyncio
async def test_signing_out_works_for_every_role(offices: dict[str, Backoffice]) -> None:
    for role in ROLE_ACCOUNTS:
        office = offices[role]
        response = await office.client.post(
            "/inbox/logout", data={"csrf_token": await office.api_token()}, allow_redirects=False
        )
        assert response.status == 303, role
        assert (await office.client.get("/api/session")).status == 401, role


@pytest.mark.asyncio
async def test_the_scripts_token_reaches_what_it_reached_before_and_not_the_accounts(
    start_backoffice: StartBackoffice, web_settings: WebSettings, accounts: AccountStore
) -> None:
    token = "t" * 40
    office = await start_backoffice(web_settings.model_copy(update={"api_token": SecretStr(token)}))
    bearer = {"Authorization": f"Bearer {token}"}
    for path in ("/api/session", "/api/tickets", "/api/insights", "/api/privacy?kind=reference&value=RIS3-7K2Q"):
        answer = await office.client.get(path, headers=bearer)
        assert answer.status not in (401, 403), path
    refused = await office.client.get("/api/accounts", headers=bearer)
    assert refused.status == 403
    # Still the API only, never the pages.
    assert (await office.client.get("/inbox/review", headers=bearer, allow_redirects=False)).status == 302


@pytest.mark.asyncio
async def test_without_the_database_only_the_settings_account_signs_in_with_tickets_only(
    start_backoffice: StartBackoffice,
) -> None:
    down = HandoffSettings(_env_file=None, database_url="postgresql+psycopg://x@127.0.0.1:1/x")  # type: ignore[call-arg]
    office = await start_backoffice(handoff=down)
    refused = await office.sign_in("aino")
    assert refused.status == 503 and "account database is unavailable" in await refused.text()
    assert (await office.sign_in(USER)).headers["Location"] == "/inbox"
    # Its own role only while the accounts cannot be read: never more than it may have.
    assert (await office.client.get("/inbox/accounts")).status == 403
    assert (await office.client.get("/api/session")).status == 200
