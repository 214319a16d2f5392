"""The inbox pages: lists by status, the ticket with its transcript, status buttons behind CSRF tokens,
and text from users shown as text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from web_helpers import Backoffice, StartBackoffice, csrf_in

from bot.handoff.models import Ticket
from bot.handoff.store import HandoffStore

SCRIPT = "<script>alert(1)</script>"
SQL = "'; DROP TABLE tickets; --"


async def _status_form(backoffice: Backoffice, reference: str, status: str, token: str | None) -> int:
    form = {"status": status} if token is None else {"status": status, "csrf_token": token}
    response = await backoffice.client.post(f"/inbox/tickets/{reference}/status", data=form, allow_redirects=False)
    return int(response.status)


@pytest.mark.asyncio
async def test_the_list_shows_tickets_by_status(
    signed_in: Backoffice, store: HandoffStore, make_ticket: Callable[..., Ticket]
) -> None:
    first, second = make_ticket(), make_ticket(name="Matti Virtanen")
    store.set_status(second.reference, "closed")
    open_page = await (await signed_in.client.get("/inbox")).text()
    closed_page = await (await signed_in.client.get("/inbox?status=closed")).text()
    answered_page = await (await signed_in.client.get("/inbox?status=answered")).text()
    assert first.reference in open_page and second.reference not in open_page
    assert second.reference in closed_page and first.reference not in closed_page
    assert "No answered tickets." in answered_page
    assert (await signed_in.client.get("/inbox?status=spam")).status == 400


@pytest.mark.asyncio
async def test_the_ticket_page_shows_the_transcript(signed_in: Backoffice, make_ticket: Callable[..., Ticket]) -> None:
    ticket = make_ticket()
    response = await signed_in.client.get(f"/inbox/tickets/{ticket.reference}")
    page = await response.text()
    assert response.status == 200
    for text in ["Maija Meikäläinen", "maija.meikalainen@yritys.fi", "Voiko yrityksemme osallistua RIS3-hankkeeseen?"]:
        assert text in page
    assert "Haluan puhua ihmisen kanssa" in page and "Kerro nimesi, niin välitän viestin." in page
    assert "2026-01-01 10:00 UTC" in page  # the transcript's time, readable
    assert "Mark answered" in page and "Close" in page
    # A reference typed in lower case finds the same ticket.
    assert (await signed_in.client.get(f"/inbox/tickets/{ticket.reference.lower()}")).status == 200
    assert (await signed_in.client.get("/inbox/tickets/RIS3-ZZZZ")).status == 404


@pytest.mark.asyncio
async def test_a_status_post_without_or_with_a_wrong_csrf_token_is_refused(
    signed_in: Backoffice,
    start_backoffice: StartBackoffice,
    store: HandoffStore,
    make_ticket: Callable[..., Ticket],
) -> None:
    ticket = make_ticket()
    assert await _status_form(signed_in, ticket.reference, "answered", None) == 403
    assert await _status_form(signed_in, ticket.reference, "answered", "") == 403
    assert await _status_form(signed_in, ticket.reference, "answered", "not-the-token") == 403
    # Nor does the token of another session, although that one is genuine.
    other = await start_backoffice()
    assert (await other.sign_in()).status == 303
    assert await _status_form(signed_in, ticket.reference, "answered", await other.api_token()) == 403
    stored = store.get(ticket.reference)
    assert stored is not None and stored.status == "new"


@pytest.mark.asyncio
async def test_marking_a_ticket_answered_and_closed_with_the_buttons(
    signed_in: Backoffice, store: HandoffStore, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket()
    page = await (await signed_in.client.get(f"/inbox/tickets/{ticket.reference}")).text()
    token = csrf_in(page)
    response = await signed_in.client.post(
        f"/inbox/tickets/{ticket.reference}/status",
        data={"status": "answered", "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/inbox/tickets/{ticket.reference}"
    stored = store.get(ticket.reference)
    assert stored is not None and stored.status == "answered"
    assert ticket.reference in await (await signed_in.client.get("/inbox?status=answered")).text()

    assert await _status_form(signed_in, ticket.reference, "closed", token) == 303
    stored = store.get(ticket.reference)
    assert stored is not None and stored.status == "closed"

    assert await _status_form(signed_in, ticket.reference, "deleted", token) == 422
    assert await _status_form(signed_in, "RIS3-ZZZZ", "closed", token) == 404


@pytest.mark.asyncio
async def test_markup_and_sql_in_tickets_are_shown_as_text_and_stored_as_given(
    signed_in: Backoffice, store: HandoffStore, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket(
        name=SCRIPT,
        question=f"{SQL}\n{SCRIPT}",
        transcript=[{"sender": "user", "text": f'{SCRIPT} <img src=x onerror="alert(2)"> {SQL}', "time": 0}],
    )
    for path in ["/inbox", f"/inbox/tickets/{ticket.reference}"]:
        page = await (await signed_in.client.get(path)).text()
        assert "<script>" not in page and "<img" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        assert "&#39;; DROP TABLE tickets; --" in page, path

    stored = store.get(ticket.reference)
    assert stored is not None
    assert stored.name == SCRIPT
    assert stored.question == f"{SQL}\n{SCRIPT}"
    assert stored.transcript_entries[0]["text"] == f'{SCRIPT} <img src=x onerror="alert(2)"> {SQL}'
    assert len(store.list()) == 1  # and the table is still there


@pytest.mark.asyncio
async def test_an_erased_ticket_shows_no_personal_data(
    signed_in: Backoffice, store: HandoffStore, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket()
    assert store.purge(30, now=datetime.now(timezone.utc) + timedelta(days=31)) == 1
    page = await (await signed_in.client.get(f"/inbox/tickets/{ticket.reference}")).text()
    assert "erased" in page and "Maija" not in page and "Haluan puhua" not in page
    assert "personal data erased" in await (await signed_in.client.get("/inbox")).text()


@pytest.mark.asyncio
async def test_pages_carry_protective_headers(signed_in: Backoffice) -> None:
    response = await signed_in.client.get("/inbox")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.asyncio
async def test_the_front_page_and_static_files_are_public(backoffice: Backoffice) -> None:
    front = await backoffice.client.get("/")
    assert front.status == 200 and "RIS3 assistant back office" in await front.text()
    css = await backoffice.client.get("/static/backoffice.css")
    assert css.status == 200 and css.content_type == "text/css"


# --- issue 25 item 1: the inbox says what really happens to a ticket on this install ---------------------------
@pytest.mark.asyncio
async def test_without_a_notification_route_the_inbox_and_the_ticket_say_so(
    signed_in: Backoffice, make_ticket: Callable[..., Ticket]
) -> None:
    page = await (await signed_in.client.get("/inbox")).text()
    assert "No notification route is configured: a new ticket waits here and nobody is told." in page
    assert "E-mail to the project manager: not configured" in page
    ticket = make_ticket()  # the user gave an e-mail address
    ticket_page = await (await signed_in.client.get(f"/inbox/tickets/{ticket.reference}")).text()
    assert "none: no notification route was configured; the ticket waited here" in ticket_page
    assert "goes to the conversation, not by e-mail: no mail server is configured;" in ticket_page
    assert "and by e-mail" not in ticket_page


@pytest.mark.asyncio
async def test_a_configured_route_is_listed_and_the_reply_goes_by_e_mail_too(
    start_backoffice: StartBackoffice, handoff_settings: Any, make_ticket: Callable[..., Ticket]
) -> None:
    mail = handoff_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 1, "smtp_from": "bot@example.fi",
                                               "manager_email": "pm@example.fi"})
    office = await start_backoffice(handoff=mail)
    assert (await office.sign_in()).status == 303
    page = await (await office.client.get("/inbox")).text()
    assert "No notification route is configured" not in page
    assert "E-mail to the project manager: " in page and "to pm@example.fi via 127.0.0.1:1" in page
    ticket = make_ticket()
    ticket_page = await (await office.client.get(f"/inbox/tickets/{ticket.reference}")).text()
    assert "goes to the conversation and by e-mail; plain text" in ticket_page
