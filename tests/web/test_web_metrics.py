"""GET /metrics on the back office: behind its own token, the outbox read from the database, sign-ins refused."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.handoff.models import Ticket
from bot.metrics.exposition import TOKEN_ENV
from tests.web.web_helpers import Backoffice

TOKEN = secrets.token_hex(20)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _scrape(backoffice: Backoffice, token: str | None = TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await backoffice.client.get("/metrics", headers=headers)
    return response.status, await response.text()


@pytest.mark.asyncio
async def test_metrics_need_a_configured_token(backoffice: Backoffice, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    status, body = await _scrape(backoffice)
    assert status == 503 and TOKEN_ENV in body
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert (await _scrape(backoffice, None))[0] == 401
    assert (await _scrape(backoffice, "x" * 40))[0] == 401
    assert (await _scrape(backoffice))[0] == 200


@pytest.mark.asyncio
async def test_outbox_and_database_state_are_read_at_scrape_time(
    backoffice: Backoffice, make_ticket: Callable[..., Ticket], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    status, body = await _scrape(backoffice)
    assert status == 200
    before = _samples(body)
    assert before[("ris3_database_state", (("state", "ok"),))] == 1.0
    assert before[("ris3_outbox_jobs", (("queue", "notifications"), ("status", "pending")))] == 0.0
    # Two tickets with a notification each: jobs the outbox has not sent (no channel is configured here, so
    # the background delivery leaves them pending).
    make_ticket(("email",))
    make_ticket(("email",))
    after = _samples((await _scrape(backoffice))[1])
    assert after[("ris3_outbox_jobs", (("queue", "notifications"), ("status", "pending")))] == 2.0
    assert after[("ris3_outbox_oldest_pending_seconds", (("queue", "notifications"),))] >= 0.0


@pytest.mark.asyncio
async def test_refused_sign_ins_are_counted(backoffice: Backoffice, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    key = ("ris3_sign_in_refusals_total", (("reason", "wrong_credentials"),))
    before = _samples((await _scrape(backoffice))[1]).get(key, 0.0)
    response = await backoffice.sign_in(password="not the password")
    assert response.status == 401
    assert _samples((await _scrape(backoffice))[1])[key] == before + 1
