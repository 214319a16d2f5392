"""The two-way handoff in the back office: replying from the inbox and the API (CSRF, escaping, errors,
delivery state), closing, and the internal API the Rasa server's channels use (token, kept replies taken
once, the manager's Telegram replies)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from web_helpers import Backoffice, csrf_in

from bot.handoff.models import Ticket
from bot.handoff.store import HandoffStore

HOSTILE = '<script>alert("x")</script>'
TOKEN = "test-link-token-0123456789"


@pytest.fixture(autouse=True)
def link_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIS3_PUSH_TOKEN", TOKEN)
    # Nothing is pushed to a Rasa server that may be running on this machine.
    monkeypatch.setenv("RIS3_RASA_URL", "http://127.0.0.1:9")


@pytest.mark.asyncio
async def test_replying_through_the_api(
    signed_in: Backoffice, store: HandoffStore, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket(conversation_id="rest:maija", contact="+358 40 123 4567")
    url = f"/api/tickets/{ticket.reference}/replies"
    headers = {"X-CSRF-Token": await signed_in.api_token()}
    assert (await signed_in.client.post(url, json={"text": "Hei"})).status == 403  # no CSRF token
    response = await signed_in.client.post(url, json={"text": f"Hei Maija {HOSTILE}"}, headers=headers)
    body = await response.json()
    assert response.status == 201, body
    assert body["text"] == f"Hei Maija {HOSTILE}" and body["kind"] == "manager_reply" and body["status"] == "answered"
    assert [(d["route"], d["status"]) for d in body["deliveries"]] == [("user_rest", "held")]

    full = await (await signed_in.client.get(f"/api/tickets/{ticket.reference}")).json()
    assert [(m["kind"], m["text"]) for m in full["thread"]] == [("manager_reply", f"Hei Maija {HOSTILE}")]

    for payload, status in [({"text": "  "}, 422), ({"text": "x" * 4001}, 422), ({"txt": "a"}, 400), ([], 400)]:
        assert (await signed_in.client.post(url, json=payload, headers=headers)).status == status
    assert (await signed_in.client.post(url, data=b"{", headers=headers)).status == 400
    unknown = await signed_in.client.post("/api/tickets/RIS3-ZZZZ/replies", json={"text": "a"}, headers=headers)
    assert unknown.status == 404

    closed = await signed_in.client.post(
        f"/api/tickets/{ticket.reference}/status", json={"status": "closed"}, headers=headers
    )
    thread = (await closed.json())["thread"]
    assert closed.status == 200 and thread[-1]["kind"] == "system"
    assert (await signed_in.client.post(url, json={"text": "late"}, headers=headers)).status == 409


@pytest.mark.asyncio
async def test_replying_from_the_ticket_page(
    signed_in: Backoffice, store: HandoffStore, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket(conversation_id="rest:maija")
    store.add_user_message(ticket.reference, f"Lisäys {HOSTILE}", [])
    page = await (await signed_in.client.get(f"/inbox/tickets/{ticket.reference}")).text()
    assert 'action="/inbox/tickets/' + ticket.reference + '/replies"' in page
    assert HOSTILE not in page and "&lt;script&gt;" in page
    token = csrf_in(page)
    url = f"/inbox/tickets/{ticket.reference}/replies"
    refused = await signed_in.client.post(url, data={"text": "Hei"}, allow_redirects=False)
    assert refused.status == 403
    sent = await signed_in.client.post(
        url, data={"text": f"Vastaus {HOSTILE}", "csrf_token": token, "waiting": "1"}, allow_redirects=False
    )
    assert sent.status == 303
    page = await (await signed_in.client.get(f"/inbox/tickets/{ticket.reference}")).text()
    assert HOSTILE not in page and page.count("&lt;script&gt;") == 2
    assert "Reply by projektipaallikko" in page and "REST (with the next message): kept until the user is back" in page
    assert store.get(ticket.reference).status == "waiting"  # type: ignore[union-attr]
    close = await signed_in.client.post(
        f"/inbox/tickets/{ticket.reference}/status", data={"status": "closed", "csrf_token": token},
        allow_redirects=False,
    )
    assert close.status == 303
    page = await (await signed_in.client.get(f"/inbox/tickets/{ticket.reference}")).text()
    assert "Notice to the user" in page and "reopen it to reply" in page
    assert not re.search(r'<form class="reply"', page)


@pytest.mark.asyncio
async def test_the_internal_api_hands_kept_replies_over_once(
    backoffice: Backoffice, store: HandoffStore, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket(conversation_id="rest:maija", language="en")
    store.reply(ticket.reference, "petri", "Hello <b>Maija</b>", email_available=False)
    url = "/internal/conversations/replies"
    body = {"conversation_id": "rest:maija", "route": "user_rest"}
    assert (await backoffice.client.post(url, json=body)).status == 401
    assert (await backoffice.client.post(url, json=body, headers={"Authorization": "Bearer nope"})).status == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert (await backoffice.client.post(url, json={**body, "route": "user_email"}, headers=auth)).status == 400
    taken = await (await backoffice.client.post(url, json=body, headers=auth)).json()
    assert [m["text"] for m in taken["messages"]] == [
        f"Reply from the project manager to your request {ticket.reference}:\n\nHello <b>Maija</b>"
    ]
    assert (await (await backoffice.client.post(url, json=body, headers=auth)).json())["messages"] == []
    other = {"conversation_id": "rest:someone", "route": "user_rest"}
    assert (await (await backoffice.client.post(url, json=other, headers=auth)).json())["messages"] == []


@pytest.mark.asyncio
async def test_the_managers_telegram_reply_lands_on_its_ticket(
    backoffice: Backoffice, store: HandoffStore, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket(("telegram",), conversation_id="rest:maija")
    store.mark_sent(ticket.jobs[0].id, external_id="501")
    url, auth = "/internal/telegram-replies", {"Authorization": f"Bearer {TOKEN}"}
    assert (await backoffice.client.post(url, json={"message_id": 501, "text": "Hi"})).status == 401
    response = await backoffice.client.post(url, json={"message_id": 501, "text": "Soitan huomenna."}, headers=auth)
    assert response.status == 201 and (await response.json())["reference"] == ticket.reference
    thread = store.thread(ticket.reference)
    assert thread is not None and [(m.author, m.text) for m in thread.messages] == [("telegram", "Soitan huomenna.")]
    assert (await backoffice.client.post(url, json={"message_id": 502, "text": "x"}, headers=auth)).status == 404
    assert (await backoffice.client.post(url, json={"message_id": 501}, headers=auth)).status == 400


@pytest.mark.asyncio
async def test_scripts_reply_with_the_api_token(
    start_backoffice: Any, web_settings: Any, store: HandoffStore, make_ticket: Callable[..., Ticket]
) -> None:
    from pydantic import SecretStr

    script_token = "s" * 40
    office = await start_backoffice(web_settings.model_copy(update={"api_token": SecretStr(script_token)}))
    ticket = make_ticket(conversation_id="rest:maija")
    url = f"/api/tickets/{ticket.reference}/replies"
    assert (await office.client.post(url, json={"text": "Hei"})).status == 401
    wrong = await office.client.post(url, json={"text": "Hei"}, headers={"Authorization": "Bearer " + "x" * 40})
    assert wrong.status == 401
    sent = await office.client.post(url, json={"text": "Hei"}, headers={"Authorization": f"Bearer {script_token}"})
    assert sent.status == 201, await sent.text()
    assert (await sent.json())["author"] == "projektipaallikko"
    # The token opens the API only, not the inbox's pages.
    page = await office.client.get("/inbox", headers={"Authorization": f"Bearer {script_token}"}, allow_redirects=False)
    assert page.status == 302
