"""The Insights figures from a seeded tracker store (SQLite and PostgreSQL) equal the counts made here from
the seed's own description of each turn: through bot/analytics directly and through GET /api/insights."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from insights_seed import API_TOKEN, SeedConversation, SeedTurn, StartBackoffice, seeded_conversations, utc, write

from bot.analytics.insights import insights
from bot.analytics.turns import load_turns

HELSINKI = ZoneInfo("Europe/Helsinki")
# Around the start of summer time in Finland (2026-03-29, 03:00 -> 04:00): days of 23 hours are days too.
FIRST, LAST = date(2026, 3, 25), date(2026, 4, 2)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def expected(
    conversations: list[SeedConversation],
    zone: tzinfo,
    channel: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """The figures counted from the seed's descriptions (not from stored events)."""
    turns: list[tuple[SeedConversation, SeedTurn]] = [
        (conversation, turn)
        for conversation in conversations
        for turn in conversation.turns
        if FIRST <= turn.at.astimezone(zone).date() <= LAST
        and channel in (None, conversation.channel)
        and language in (None, turn.language)
    ]
    senders = {conversation.sender_id for conversation, _ in turns}
    # The verdict of each answer judged with its feedback buttons: the press is about the latest answer before it.
    verdicts: dict[int, bool] = {}
    for conversation in conversations:
        latest: SeedTurn | None = None
        for turn in conversation.turns:
            if turn.outcome == "answered":
                latest = turn
            if turn.helpful is not None and latest is not None and id(latest) not in verdicts:
                verdicts[id(latest)] = turn.helpful
    outcomes = Counter(
        "hedged" if turn.outcome == "answered" and turn.hedged else turn.outcome
        for _, turn in turns
        if not turn.in_form
    )
    questions = sum(n for outcome, n in outcomes.items() if outcome is not None)
    helpful = sum(1 for _, turn in turns if verdicts.get(id(turn)) is True)
    not_helpful = sum(1 for _, turn in turns if verdicts.get(id(turn)) is False)
    handoffs = Counter(turn.handoff for _, turn in turns)
    handed_off = {conversation.sender_id for conversation, turn in turns if turn.handoff == "started"}
    totals = {
        "conversations": len(senders),
        "user_messages": len(turns),
        "questions": questions,
        "answered": outcomes["answered"],
        "answered_share": _share(outcomes["answered"], questions),
        "hedged": outcomes["hedged"],
        "dont_know": outcomes["dont_know"],
        "dont_know_share": _share(outcomes["dont_know"], questions),
        "clarifications": outcomes["choose"],
        "handoffs_started": handoffs["started"],
        "handoffs_submitted": handoffs["submitted"],
        "handoff_rate": _share(len(handed_off), len(senders)),
        "buttons": sum(1 for _, turn in turns if turn.button),
        "helpful": helpful,
        "not_helpful": not_helpful,
        "helpful_share": _share(helpful, helpful + not_helpful),
    }
    daily: dict[str, dict[str, Any]] = {}
    day = FIRST
    while day <= LAST:
        daily[day.isoformat()] = {"date": day.isoformat(), "senders": set(), "user_messages": 0, "answered": 0,
                                  "dont_know": 0, "handoffs_started": 0, "buttons": 0, "questions": 0}
        day += timedelta(days=1)
    grid = [[0] * 24 for _ in range(7)]
    facts: Counter[str] = Counter()
    by_button: Counter[str] = Counter()
    for conversation, turn in turns:
        local = turn.at.astimezone(zone)
        row = daily[local.date().isoformat()]
        row["senders"].add(conversation.sender_id)
        row["user_messages"] += 1
        row["questions"] += turn.outcome is not None
        row["answered"] += turn.outcome == "answered" and not turn.hedged
        row["dont_know"] += turn.outcome == "dont_know"
        row["handoffs_started"] += turn.handoff == "started"
        row["buttons"] += turn.button
        grid[local.weekday()][local.hour] += 1
        if turn.outcome == "answered" and not turn.hedged and turn.fact:
            facts[turn.fact] += 1
            by_button[turn.fact] += turn.button
    for row in daily.values():
        row["conversations"] = len(row.pop("senders"))
    top = sorted(facts.items(), key=lambda item: (-item[1], item[0]))[:10]
    return {
        "totals": totals,
        "daily": list(daily.values()),
        "grid": grid,
        "top_facts": [(fact, n, by_button[fact]) for fact, n in top],
    }


