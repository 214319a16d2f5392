"""The Insights page, its JSON and its CSV downloads under the back office's rules: signed in (or the scripts'
token) only, nothing cached, aggregates only (no message text, no conversation id, no ticket reference)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import pytest
from insights_seed import API_TOKEN, SeedConversation, StartBackoffice, seeded_conversations, utc, write_rows

from tests.web.web_helpers import Backoffice

pytestmark = pytest.mark.asyncio
PERIOD = "from=2026-03-25&to=2026-04-02"
DATA_BLOCK = re.compile(r'<script type="application/json" id="insights-data">(.*?)</script>', re.S)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> tuple[str, list[SeedConversation]]:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    conversations = seeded_conversations(seed=11, start=utc(2026, 3, 25), days=9, count=40)
    write_rows(url, conversations)  # the Rasa-written store is tested in test_insights_figures.py
    return url, conversations


async def signed_in(start_backoffice: StartBackoffice, url: str) -> Backoffice:
    backoffice = await start_backoffice(url)
    response = await backoffice.sign_in()
    assert response.status == 303, await response.text()
    return backoffice


async def test_signed_out_nothing_is_shown(
    start_backoffice: StartBackoffice, sqlite_store: tuple[str, list[SeedConversation]]
) -> None:
    backoffice = await start_backoffice(sqlite_store[0])
    client = backoffice.client
    page = await client.get(f"/inbox/insights?{PERIOD}", allow_redirects=False)
    assert page.status == 302
    assert page.headers["Location"].startswith("/inbox/login?next=")
    for path in ("/api/insights", "/api/insights.csv"):
        response = await client.get(f"{path}?{PERIOD}")
        assert response.status == 401
        assert await response.json() == {"error": "Sign in first."}
    # A wrong token is no better than none.
    response = await client.get(f"/api/insights?{PERIOD}", headers={"Authorization": "Bearer wrong-token"})
    assert response.status == 401
    # The short address only leads to the signed-in page.
    short = await client.get(f"/insights?{PERIOD}", allow_redirects=False)
    assert short.status == 302 and short.headers["Location"] == f"/inbox/insights?{PERIOD}"
    odd = await client.get("/insights?from=2026-03-25%0D%0ASet-Cookie:%20x=1", allow_redirects=False)
    assert odd.status == 302 and odd.headers["Location"] == "/inbox/insights?from=2026-03-25%0D%0ASet-Cookie:%20x=1"
    assert "Set-Cookie" not in odd.headers


async def test_the_page_shows_figures_charts_and_tables(
    start_backoffice: StartBackoffice, sqlite_store: tuple[str, list[SeedConversation]]
) -> None:
    url, conversations = sqlite_store
    backoffice = await signed_in(start_backoffice, url)
    response = await backoffice.client.get(f"/inbox/insights?{PERIOD}")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self' only
    page = await response.text()
    for chart in ("chart-channels", "chart-daily", "chart-outcomes", "chart-hours", "chart-weekdays", "chart-facts"):
        assert f'<canvas id="{chart}" role="img"' in page
    # The days with messages (always shown) and whether the answers helped: tables of their own.
    assert page.count("<table") == 6 and page.count("<details>") == 2
    assert 'id="helpfulness"' in page
    assert '<script src="/static/charts/chart.umd.min.js" defer></script>' in page
    assert "<script>" not in page and " style=" not in page  # nothing inline for the CSP to refuse
    # The page's figures are the API's.
    api = await (await backoffice.client.get(f"/api/insights?{PERIOD}")).json()
    match = DATA_BLOCK.search(page)
    assert match is not None
    assert json.loads(html.unescape(match.group(1))) == api
    totals = api["totals"]
    assert f"<dt>Conversations</dt><dd>{totals['conversations']}</dd>" in page
    assert f"<dt>User messages</dt><dd>{totals['user_messages']}</dd>" in page
    assert f"{totals['answered']} of {totals['questions']} questions" in page
    # No message text and no conversation id on the page.
    for conversation in conversations:
        assert conversation.sender_id not in page
    assert "what is ris3?" not in page and "answer_fact{" not in page


async def test_csv_downloads_hold_aggregates_only(
    start_backoffice: StartBackoffice, sqlite_store: tuple[str, list[SeedConversation]]
) -> None:
    url, conversations = sqlite_store
    backoffice = await start_backoffice(url)
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    api = await (await backoffice.client.get(f"/api/insights?{PERIOD}", headers=headers)).json()
    texts = {turn.text for conversation in conversations for turn in conversation.turns}
    tables: dict[str, list[dict[str, str]]] = {}
    for table in ("summary", "daily", "hours", "facts"):
        response = await backoffice.client.get(f"/api/insights.csv?{PERIOD}&table={table}", headers=headers)
        assert response.status == 200
        assert response.content_type == "text/csv"
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="ris3-insights-{table}-2026-03-25-2026-04-02.csv"'
        )
        body = await response.text()
        for conversation in conversations:
            assert conversation.sender_id.split(":", 1)[1] not in body
        assert not any(text in body for text in texts if len(text) > 3), "a user's message in a download"
        assert "RIS3-" not in body
        tables[table] = list(csv.DictReader(io.StringIO(body)))
    first = tables["summary"][0]
    assert (first["channel"], first["language"]) == ("all", "all")
    assert int(first["user_messages"]) == api["totals"]["user_messages"]
    assert float(first["answered_share"]) == api["totals"]["answered_share"]
    assert [int(row["user_messages"]) for row in tables["daily"]] == [row["user_messages"] for row in api["daily"]]
    assert [row["weekday"] for row in tables["hours"]] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "total"]
    assert int(tables["hours"][-1]["total"]) == api["totals"]["user_messages"]
    assert [row["fact"] for row in tables["facts"]] == [row["fact"] for row in api["top_facts"]]
    # Without `table`, the summary.
    response = await backoffice.client.get(f"/api/insights.csv?{PERIOD}", headers=headers)
    assert (await response.text()).splitlines()[0].startswith("channel,language,conversations,")


async def test_a_session_reads_the_api_and_a_csv_like_the_page(
    start_backoffice: StartBackoffice, sqlite_store: tuple[str, list[SeedConversation]]
) -> None:
    backoffice = await signed_in(start_backoffice, sqlite_store[0])
    # GET only: nothing to forge, no CSRF token needed (bot/web/csrf.py); no other method is routed.
    assert (await backoffice.client.get(f"/api/insights?{PERIOD}")).status == 200
    assert (await backoffice.client.get(f"/api/insights.csv?{PERIOD}&table=daily")).status == 200
    token = await backoffice.api_token()
    response = await backoffice.client.post(f"/api/insights?{PERIOD}", headers={"X-CSRF-Token": token})
    assert response.status == 405


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-02-30&to=2026-03-01", "from must be a date written YYYY-MM-DD"),
        ("from=2026-03-01&to=yesterday", "to must be a date written YYYY-MM-DD"),
        ("from=2026-03-02&to=2026-03-01", "from must not be after to"),
        ("from=2020-01-01&to=2026-03-01", "the period may be at most 366 days"),
        (f"{PERIOD}&channel=email", "channel must be one of web, telegram, rest"),
        (f"{PERIOD}&language=sv", "language must be one of en, fi"),
        (f"{PERIOD}&table=tickets", "table must be one of summary, daily, hours, facts, helpfulness"),
        # The edges of the calendar: a day after 9999-12-31 or 30 days before 0001-01-30 cannot be computed.
        ("to=9999-12-31", "to must be a date between 2000-01-01 and 2999-12-31"),
        ("from=0001-01-01&to=2026-03-01", "from must be a date between 2000-01-01 and 2999-12-31"),
        ("to=0001-01-05", "to must be a date between 2000-01-01 and 2999-12-31"),
        ("to=9999-12-31&table=daily", "to must be a date between 2000-01-01 and 2999-12-31"),
    ],
)
async def test_a_wrong_query_says_what_is_wrong(
    start_backoffice: StartBackoffice, tmp_path: Path, query: str, message: str
) -> None:
    backoffice = await signed_in(start_backoffice, f"sqlite:///{tmp_path / 'none.db'}")
    path = "/api/insights.csv" if "table=" in query else "/api/insights"
    response = await backoffice.client.get(f"{path}?{query}")
    assert response.status == 422
    assert await response.json() == {"error": message}
    if "table=" not in query:
        page = await backoffice.client.get(f"/inbox/insights?{query}")
        assert page.status == 400
        assert html.escape(message) in await page.text()


async def test_no_conversations_yet(start_backoffice: StartBackoffice, tmp_path: Path) -> None:
    store = tmp_path / "never-written.db"
    backoffice = await signed_in(start_backoffice, f"sqlite:///{store}")
    response = await backoffice.client.get("/inbox/insights")
    assert response.status == 200
    assert "No user messages in this period." in await response.text()
    data = await (await backoffice.client.get("/api/insights")).json()
    assert data["period"]["days"] == 30 and data["totals"]["user_messages"] == 0
    assert data["hours"]["busiest_hour"] is None and data["top_facts"] == []
    assert not store.exists(), "looking made no empty database"


async def test_an_unreachable_store_answers_503(start_backoffice: StartBackoffice) -> None:
    backoffice = await signed_in(start_backoffice, "postgresql+psycopg://nobody:secret-pw@127.0.0.1:9/ris3")
    response = await backoffice.client.get(f"/api/insights?{PERIOD}")
    assert response.status == 503
    body = await response.text()
    assert "secret-pw" not in body and "unavailable" in body
    assert (await backoffice.client.get(f"/inbox/insights?{PERIOD}")).status == 503
