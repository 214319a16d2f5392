"""The Accounts page and `bin/bot accounts`: creating, changing roles, disabling, new passwords; the rules
(strong enough password, valid name, the last administrator kept, nobody disables themself); every change
recorded with the account that made it, in the accounts and in the tickets."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
import pytest_asyncio
from web_helpers import USER, Backoffice, StartBackoffice, csrf_in

from bot.cli import main as bot_main
from bot.handoff.models import Ticket
from bot.handoff.store import HandoffStore
from bot.settings import PROJECT_ROOT
from bot.web.account_store import AccountStore

NEW_PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def accounts(store: HandoffStore, database_url: str, password_hash: str) -> Iterator[AccountStore]:
    account_store = AccountStore.open(database_url)
    account_store.add("aino", password_hash, ["admin"], by="test")
    account_store.add("mona", password_hash, ["manager"], by="test")
    yield account_store
    account_store.close()


@pytest_asyncio.fixture
async def admin(start_backoffice: StartBackoffice, accounts: AccountStore) -> Backoffice:
    office = await start_backoffice()
    assert (await office.sign_in("aino")).status == 303
    return office


async def _post(office: Backoffice, path: str, **form: str | list[str]) -> tuple[int, str, str]:
    token = csrf_in(await (await office.client.get("/inbox/accounts")).text())
    data: list[tuple[str, str]] = [("csrf_token", token)]
    for key, value in form.items():
        data.extend((key, item) for item in (value if isinstance(value, list) else [value]))
    response = await office.client.post(path, data=data, allow_redirects=False)
    return response.status, response.headers.get("Location", ""), await response.text()


@pytest.mark.asyncio
async def test_an_administrator_creates_an_account_that_then_signs_in(
    admin: Backoffice, accounts: AccountStore, start_backoffice: StartBackoffice
) -> None:
    status, location, _ = await _post(
        admin, "/inbox/accounts", user="eero", roles=["editor", "manager"], password=NEW_PASSWORD,
        password_again=NEW_PASSWORD,
    )
    assert status == 303 and location.startswith("/inbox/accounts?saved=eero")
    record = accounts.get("eero")
    assert record is not None and record.roles == {"editor", "manager"}
    assert record.created_by == "aino" and record.changed_by == "aino"
    assert NEW_PASSWORD not in record.password_hash and record.password_hash.startswith("$argon2")
    page = await (await admin.client.get(location)).text()
    assert "Saved: eero." in page and 'id="account-eero"' in page
    listed = await (await admin.client.get("/api/accounts")).json()
    eero = next(a for a in listed["accounts"] if a["user"] == "eero")
    assert eero["roles"] == ["manager", "editor"] and "password_hash" not in eero
    assert NEW_PASSWORD not in str(listed)

    newcomer = await start_backoffice()
    assert (await newcomer.sign_in("eero", NEW_PASSWORD)).headers["Location"] == "/inbox"


@pytest.mark.asyncio
async def test_bad_input_gets_a_reason_and_keeps_what_was_typed(admin: Backoffice, accounts: AccountStore) -> None:
    cases = [
        ({"user": "eero", "roles": ["editor"], "password": "tiny-1", "password_again": "tiny-1"}, "too short"),
        ({"user": "eero", "roles": ["editor"], "password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "x"},
         "differ"),
        ({"user": "eero", "roles": ["editor"], "password": "eero-" + NEW_PASSWORD,
          "password_again": "eero-" + NEW_PASSWORD}, "user name"),
        ({"user": "Eero Ä", "roles": ["editor"], "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
         "lower-case"),
        ({"user": "eero", "roles": [], "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}, "at least one role"),
        ({"user": "eero", "roles": ["root"], "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}, "Unknown role"),
        ({"user": "mona", "roles": ["editor"], "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}, "exists"),
        ({"user": USER, "roles": ["editor"], "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}, "settings"),
    ]
    for form, reason in cases:
        status, _, page = await _post(admin, "/inbox/accounts", **form)  # type: ignore[arg-type]
        assert status == 422 and reason in page, (form, page[-600:])
        if str(form["user"]).isascii():
            assert f'name="user" value="{form["user"]}"' in page, form
        assert str(form["password"]) not in page
    assert accounts.get("eero") is None
    assert {a.user for a in accounts.list()} == {"aino", "mona"}


@pytest.mark.asyncio
async def test_roles_disabling_and_passwords_from_the_page(admin: Backoffice, accounts: AccountStore) -> None:
    status, _, _ = await _post(admin, "/inbox/accounts/mona/roles", roles=["manager", "editor"])
    assert status == 303
    record = accounts.get("mona")
    assert record is not None and record.roles == {"manager", "editor"} and record.changed_by == "aino"

    assert (await _post(admin, "/inbox/accounts/mona/disable"))[0] == 303
    assert accounts.get("mona").disabled  # type: ignore[union-attr]
    assert (await _post(admin, "/inbox/accounts/mona/enable"))[0] == 303
    assert not accounts.get("mona").disabled  # type: ignore[union-attr]

    before = accounts.get("mona").password_hash  # type: ignore[union-attr]
    status, _, page = await _post(admin, "/inbox/accounts/mona/password", password="x", password_again="x")
    assert status == 422 and "too short" in page
    status, _, _ = await _post(
        admin, "/inbox/accounts/mona/password", password=NEW_PASSWORD, password_again=NEW_PASSWORD
    )
    assert status == 303 and accounts.get("mona").password_hash != before  # type: ignore[union-attr]

    assert (await _post(admin, "/inbox/accounts/nobody/roles", roles=["editor"]))[0] == 404
    assert (await _post(admin, "/inbox/accounts/mona/roles", roles=["root"]))[0] == 422


@pytest.mark.asyncio
async def test_the_last_administrator_stays_and_nobody_disables_themself(
    admin: Backoffice, accounts: AccountStore
) -> None:
    status, _, page = await _post(admin, "/inbox/accounts/aino/disable")
    assert status == 422 and "own account" in page
    status, _, page = await _post(admin, "/inbox/accounts/aino/roles", roles=["manager"])
    assert status == 422 and "last enabled administrator" in page
    record = accounts.get("aino")
    assert record is not None and record.roles == {"admin"} and not record.disabled
    # With a second administrator, the first may step down; the second then cannot be disabled by anyone.
    assert (await _post(admin, "/inbox/accounts/mona/roles", roles=["manager", "admin"]))[0] == 303
    assert (await _post(admin, "/inbox/accounts/aino/roles", roles=["manager"]))[0] == 303
    assert (await admin.client.get("/inbox/accounts")).status == 403  # counted at once
    assert accounts.get("aino").roles == {"manager"}  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_own_new_password_keeps_ones_session(admin: Backoffice, accounts: AccountStore) -> None:
    status, _, _ = await _post(admin, "/inbox/accounts/aino/password", password=NEW_PASSWORD,
                               password_again=NEW_PASSWORD)
    assert status == 303
    assert (await admin.client.get("/inbox/accounts")).status == 200


@pytest.mark.asyncio
async def test_changes_need_the_csrf_token_and_the_admin_role(
    admin: Backoffice, accounts: AccountStore, start_backoffice: StartBackoffice
) -> None:
    forged = await admin.client.post("/inbox/accounts/mona/disable", data={}, allow_redirects=False)
    assert forged.status == 403 and not accounts.get("mona").disabled  # type: ignore[union-attr]
    manager = await start_backoffice()
    assert (await manager.sign_in("mona")).status == 303
    token = await manager.api_token()
    refused = await manager.client.post("/inbox/accounts/aino/disable", data={"csrf_token": token})
    assert refused.status == 403 and not accounts.get("aino").disabled  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_ticket_changes_record_the_account_that_made_them(
    start_backoffice: StartBackoffice, accounts: AccountStore, store: HandoffStore,
    make_ticket: Callable[..., Ticket],
) -> None:
    ticket = make_ticket(conversation_id="rest:maija")
    office = await start_backoffice()
    assert (await office.sign_in("mona")).status == 303
    headers = {"X-CSRF-Token": await office.api_token()}
    reply = await office.client.post(f"/api/tickets/{ticket.reference}/replies", json={"text": "Hei"}, headers=headers)
    assert reply.status == 201 and (await reply.json())["author"] == "mona"
    changed = await office.client.post(
        f"/api/tickets/{ticket.reference}/status", json={"status": "waiting"}, headers=headers
    )
    assert (await changed.json())["status_changed_by"] == "mona"
    assert store.get(ticket.reference).status_changed_by == "mona"  # type: ignore[union-attr]
    page = await office.client.post(
        f"/inbox/tickets/{ticket.reference}/status", data={"status": "closed", "csrf_token": headers["X-CSRF-Token"]}
    )
    assert page.status == 200 and "status last set by mona" in await page.text()
    # A privacy action records the account too.
    erased = await office.client.post(
        "/api/privacy/erase", json={"kind": "reference", "value": ticket.reference}, headers=headers
    )
    assert erased.status == 200
    recent = await (await office.client.get("/inbox/privacy")).text()
    assert "<td>mona</td>" in recent


# --- bin/bot accounts ---------------------------------------------------------------------------------------------


def _cli(database_url: str, monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setenv("RIS3_HANDOFF_DATABASE_URL", database_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))  # not a terminal: the password is its first line
    return bot_main(list(argv))


def test_the_command_adds_lists_changes_and_keeps_the_last_admin(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(database_url, monkeypatch, "accounts", "add", "aino", "--roles", "admin,editor",
                stdin=NEW_PASSWORD + "\n") == 0
    assert _cli(database_url, monkeypatch, "accounts", "list") == 0
    out = capsys.readouterr().out
    assert "aino\teditor,admin\tenabled" in out and NEW_PASSWORD not in out

    assert _cli(database_url, monkeypatch, "accounts", "add", "eero", "--roles", "editor", stdin="short\n") == 2
    assert "too short" in capsys.readouterr().err
    assert _cli(database_url, monkeypatch, "accounts", "add", "Eero", "--roles", "editor", stdin=NEW_PASSWORD) == 2
    assert _cli(database_url, monkeypatch, "accounts", "set-roles", "aino", "--roles", "root") == 2
    assert _cli(database_url, monkeypatch, "accounts", "disable", "aino") == 2
    assert "last enabled administrator" in capsys.readouterr().err
    assert _cli(database_url, monkeypatch, "accounts", "password", "nobody", stdin=NEW_PASSWORD) == 2

    store = AccountStore.open(database_url)
    try:
        before = store.get("aino")
        assert before is not None and before.created_by.startswith("command")
        assert _cli(database_url, monkeypatch, "accounts", "password", "aino", stdin="another-" + NEW_PASSWORD) == 0
        assert _cli(database_url, monkeypatch, "accounts", "add", "mona", "--roles", "admin", stdin=NEW_PASSWORD) == 0
        assert _cli(database_url, monkeypatch, "accounts", "disable", "aino") == 0
        after = store.get("aino")
        assert after is not None and after.disabled and after.password_hash != before.password_hash
    finally:
        store.close()


def test_the_command_takes_no_password_on_the_command_line(tmp_path: object) -> None:
    # A real run of bin/bot: an extra argument is refused before anything is stored.
    result = subprocess.run(
        [str(PROJECT_ROOT / "bin" / "bot"), "accounts", "add", "eero", "--roles", "editor", "--password", "x" * 20],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "RIS3_HANDOFF_DATABASE_URL": f"sqlite:///{tmp_path}/h.db"},
    )
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr
