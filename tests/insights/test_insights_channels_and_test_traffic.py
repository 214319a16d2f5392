"""Insights for staff (issue 25, item 16): the channels apart at a glance (a card and a series each, shown by
default), test traffic (REST senders "test-", "faq-", "bench-", "profile-": bot/analytics/test_traffic.py, which
the FAQ suite and the benchmarks use) left out by default with a switch to count it in, and a 30-day period with
one busy day drawn a week a bar, with the busy day named in a table that is always shown."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from insights_seed import SeedConversation, SeedTurn, StartBackoffice, utc, write_rows

from bot.analytics.test_traffic import is_test_traffic
from tests.web.web_helpers import Backoffice

pytestmark = pytest.mark.asyncio
PERIOD = "from=2026-03-01&to=2026-03-30"
BUSY_DAY = utc(2026, 3, 17, 9)
DATA_BLOCK = re.compile(r'<script type="application/json" id="insights-data">(.*?)</script>', re.S)


def asked(at_minutes: float, text: str = "what is ris3?") -> SeedTurn:
    return SeedTurn(BUSY_DAY + timedelta(minutes=at_minutes), text, "ask_about", "en", True, "answered", "about_what")


def seeded() -> list[SeedConversation]:
    conversations = [
        # The busy day on the website: 12 conversations of 2 messages.
        *(SeedConversation(f"web:busy-{n}", "web", [asked(n), asked(n + 1)]) for n in range(12)),
        SeedConversation("telegram:42", "telegram", [asked(30)]),
        # A real REST client, and the test clients' load (the FAQ suite and the benchmark).
        SeedConversation("rest:partner-portal", "rest", [asked(40)]),
        *(SeedConversation(f"rest:faq-priorities_en-{n:04x}", "rest", [asked(50), asked(51)]) for n in range(30)),
        *(SeedConversation(f"rest:bench-run1-ris3-{n}", "rest", [asked(60)]) for n in range(20)),
    ]
    # One quiet message two weeks earlier.
    conversations.append(SeedConversation("web:early", "web", [SeedTurn(utc(2026, 3, 3, 12), "hello", "greet", "en")]))
    return conversations


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    write_rows(url, seeded())
    return url


async def signed_in(start_backoffice: StartBackoffice, url: str) -> Backoffice:
    backoffice = await start_backoffice(url)
    assert (await backoffice.sign_in()).status == 303
    return backoffice


async def test_the_rule_for_test_traffic() -> None:
    assert is_test_traffic("rest:faq-about_en-1a2b3c4d") and is_test_traffic("rest:bench-x") and is_test_traffic(
        "rest:test-anything") and is_test_traffic("rest:profile-warm")
    assert not is_test_traffic("rest:partner-portal") and not is_test_traffic("web:faq-x")
    assert not is_test_traffic("telegram:faq-1")


async def test_test_traffic_is_left_out_by_default_and_can_be_counted_in(
    start_backoffice: StartBackoffice, store: str
) -> None:
    office = await signed_in(start_backoffice, store)
    data = await (await office.client.get(f"/api/insights?{PERIOD}")).json()
    assert data["by_channel"]["rest"]["conversations"] == 1  # the partner portal only
    assert data["by_channel"]["web"]["conversations"] == 13 and data["by_channel"]["telegram"]["conversations"] == 1
    assert data["totals"]["conversations"] == 15
    assert data["test_traffic"] == {"included": False, "conversations": 50, "user_messages": 80,
                                    "sender_prefixes": ["test-", "faq-", "bench-", "profile-"]}
    counted = await (await office.client.get(f"/api/insights?{PERIOD}&tests=1")).json()
    assert counted["by_channel"]["rest"]["conversations"] == 51 and counted["test_traffic"]["included"] is True
    assert counted["totals"]["user_messages"] == data["totals"]["user_messages"] + 80
    # The CSV follows the page's choice.
    summary = await (await office.client.get(f"/api/insights.csv?{PERIOD}&table=summary")).text()
    assert "\r\nrest,all,1," in summary
    assert (await office.client.get(f"/api/insights?{PERIOD}&tests=yes")).status == 422
    assert (await office.client.get(f"/inbox/insights?{PERIOD}&tests=2")).status == 400


async def test_the_page_shows_each_channel_and_says_what_was_left_out(
    start_backoffice: StartBackoffice, store: str
) -> None:
    office = await signed_in(start_backoffice, store)
    page = await (await office.client.get(f"/inbox/insights?{PERIOD}")).text()
    outside_details = re.sub(r"<details>.*?</details>", "", page, flags=re.S)
    cards = re.search(r'<dl class="cards channels">(.*?)</dl>', outside_details, re.S)
    assert cards, "no card per channel"
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cards.group(1))).split())
    for shown in ("Website chat 13 conversations", "Telegram 1 conversation", "REST 1 conversation"):
        assert shown in text, text
    assert "Test traffic left out: 50 conversations, 80 messages" in " ".join(html.unescape(page).split())
    assert 'name="tests" value="1">' in page  # the switch, unticked
    page = await (await office.client.get(f"/inbox/insights?{PERIOD}&tests=1")).text()
    assert 'name="tests" value="1" checked>' in page and "tests=1" in page  # the downloads keep the choice


async def test_one_busy_day_in_thirty_is_not_lost(start_backoffice: StartBackoffice, store: str) -> None:
    office = await signed_in(start_backoffice, store)
    page = await (await office.client.get(f"/inbox/insights?{PERIOD}")).text()
    data = json.loads(html.unescape(DATA_BLOCK.search(page).group(1)))  # type: ignore[union-attr]
    trend = data["trend"]
    # 30 days from a Sunday to a Monday: 6 calendar weeks (the first and last of one day each), not 30 bars.
    assert trend["unit"] == "week" and [row["days"] for row in trend["rows"]] == [1, 7, 7, 7, 7, 1]
    busiest = max(trend["rows"], key=lambda row: row["user_messages"])
    assert busiest["from"] <= "2026-03-17" <= busiest["to"]
    assert busiest["by_channel"] == {"web": 24, "telegram": 1, "rest": 1}
    assert [row["date"] for row in data["active_days"]] == ["2026-03-03", "2026-03-17"]
    # The days with messages are a table shown by default (not folded away), naming the busy day.
    outside_details = re.sub(r"<details>.*?</details>", "", page, flags=re.S)
    table = re.search(r'<table class="figures" id="active-days">(.*?)</table>', outside_details, re.S)
    assert table and "Days with messages: 2 of 30" in table.group(1)
    assert re.search(r"<th scope=\"row\">2026-03-17</th><td>26</td>\s*<td>24</td><td>1</td><td>1</td>", table.group(1))
    # A short period keeps a bar a day.
    short = await (await office.client.get("/api/insights?from=2026-03-15&to=2026-03-21")).json()
    assert short["trend"]["unit"] == "day" and len(short["trend"]["rows"]) == 7