def assert_matches(data: dict[str, Any], want: dict[str, Any]) -> None:
    assert data["totals"] == want["totals"]
    assert [{k: row[k] for k in want["daily"][0]} for row in data["daily"]] == want["daily"]
    assert data["hours"]["grid"] == want["grid"]
    assert data["hours"]["by_hour"] == [sum(row[h] for row in want["grid"]) for h in range(24)]
    assert [(row["fact"], row["answers"], row["via_button"]) for row in data["top_facts"]] == want["top_facts"]


@pytest.fixture
def seeded(tracker_url: str) -> tuple[str, list[SeedConversation]]:
    conversations = seeded_conversations(seed=7, start=utc(2026, 3, 25), days=9, count=70)
    write(tracker_url, conversations)
    return tracker_url, conversations


def test_the_seed_covers_every_kind_of_turn(seeded: tuple[str, list[SeedConversation]]) -> None:
    _, conversations = seeded
    turns = [turn for conversation in conversations for turn in conversation.turns]
    assert {turn.outcome for turn in turns} == {"answered", "dont_know", "choose", None}
    assert {turn.handoff for turn in turns} == {"started", "group", "submitted", "cancelled", None}
    assert {c.channel for c in conversations} == {"web", "telegram", "rest"}
    assert any(turn.new_session for turn in turns) and any(not turn.detected for turn in turns)
    assert any(turn.button for turn in turns)
    dates = {turn.at.astimezone(HELSINKI).date() for turn in turns}
    assert min(dates) < FIRST and max(dates) > LAST, "turns outside the period are left out"


def test_figures_equal_independent_counts(seeded: tuple[str, list[SeedConversation]]) -> None:
    url, conversations = seeded
    turns = load_turns(url, FIRST, LAST, zone=HELSINKI)
    data = insights(turns, FIRST, LAST, HELSINKI)
    want = expected(conversations, HELSINKI)
    assert want["totals"]["user_messages"] > 50
    assert_matches(data, want)
    for channel in ("web", "telegram", "rest"):
        assert data["by_channel"][channel] == expected(conversations, HELSINKI, channel=channel)["totals"]
    for language in ("en", "fi"):
        assert data["by_language"][language] == expected(conversations, HELSINKI, language=language)["totals"]
    for row in data["by_channel_language"]:
        cell = expected(conversations, HELSINKI, channel=row["channel"], language=row["language"])["totals"]
        assert {k: row[k] for k in cell} == cell
    # A filter narrows everything but the breakdown.
    narrowed = insights(turns, FIRST, LAST, HELSINKI, channel="web", language="fi")
    assert_matches(narrowed, expected(conversations, HELSINKI, channel="web", language="fi"))
    assert narrowed["by_channel"] == data["by_channel"]


def test_days_and_hours_follow_the_time_zone(seeded: tuple[str, list[SeedConversation]]) -> None:
    url, conversations = seeded
    zone = ZoneInfo("UTC")
    data = insights(load_turns(url, FIRST, LAST, zone=zone), FIRST, LAST, zone)
    assert_matches(data, expected(conversations, zone))


@pytest.mark.asyncio
async def test_the_api_gives_the_same_figures(
    seeded: tuple[str, list[SeedConversation]], start_backoffice: StartBackoffice
) -> None:
    url, conversations = seeded
    backoffice = await start_backoffice(url)
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    response = await backoffice.client.get(f"/api/insights?from={FIRST}&to={LAST}", headers=headers)
    assert response.status == 200, await response.text()
    data = await response.json()
    assert data["period"] == {"from": str(FIRST), "to": str(LAST), "timezone": "Europe/Helsinki", "days": 9}
    assert_matches(data, expected(conversations, HELSINKI))
    response = await backoffice.client.get(
        f"/api/insights?from={FIRST}&to={LAST}&channel=telegram&language=en", headers=headers
    )
    narrowed = await response.json()
    assert_matches(narrowed, expected(conversations, HELSINKI, channel="telegram", language="en"))
    # Fact titles come from knowledge/facts.yml.
    assert all(row["title"] and row["topic"] for row in data["top_facts"])


def test_a_purged_conversation_leaves_the_figures(seeded: tuple[str, list[SeedConversation]]) -> None:
    """Nothing is kept besides the tracker store: the retention purge takes the figures along."""
    from bot.handoff.conversations import purge_conversations

    url, conversations = seeded
    before = insights(load_turns(url, FIRST, LAST, zone=HELSINKI), FIRST, LAST, HELSINKI)["totals"]
    assert before["user_messages"]
    latest = max(turn.at for conversation in conversations for turn in conversation.turns)
    purged = purge_conversations(url, older_than_days=0, now=latest.timestamp() + 3600)
    assert purged == len(conversations)
    after = insights(load_turns(url, FIRST, LAST, zone=HELSINKI), FIRST, LAST, HELSINKI)["totals"]
    assert after["user_messages"] == after["conversations"] == 0
