"""Staff's page and API for requests about a person's data (bot/web/privacy_requests.py): found by reference,
e-mail, phone or Telegram user, exported (JSON and a readable page) or erased, each recorded without the data."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web_helpers import Backoffice, csrf_in

from bot.handoff.models import Ticket
from bot.handoff.store import HandoffStore
from bot.privacy import log
from bot.privacy.records import PersonalData

pytestmark = pytest.mark.asyncio

NAME, EMAIL = "Saara <b>Säilö</b>", "saara.sailo@yritys.fi"


async def test_only_staff_who_signed_in_reach_it(backoffice: Backoffice) -> None:
    page = await backoffice.client.get("/inbox/privacy", allow_redirects=False)
    assert page.status == 302 and "/inbox/login" in page.headers["Location"]
    assert (await backoffice.client.get("/api/privacy?kind=email&value=x@y.fi")).status == 401
    assert (await backoffice.client.post("/api/privacy/erase", json={"kind": "email", "value": EMAIL})).status in (
        401, 403
    )


async def test_find_export_and_erase_by_e_mail(
    signed_in: Backoffice, make_ticket: Callable[..., Ticket], store: HandoffStore
) -> None:
    ticket = make_ticket(name=NAME, contact=EMAIL, channel="web", conversation_id="web:abc")
    other = make_ticket(name="Olli Muu", contact="olli@muu.fi")
    client = signed_in.client

    found = await client.get("/inbox/privacy", params={"kind": "email", "value": EMAIL.upper().replace(".FI", ".fi")})
    page = await found.text()
    assert found.status == 200 and ticket.reference in page and other.reference not in page
    assert NAME not in page  # the finding names the tickets, not their contents

    exported = await client.get("/api/privacy/export", params={"kind": "reference", "value": ticket.reference})
    assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
    data = await exported.json()
    assert data["tickets"][0]["name"] == NAME and data["tickets"][0]["contact"] == EMAIL
    readable = await (await client.get("/inbox/privacy/export", params={"kind": "email", "value": EMAIL})).text()
    assert "Saara &lt;b&gt;Säilö&lt;/b&gt;" in readable and NAME not in readable  # escaped, never markup

    # Erasing asks for a confirmation; without it nothing happens.
    token = csrf_in(page)
    form = {"csrf_token": token, "kind": "email", "value": EMAIL}
    refused = await client.post("/inbox/privacy/erase", data=form, allow_redirects=False)
    assert refused.status == 422
    assert (kept := store.get(ticket.reference)) is not None and kept.name == NAME
    done = await client.post("/inbox/privacy/erase", data={**form, "confirm": "yes"}, allow_redirects=False)
    assert done.status == 303
    erased = store.get(ticket.reference)
    assert erased is not None and erased.name is None and erased.contact is None and erased.status == "closed"
    still = store.get(other.reference)
    assert still is not None and still.name == "Olli Muu"

    # The record: who and what, never the data.
    recent = await (await client.get("/inbox/privacy")).text()
    assert "erase" in recent and "export" in recent and "projektipaallikko" in recent and "e-mail" in recent
    assert EMAIL not in recent and "Säilö" not in recent


async def test_bad_keys_get_a_reason_and_change_nothing(signed_in: Backoffice, make_ticket: Callable[..., Ticket],
                                                         store: HandoffStore) -> None:
    ticket = make_ticket(name=NAME, contact=EMAIL)
    client = signed_in.client
    for params in ({"kind": "email", "value": "not an address"}, {"kind": "phone", "value": "call me"},
                   {"kind": "telegram", "value": "@someone"}, {"kind": "ssn", "value": "1"},
                   {"kind": "reference", "value": "x" * 400}):
        answer = await client.get("/api/privacy", params=params)
        assert answer.status == 400 and (await answer.json())["error"]
    token = await signed_in.api_token()
    headers = {"X-CSRF-Token": token}
    assert (await client.post("/api/privacy/erase", data=b"[", headers=headers)).status == 400
    answer = await client.post("/api/privacy/erase", json={"kind": "reference", "value": ticket.reference},
                               headers=headers)
    assert answer.status == 200 and (await answer.json())["erased"]["tickets"] == 1
    assert (await client.get("/api/privacy", params={"kind": "reference", "value": ticket.reference})).status == 200


async def test_insights_count_the_users_erasures_without_content(
    signed_in: Backoffice, make_ticket: Callable[..., Ticket], database_url: str
) -> None:
    make_ticket(name=NAME, contact=EMAIL, channel="web", conversation_id="web:erased")
    data = PersonalData(database_url, None)
    try:
        for conversation, channel in (("web:erased", "web"), ("telegram:42", "telegram"), ("web:other", "web")):
            data.erase(data.find("conversation", conversation), requested_by=log.BY_USER, actor=channel)
        data.erase(data.find("email", EMAIL), requested_by=log.BY_STAFF, actor="manager")  # not the user's own
    finally:
        data.close()
    figures = await (await signed_in.client.get("/api/insights")).json()
    assert figures["erased_by_users"] == {"total": 3, "by_channel": {"telegram": 1, "web": 2}}
    page = await (await signed_in.client.get("/inbox/insights")).text()
    assert "Conversations erased by users" in page and "Website chat 2" in page
