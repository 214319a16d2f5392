"""The JSON API: the same sign-in and CSRF rules as the pages, and clear errors for bad requests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web_helpers import Backoffice

from bot.handoff.models import Ticket
from bot.handoff.store import HandoffStore


@pytest.mark.asyncio
async def test_listing_and_reading_tickets(
    signed_in: Backoffice, store: HandoffStore, make_ticket: Callable[..., Ticket]
) -> None:
    first, second = make_ticket(), make_ticket(question="<b>Toinen</b> kysymys")
    store.set_status(second.reference, "answered")

    everything = await (await signed_in.client.get("/api/tickets")).json()
    assert [t["reference"] for t in everything["tickets"]] == [first.reference, second.reference]
    answered = await (await signed_in.client.get("/api/tickets?status=answered")).json()
    assert [t["reference"] for t in answered["tickets"]] == [second.reference]
    assert (await signed_in.client.get("/api/tickets?status=spam")).status == 422

    response = await signed_in.client.get(f"/api/tickets/{second.reference}")
    ticket = await response.json()
    assert response.status == 200
    assert ticket["question"] == "<b>Toinen</b> kysymys"  # JSON carries the text as given
    assert ticket["status"] == "answered" and ticket["transcript"][0]["sender"] == "user"
    assert ticket["notifications"] == []
    missing = await signed_in.client.get("/api/tickets/RIS3-ZZZZ")
    assert missing.status == 404 and "error" in await missing.json()


@pytest.mark.asyncio
async def test_marking_a_ticket_answered(
    signed_in: Backoffice, store: HandoffStore, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket()
    response = await signed_in.client.post(
        f"/api/tickets/{ticket.reference}/status",
        json={"status": "answered"},
        headers={"X-CSRF-Token": await signed_in.api_token()},
    )
    assert response.status == 200
    assert (await response.json())["status"] == "answered"
    stored = store.get(ticket.reference)
    assert stored is not None and stored.status == "answered"


@pytest.mark.asyncio
async def test_a_status_change_without_or_with_a_wrong_token_is_refused(
    signed_in: Backoffice, store: HandoffStore, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket()
    url = f"/api/tickets/{ticket.reference}/status"
    missing = await signed_in.client.post(url, json={"status": "closed"})
    wrong = await signed_in.client.post(url, json={"status": "closed"}, headers={"X-CSRF-Token": "guess"})
    assert (missing.status, wrong.status) == (403, 403)
    assert "error" in await wrong.json()
    stored = store.get(ticket.reference)
    assert stored is not None and stored.status == "new"


@pytest.mark.asyncio
async def test_bad_requests_get_clear_errors(signed_in: Backoffice, make_ticket: Callable[..., Ticket]) -> None:
    ticket = make_ticket()
    headers = {"X-CSRF-Token": await signed_in.api_token(), "Content-Type": "application/json"}
    url = f"/api/tickets/{ticket.reference}/status"

    async def post(body: bytes, target: str = url) -> tuple[int, str]:
        response = await signed_in.client.post(target, data=body, headers=headers)
        return response.status, (await response.json())["error"]

    status, error = await post(b'{"status": "answered"')
    assert status == 400 and error.startswith("the body is not valid JSON")
    assert (await post(b""))[0] == 400
    assert (await post(b"\xff\xfe{}"))[0] == 400
    assert await post(b'["answered"]') == (400, 'the body must be a JSON object such as {"status": "answered"}')
    assert (await post(b'{"status": "deleted"}'))[0] == 422
    assert (await post(b'{"state": "answered"}'))[0] == 422
    assert (await post(b'{"status": 1}'))[0] == 422
    assert (await post(b'{"status": "answered"}', "/api/tickets/RIS3-ZZZZ/status"))[0] == 404
